"""Monitoring pages: the indicator board (/admin/stats), its drill-down and report downloads, the public
/statistics page, and the public JSON of the headline figures. Every page reads snapshots only."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from xinyong.access.deps import AllowUser, DbSession, declare
from xinyong.accounts.models import Department, User
from xinyong.core.errors import NotFound
from xinyong.stats import report, service
from xinyong.stats.rules import format_value
from xinyong.stats.schemas import PublicStatsOut
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["监测统计"])
pages = APIRouter(include_in_schema=False)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MonthQuery = Annotated[str | None, Query(max_length=20, description="统计月份 YYYY-MM（不填为最近一个已统计的月份）")]

register_admin_link(60, "/admin/stats", "监测统计", action="admin.stats.read")


def _own_dept(db: Session, user: User) -> Department | None:
    """A department user sees its own department's indicators; the credit office and auditors see the city."""
    if user.role != "dept":
        return None
    dept = db.get(Department, user.dept_id) if user.dept_id else None
    if dept is None:
        raise NotFound("您的账号未关联部门，没有可查看的部门指标；请联系信用办为账号设置所属部门")
    return dept


def _chart_data(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": r["id"], "name": r["name"], "unit": r["unit"], "months": board["months"], "values": r["trend"]}
            for r in board["indicators"]]


@router.get("/statistics", response_model=PublicStatsOut, summary="公开统计：归集量、双公示、名单、信用修复")
@declare("public.read")
def public_stats(db: DbSession) -> dict[str, Any]:
    data = service.public_summary(db)
    if data is None:
        raise NotFound("尚未生成统计数据", rule="stats.not_built")
    return {"month": data["month"], "headline": data["headline"],
            "indicators": [{"id": r["id"], "name": r["name"], "unit": r["unit"], "value": r["value"]}
                           for r in data["indicators"]]}


@pages.get("/admin/stats", response_class=HTMLResponse)
def admin_stats(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.stats.read")],
                month: MonthQuery = None) -> Response:
    dept = _own_dept(db, user)
    try:
        m = service.resolve_month(db, month)
    except NotFound as exc:
        if month:
            raise
        return render(request, "stats/board.html", admin_context(request, user, board=None, empty=exc.detail))
    board = service.board(db, m, dept=dept)
    return render(request, "stats/board.html", admin_context(
        request, user, board=board, leagues=service.leagues(db, m, dept=dept), charts=_chart_data(board),
        months=service.built_months(db), fmt=format_value, dept=dept,
        may_download=user.role != "dept"))


@pages.get("/admin/stats/drill/{indicator}", response_class=HTMLResponse)
def admin_drill(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.stats.read")],
                indicator: str, month: MonthQuery = None,
                dept: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    own = _own_dept(db, user)
    m = service.resolve_month(db, month)
    data = service.drill(db, m, indicator[:64], dept=own, dept_code=None if own else dept)
    return render(request, "stats/drill.html", admin_context(request, user, drill=data, dept=own or dept))


@pages.get("/admin/stats/report.{fmt}")
def admin_report(db: DbSession, user: Annotated[User, AllowUser("admin.stats.report")], fmt: str,
                 month: MonthQuery = None) -> Response:
    if fmt not in ("xlsx", "pdf"):
        raise NotFound("月报只有 xlsx 和 pdf 两种格式")
    m = service.resolve_month(db, month)
    data = report.report_data(db, m)
    body = report.to_xlsx(data) if fmt == "xlsx" else report.to_pdf(data)
    name = f"月报-{m.label}.{fmt}"
    return Response(body, media_type=XLSX if fmt == "xlsx" else "application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"yuebao-{m.label}.{fmt}\"; filename*=UTF-8''{quote(name)}"})


@pages.get("/statistics", response_class=HTMLResponse)
@declare("public.read")
def statistics_page(request: Request, db: DbSession) -> Response:
    data = service.public_summary(db)
    charts = [{"id": r["id"], "name": r["name"], "unit": r["unit"], "months": data["months"], "values": r["trend"]}
              for r in data["indicators"]] if data else []
    return render(request, "stats/public.html", {"data": data, "charts": charts, "fmt": format_value})
