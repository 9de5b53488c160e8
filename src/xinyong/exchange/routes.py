"""Exchange: rejected rows for the providing department (API and /admin), and /admin/exchange for the credit
office (per target: queued, delivered, rejected, dead, last success, oldest undelivered, replay)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.access.deps import AllowDept, AllowUser, BigIdPath, DbSession
from xinyong.accounts.models import Department, User
from xinyong.core import clock
from xinyong.core.errors import DomainError
from xinyong.exchange import rules, service
from xinyong.exchange.config import KIND_LABELS, get_targets
from xinyong.exchange.schemas import RejectedOut, ResendOut
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["数据交换"])
pages = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/exchange/rejections", response_model=list[RejectedOut])
def rejections(db: DbSession, dept: Annotated[Department, AllowDept("exchange.rejections")]) -> list[RejectedOut]:
    """本部门报送、被上级平台退回的数据及退回原因；改正（更正数据后重新报送批次）或核实后可重新报送。"""
    return [RejectedOut.of(e) for e in service.rejected_for_dept(db, dept.id)]


@router.post("/exchange/rejections/{event_id}/resend", response_model=ResendOut)
def resend(event_id: BigIdPath, db: DbSession, dept: Annotated[Department, AllowDept("exchange.resend")]) -> ResendOut:
    ev = service.resend(db, event_id, dept_id=dept.id, actor=f"dept:{dept.code}")
    return ResendOut(id=ev.id, state=ev.state)


# ---------------------------------------------------------------- /admin

register_admin_link(45, "/admin/exchange", "数据交换", action="admin.exchange.read")
register_admin_link(46, "/admin/exchange/rejections", "上报退回", action="admin.exchange.rejections")


def _status_page(request: Request, db: Session, user: User, *, target: str | None, state: str,
                 error: str | None = None, status: int = 200) -> Response:
    rows = service.target_status(db, today=clock.today())
    events: list[Any] = []
    if target:
        events = [{"e": e, "data": json.loads(e.payload)} for e in service.events_page(db, target, state)]
    configured = get_targets()
    receives = {c: "、".join(KIND_LABELS[k] for k in t.receives) for c, t in configured.items()}
    return render(request, "exchange/admin.html", admin_context(
        request, user, rows=rows, receives=receives, events=events, target=target, state=state,
        labels=rules.STATE_LABELS, late_total=service.late_pushes(db), error=error), status_code=status)


@pages.get("/exchange", response_class=HTMLResponse)
def admin_exchange(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.exchange.read")],
                   target: Annotated[str | None, Query(max_length=64)] = None,
                   state: Annotated[str, Query(max_length=12)] = "dead") -> Response:
    if state not in rules.STATES:
        state = "dead"
    return _status_page(request, db, user, target=target, state=state)


@pages.post("/exchange/replay", response_class=HTMLResponse)
def admin_replay(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.exchange.replay")],
                 target: Annotated[str, Form(max_length=64)]) -> Response:
    try:
        with db.begin_nested():
            service.replay(db, target, actor=f"user:{user.username}")
    except DomainError as exc:
        return _status_page(request, db, user, target=None, state="dead", error=exc.detail, status=404)
    return RedirectResponse(f"/admin/exchange?target={target}&state=queued", status_code=303)


def _dept_id(user: User) -> int | None:
    return None if user.role == "operator" else user.dept_id


def _rejections_page(request: Request, db: Session, user: User, *, error: str | None = None,
                     status: int = 200) -> Response:
    dept_id = _dept_id(user)
    rows = service.rejected_for_dept(db, dept_id) if dept_id is not None else service.rejected_all(db)
    return render(request, "exchange/rejections.html", admin_context(
        request, user, rows=[{"e": e, "data": json.loads(e.payload)} for e in rows], error=error),
        status_code=status)


@pages.get("/exchange/rejections", response_class=HTMLResponse)
def admin_rejections(request: Request, db: DbSession,
                     user: Annotated[User, AllowUser("admin.exchange.rejections")]) -> Response:
    return _rejections_page(request, db, user)


@pages.post("/exchange/rejections/{event_id}/resend", response_class=HTMLResponse)
def admin_resend(request: Request, event_id: BigIdPath, db: DbSession,
                 user: Annotated[User, AllowUser("admin.exchange.rejections")]) -> Response:
    if user.role != "operator" and user.dept_id is None:
        return _rejections_page(request, db, user, error="您的账号未关联部门，没有被退回的数据", status=403)
    try:
        with db.begin_nested():
            service.resend(db, event_id, dept_id=_dept_id(user), actor=f"user:{user.username}")
    except DomainError as exc:
        return _rejections_page(request, db, user, error=exc.detail, status=409)
    return RedirectResponse("/admin/exchange/rejections", status_code=303)
