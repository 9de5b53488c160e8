"""Credit commitments: API, the portal signing form and commitment page, the subject-page section, and
/admin/commitments where departments record fulfilment or breach."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor
from xinyong.access.deps import MAX_BIGINT, Allow, AllowDept, AllowUser, DbSession, declare
from xinyong.accounts.models import Department, User
from xinyong.commitments import rules, service
from xinyong.commitments.config import templates
from xinyong.commitments.schemas import CommitmentIn, CommitmentOut, OutcomeIn, TemplateOut
from xinyong.core.errors import DomainError, Forbidden, NotFound
from xinyong.objections.casework import today as _today
from xinyong.subjects.models import Subject
from xinyong.ui.sections import SubjectSection, register_admin_link, register_subject_section
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["信用承诺"])
pages = APIRouter(include_in_schema=False)


@router.get("/commitment-templates", response_model=list[TemplateOut], summary="承诺书模板（按类型）")
@declare("public.read")
def list_templates() -> list[dict[str, Any]]:
    return [t.model_dump() for t in templates().values()]


@router.post("/commitments", status_code=201, response_model=CommitmentOut, summary="签署信用承诺")
def sign(body: CommitmentIn, db: DbSession, actor: Annotated[Actor, Allow("commitment.sign")]) -> dict[str, Any]:
    return service.out(db, service.sign(db, body.model_dump(), today=_today()))


@router.get("/commitments/{commitment_no}", response_model=CommitmentOut, summary="承诺书及履约情况（公开）")
@declare("commitment.read")
def get_commitment(commitment_no: str, db: DbSession) -> dict[str, Any]:
    return service.out(db, service.get(db, commitment_no))


@router.post("/commitments/{commitment_no}/outcome", response_model=CommitmentOut,
             summary="受理部门登记履约或违诺（违诺形成信用记录）")
def outcome(commitment_no: str, body: OutcomeIn, db: DbSession,
            dept: Annotated[Department, AllowDept("commitment.outcome")]) -> dict[str, Any]:
    c = service.record_outcome(db, commitment_no, dept=dept, outcome=body.outcome, note=body.note,
                               on=body.on or _today())
    return service.out(db, c)


# ---------------------------------------------------------------- portal

@pages.get("/commitments/new", response_class=HTMLResponse)
def new_form(request: Request, actor: Annotated[Actor, Allow("commitment.sign")],
             type: Annotated[str, Query()] = "voluntary", uscc: Annotated[str, Query()] = "",
             record: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None) -> Response:
    tpls = templates()
    chosen = tpls.get(type) or next(iter(tpls.values()))
    return render(request, "commitments/new.html", {"templates": tpls, "tpl": chosen,
                                                    "form": {"uscc": uscc, "record_id": record or ""}})


@pages.post("/commitments/new", response_class=HTMLResponse)
def new_submit(request: Request, db: DbSession, actor: Annotated[Actor, Allow("commitment.sign")],
               type: Annotated[str, Form()], uscc: Annotated[str, Form()],
               signer_name: Annotated[str, Form()], matter: Annotated[str, Form()] = "",
               acceptor: Annotated[str, Form()] = "", record_id: Annotated[str, Form()] = "",
               agree: Annotated[str, Form()] = "") -> Response:
    form = {"uscc": uscc, "signer_name": signer_name, "matter": matter, "acceptor": acceptor, "record_id": record_id}
    tpls = templates()
    try:
        if agree != "yes":
            raise DomainError("请阅读承诺书全文并勾选“本单位作出上述承诺”后再签署")
        with db.begin_nested():
            c = service.sign(db, {"type": type, "uscc": uscc, "signer_uscc": uscc, "signer_name": signer_name,
                                  "matter": matter, "acceptor": acceptor or None,
                                  "record_id": int(record_id) if record_id.strip().isdigit() else None},
                             today=_today())
    except DomainError as exc:
        return render(request, "commitments/new.html", {"templates": tpls, "tpl": tpls.get(type) or
                                                        next(iter(tpls.values())), "form": form, "error": exc.detail},
                      status_code=exc.status)
    return RedirectResponse(f"/commitments/{c.commitment_no}", status_code=303)


@pages.get("/commitments/{commitment_no}", response_class=HTMLResponse)
@declare("commitment.read")
def show(request: Request, commitment_no: str, db: DbSession) -> Response:
    return render(request, "commitments/show.html", {"c": service.out(db, service.get(db, commitment_no))})


def _section(session: Session, subject: Subject, audience: str, today: date) -> SubjectSection | None:
    rows = [{"cells": {"承诺类型": x["type_name"], "承诺事项": x["matter"], "承诺日期": x["signed_on"],
                       "受理部门": x["acceptor"] or "—", "编号": x["commitment_no"]},
             "badge": x["state_label"]}
            for x in (service.out(session, c) for c in service.for_subject(session, subject.id))]
    return SubjectSection(key="commitments", title="信用承诺", rows=rows,
                          columns=["承诺类型", "承诺事项", "承诺日期", "受理部门", "编号"], empty_text="暂无信用承诺")


register_subject_section(50, "commitments", _section)


# ---------------------------------------------------------------- /admin/commitments

register_admin_link(43, "/admin/commitments", "承诺履约", roles=("operator", "dept"))


def _dept(db: Session, user: User) -> Department:
    dept = db.get(Department, user.dept_id) if user.dept_id else None
    if dept is None:
        raise Forbidden("您的账号未关联部门；请联系信用办")
    return dept


def _page(request: Request, db: Session, user: User, *, error: str | None = None, status: int = 200) -> Response:
    dept = _dept(db, user)
    rows = [service.out(db, c) for c in service.for_dept(db, dept)]
    return render(request, "commitments/admin.html", admin_context(request, user, dept=dept, rows=rows, error=error,
                                                                   labels=rules.STATE_LABELS), status_code=status)


@pages.get("/admin/commitments", response_class=HTMLResponse)
def admin_list(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.commitments.read")]) -> Response:
    return _page(request, db, user)


@pages.post("/admin/commitments/{commitment_no}/outcome", response_class=HTMLResponse)
def admin_outcome(request: Request, commitment_no: str, db: DbSession,
                  user: Annotated[User, AllowUser("admin.commitments.act")],
                  outcome: Annotated[str, Form()], note: Annotated[str, Form()]) -> Response:
    dept = _dept(db, user)
    try:
        with db.begin_nested():
            service.record_outcome(db, commitment_no, dept=dept, outcome=outcome, note=note, on=_today(),
                                   actor=f"user:{user.username}")
    except (DomainError, NotFound) as exc:
        return _page(request, db, user, error=exc.detail, status=exc.status)
    return RedirectResponse("/admin/commitments", status_code=303)
