"""问题数据: /admin/quality (the office sees every department's items, a department its own), its XLSX export,
the office's 整改通知 and a department's 情况说明; the API lists a department's own items (its key)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor, actor_for_user
from xinyong.access.deps import AllowDept, AllowUser, BigIdPath, DbSession
from xinyong.accounts.models import Department, User
from xinyong.core import clock
from xinyong.core.errors import DomainError, NotFound
from xinyong.stats import quality, quality_rules
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

StateParam = Literal["open", "notified", "fixed", "explained"]
KindParam = Literal["multi_name", "multi_code", "bad_code", "cancelled", "silent"]
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter(tags=["问题数据"])
pages = APIRouter(include_in_schema=False)

register_admin_link(60, "/admin/quality", "问题数据", action="admin.quality.read")


@router.get("/quality/issues", summary="本部门的问题数据（一码多主、一主多码、错码、注销主体、未报送）")
def api_issues(db: DbSession, dept: Annotated[Department, AllowDept("quality.list")],
               state: Annotated[StateParam | None, Query(description="open：待整改与已通知；或 notified、fixed、explained")] = None,
               kind: Annotated[KindParam | None, Query(description="一码多主、一主多码、错码、注销主体、未报送")] = None,
               ) -> list[dict[str, Any]]:
    names = quality.dept_names(db)
    dept_id = None if dept.is_credit_office else dept.id
    return [quality.out(i, names) for i in quality.listing(db, dept_id=dept_id, state=state, kind=kind)]


def _viewer(db: Session, user: User) -> tuple[Actor, Department | None]:
    dept = db.get(Department, user.dept_id) if user.dept_id else None
    return actor_for_user(user, dept), dept


def _scope(actor: Actor) -> int | None:
    """None: every department (the office, auditors); otherwise the viewer's own department."""
    if actor.is_credit_office or actor.dept_id is None:
        return None
    return actor.dept_id


def _page(request: Request, db: Session, user: User, state: str | None, kind: str | None, *,
          error: str | None = None, status: int = 200) -> Response:
    actor, dept = _viewer(db, user)
    state = state if state in (*quality_rules.STATES, "open") else None
    kind = kind if kind in quality_rules.KINDS else None
    names = quality.dept_names(db)
    rows = [quality.out(i, names) for i in quality.listing(db, dept_id=_scope(actor), state=state, kind=kind)]
    return render(request, "quality/admin_list.html", admin_context(
        request, user, dept=dept, rows=rows, state=state, kind=kind, kinds=quality_rules.KINDS,
        states=quality_rules.STATES, office=actor.is_credit_office, error=error,
        may_act=actor.kind.name in ("DEPT_USER", "OPERATOR")), status_code=status)


@pages.get("/admin/quality", response_class=HTMLResponse)
def admin_list(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.quality.read")],
               state: Annotated[str | None, Query()] = None, kind: Annotated[str | None, Query()] = None) -> Response:
    return _page(request, db, user, state, kind)


@pages.get("/admin/quality.xlsx")
def admin_export(db: DbSession, user: Annotated[User, AllowUser("admin.quality.read")],
                 state: Annotated[str | None, Query()] = None) -> Response:
    actor, _dept = _viewer(db, user)
    data = quality.export_xlsx(db, dept_id=_scope(actor), state=state if state in (*quality_rules.STATES, "open") else None)
    return Response(data, media_type=XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''quality-issues.xlsx"})


@pages.post("/admin/quality/{issue_id}/{action}", response_class=HTMLResponse)
def admin_act(request: Request, issue_id: BigIdPath, action: str, db: DbSession,
              user: Annotated[User, AllowUser("admin.quality.act")], note: Annotated[str, Form()] = "") -> Response:
    actor, _dept = _viewer(db, user)
    try:
        with db.begin_nested():
            if action == "notify":
                quality.notify(db, issue_id, actor=actor, today=clock.today())
            elif action == "explain":
                quality.explain(db, issue_id, actor=actor, note=note, today=clock.today())
            else:
                raise NotFound("不支持的操作")
    except DomainError as exc:
        return _page(request, db, user, None, None, error=exc.detail, status=exc.status)
    return RedirectResponse("/admin/quality", status_code=303)
