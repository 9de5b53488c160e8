"""Red and black lists: API (/api/v1/list-types, /api/v1/list-entries…), the public /lists page, the
subject-page section, and /admin/lists where initiating departments propose, notify, publish and exit."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor
from xinyong.access.deps import Allow, AllowDept, AllowUser, BigIdPath, DbSession, declare
from xinyong.accounts.models import Department, User
from xinyong.core.errors import DomainError, Forbidden
from xinyong.lists import service
from xinyong.lists.config import get_list_types
from xinyong.lists.models import ListEntry
from xinyong.lists.rules import STATE_LABELS
from xinyong.lists.schemas import ExitIn, ListEntryIn, ListEntryOut, ListTypeOut, NotifyIn, StateOut
from xinyong.subjects.models import Subject
from xinyong.ui.sections import SubjectSection, register_admin_link, register_subject_section
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["红黑名单"])
pages = APIRouter(include_in_schema=False)


def _today() -> date:
    return date.today()


# ---------------------------------------------------------------- API

@router.get("/list-types", response_model=list[ListTypeOut], summary="名单类型（含法律依据、认定部门、期限）")
@declare("public.read")
def list_types() -> list[dict[str, Any]]:
    return [{**t.model_dump(include={"code", "name", "kind", "legal_basis", "initiators", "entry_criteria",
                                     "exit_conditions", "remedies", "consulted_on", "published_on",
                                     "responsible_persons", "public", "source"}),
             "term_default_months": t.term.default_months, "term_max_months": t.term.max_months}
            for t in get_list_types().list()]


@router.post("/list-entries", response_model=StateOut, status_code=201, summary="提出列入（拟列入）")
def propose(body: ListEntryIn, db: DbSession, dept: Annotated[Department, AllowDept("list_entry.create")]) -> dict[str, Any]:
    entry = service.propose(db, body, dept=dept, today=_today())
    return {"id": entry.id, "state": entry.state}


@router.post("/list-entries/{entry_id}/notify", response_model=StateOut, summary="登记告知当事人")
def notify(entry_id: BigIdPath, body: NotifyIn, db: DbSession,
           dept: Annotated[Department, AllowDept("list_entry.update")]) -> dict[str, Any]:
    entry = service.notify(db, entry_id, dept=dept, notified_at=body.notified_at, channel=body.channel, today=_today())
    return {"id": entry.id, "state": entry.state}


@router.post("/list-entries/{entry_id}/publish", response_model=StateOut, summary="公示（须先告知）")
def publish(entry_id: BigIdPath, db: DbSession, dept: Annotated[Department, AllowDept("list_entry.update")]) -> dict[str, Any]:
    entry = service.publish(db, entry_id, dept=dept, today=_today())
    return {"id": entry.id, "state": entry.state}


@router.post("/list-entries/{entry_id}/exit", response_model=StateOut, summary="移出名单")
def exit_entry(entry_id: BigIdPath, body: ExitIn, db: DbSession,
               dept: Annotated[Department, AllowDept("list_entry.update")]) -> dict[str, Any]:
    entry = service.exit_by_dept(db, entry_id, dept=dept, reason=body.reason, today=_today())
    return {"id": entry.id, "state": entry.state}


@router.get("/list-entries/{entry_id}", response_model=ListEntryOut, summary="名单信息及其全部历史")
def get_entry(entry_id: BigIdPath, db: DbSession, actor: Annotated[Actor, Allow("list_entry.read")]) -> dict[str, Any]:
    return service.entry_out(db, service.get_entry(db, entry_id, viewer=actor))


# ---------------------------------------------------------------- public pages

@pages.get("/lists", response_class=HTMLResponse)
@declare("public.read")
def public_lists(request: Request, db: DbSession, list_type: Annotated[str | None, Query()] = None,
                 kind: Annotated[str | None, Query()] = None, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    types = [t for t in get_list_types().list() if t.public]
    chosen = list_type if list_type in {t.code for t in types} else None
    kind = kind if kind in ("red", "black") else None
    rows, total = service.public_entries(db, today=_today(), list_type=chosen, kind=kind, page=page)
    return render(request, "lists/public.html", {"types": types, "rows": rows, "total": total, "page": page,
                                                 "list_type": chosen, "kind": kind, "per_page": 50})


def _section(session: Session, subject: Subject, audience: str, today: date) -> SubjectSection | None:
    entries = service.entries_for_subject(session, subject.id, audience=audience if audience == "public"
                                          else "department", today=today)
    rows = [{"cells": {"名单": e["list_name"], "决定书文号": e["decision_no"], "认定日期": e["decision_date"],
                       "列入依据": e["basis"], "期限至": e["term_end"], "认定部门": e["initiator"]},
             "badge": ("异议核实中，暂停" if e["suspended"] else ("红名单" if e["kind"] == "red" else "黑名单"))}
            for e in entries]
    return SubjectSection(key="lists", title="红黑名单", rows=rows,
                          columns=["名单", "决定书文号", "认定日期", "列入依据", "期限至", "认定部门"],
                          empty_text="未列入红名单或严重失信主体名单")


register_subject_section(40, "lists", _section)


# ---------------------------------------------------------------- /admin/lists

register_admin_link(30, "/admin/lists", "红黑名单", roles=("operator", "dept"))


def _user_dept(db: Session, user: User) -> Department:
    dept = db.get(Department, user.dept_id) if user.dept_id else None
    if dept is None:
        raise Forbidden("您的账号未关联部门，不能办理名单；请联系信用办")
    return dept


def _admin_page(request: Request, db: Session, user: User, *, error: str | None = None, status: int = 200,
                form: dict[str, str] | None = None) -> Response:
    dept = _user_dept(db, user)
    q = select(ListEntry, Subject).join(Subject, Subject.id == ListEntry.subject_id).order_by(ListEntry.id.desc())
    if not dept.is_credit_office:
        q = q.where(ListEntry.initiator_dept_id == dept.id)
    entries = [{"entry": e, "subject": s, "label": STATE_LABELS[e.state]} for e, s in db.execute(q.limit(200))]
    types = [t for t in get_list_types().list() if dept.code in t.initiators]
    return render(request, "lists/admin.html", admin_context(request, user, dept=dept, entries=entries, types=types,
                                                             error=error, form=form or {}, today=_today()),
                  status_code=status)


@pages.get("/admin/lists", response_class=HTMLResponse)
def admin_lists(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.lists.read")]) -> Response:
    return _admin_page(request, db, user)


@pages.post("/admin/lists", response_class=HTMLResponse)
def admin_propose(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.lists.act")], subject: Annotated[str, Form()],
                  list_type: Annotated[str, Form()], decision_no: Annotated[str, Form()],
                  decision_date: Annotated[date, Form()], facts: Annotated[str, Form()],
                  basis: Annotated[str, Form()], subject_name: Annotated[str, Form()] = "",
                  term_end: Annotated[str, Form()] = "") -> Response:
    dept = _user_dept(db, user)
    form = {"subject": subject, "list_type": list_type, "decision_no": decision_no, "decision_date": str(decision_date),
            "facts": facts, "basis": basis, "subject_name": subject_name, "term_end": term_end}
    try:
        body = ListEntryIn(subject=subject, subject_name=subject_name or None, list_type=list_type,
                           decision_no=decision_no, decision_date=decision_date, facts=facts, basis=basis,
                           term_end=date.fromisoformat(term_end) if term_end else None)
        with db.begin_nested():
            service.propose(db, body, dept=dept, today=_today(), actor=f"user:{user.username}")
    except (DomainError, ValueError) as exc:
        return _admin_page(request, db, user, error=getattr(exc, "detail", None) or "输入有误，请检查日期格式",
                           status=422, form=form)
    return RedirectResponse("/admin/lists", status_code=303)


@pages.post("/admin/lists/{entry_id}/{action}", response_class=HTMLResponse)
def admin_action(request: Request, entry_id: BigIdPath, action: str, db: DbSession,
                 user: Annotated[User, AllowUser("admin.lists.act")],
                 notified_at: Annotated[str, Form()] = "", channel: Annotated[str, Form()] = "",
                 reason: Annotated[str, Form()] = "") -> Response:
    dept = _user_dept(db, user)
    try:
        with db.begin_nested():
            if action == "notify":
                service.notify(db, entry_id, dept=dept, notified_at=date.fromisoformat(notified_at or str(_today())),
                               channel=channel, today=_today())
            elif action == "publish":
                service.publish(db, entry_id, dept=dept, today=_today())
            elif action == "exit":
                service.exit_by_dept(db, entry_id, dept=dept, reason=reason or "发起部门移出", today=_today())
            else:
                return _admin_page(request, db, user, error="不支持的操作", status=404)
    except (DomainError, ValueError) as exc:
        return _admin_page(request, db, user, error=getattr(exc, "detail", None) or "输入有误", status=409)
    return RedirectResponse("/admin/lists", status_code=303)
