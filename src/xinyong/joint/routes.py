"""Joint reward and punishment: measures, tasks and feedback, webhooks, oversight statistics (API and /admin)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor
from xinyong.access.deps import Allow, AllowDept, AllowUser, BigIdPath, DbSession, IdPath, declare
from xinyong.access.policy import may_read_task
from xinyong.accounts.models import Department, User
from xinyong.core import clock
from xinyong.core.api_types import MONTH_PATTERN
from xinyong.core.errors import DomainError, Forbidden
from xinyong.joint import service, stats, webhooks
from xinyong.joint.config import get_measures
from xinyong.joint.models import JointTask
from xinyong.joint.rules import TASK_LABELS
from xinyong.joint.schemas import FeedbackIn, MeasureOut, TaskOut, WebhookIn, WebhookOut
from xinyong.lists.models import ListEntry
from xinyong.subjects.models import Subject
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["联合奖惩"])
pages = APIRouter(prefix="/admin", include_in_schema=False)


def _today() -> date:
    return clock.today()


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _this_month() -> str:
    return f"{_today():%Y-%m}"


# ---------------------------------------------------------------- API

@router.get("/measures", response_model=list[MeasureOut], summary="奖惩措施清单（含法律依据、实施部门）")
@declare("public.read")
def measures() -> list[dict[str, Any]]:
    return [{**m.model_dump(include={"code", "name", "type", "legal_basis", "implementers", "list_types"}),
             "type_label": m.type_label} for m in get_measures().list()]


@router.get("/tasks", response_model=list[TaskOut], summary="本部门的联合奖惩任务")
def tasks(db: DbSession, dept: Annotated[Department, AllowDept("task.read")],
          state: Annotated[str | None, Query(json_schema_extra={"enum": list(TASK_LABELS)},
                                             description="任务状态（不填为全部）")] = None,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100,
          offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[dict[str, Any]]:
    if state is not None and state not in TASK_LABELS:
        from xinyong.core.errors import Refused

        raise Refused(f"state 取值无效，可选：{'、'.join(TASK_LABELS)}")
    return [service.task_out(db, t) for t in service.tasks_for_dept(db, dept.id, state=state, limit=limit,
                                                                     offset=offset)]


@router.get("/tasks/{task_id}", response_model=TaskOut, summary="任务详情")
def task(task_id: BigIdPath, db: DbSession, actor: Annotated[Actor, Allow("task.read")]) -> dict[str, Any]:
    t = service.get_task(db, task_id)
    if not may_read_task(actor, dept_id=t.dept_id):
        raise Forbidden("该任务不属于本部门")
    return service.task_out(db, t)


@router.post("/tasks/{task_id}/feedback", response_model=TaskOut, summary="反馈措施实施情况（10个工作日内）")
def feedback(task_id: BigIdPath, body: FeedbackIn, db: DbSession,
             dept: Annotated[Department, AllowDept("task.feedback")]) -> dict[str, Any]:
    t = service.give_feedback(db, task_id, dept=dept, action=body.action, matter=body.matter,
                              applied_at=body.applied_at, note=body.note, today=_today())
    return service.task_out(db, t)


def _hook_out(h: Any) -> dict[str, Any]:
    return {"id": h.id, "url": h.url, "active": h.active, "created_at": h.created_at,
            "events": list(webhooks.EVENT_TYPES)}


@router.post("/webhooks", response_model=WebhookOut, status_code=201, summary="登记本部门的事件接收地址")
def register_webhook(body: WebhookIn, db: DbSession, dept: Annotated[Department, AllowDept("webhook.manage")]) -> dict[str, Any]:
    return _hook_out(webhooks.register_webhook(db, dept, url=body.url, secret=body.secret))


@router.get("/webhooks", response_model=list[WebhookOut], summary="本部门的事件接收地址")
def list_webhooks(db: DbSession, dept: Annotated[Department, AllowDept("webhook.read")]) -> list[dict[str, Any]]:
    return [_hook_out(h) for h in webhooks.list_webhooks(db, dept)]


@router.delete("/webhooks/{webhook_id}", response_model=WebhookOut, summary="停用接收地址")
def delete_webhook(webhook_id: IdPath, db: DbSession,
                   dept: Annotated[Department, AllowDept("webhook.manage")]) -> dict[str, Any]:
    return _hook_out(webhooks.deactivate_webhook(db, dept, webhook_id))


Month = Annotated[str, Query(json_schema_extra={"pattern": MONTH_PATTERN}, description="统计月份 YYYY-MM，如 2026-03")]


@router.get("/stats/joint", summary="联合奖惩统计（按月）")
def joint_stats(db: DbSession, dept: Annotated[Department, AllowDept("stats.read")], month: Month) -> dict[str, Any]:
    return stats.joint_stats(db, month, today=_today())


@router.get("/stats/joint.xlsx", summary="联合奖惩统计导出（XLSX）", response_class=Response,
            responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}})
def joint_stats_xlsx(db: DbSession, dept: Annotated[Department, AllowDept("stats.read")], month: Month) -> Response:
    data = stats.joint_stats_xlsx(stats.joint_stats(db, month, today=_today()))
    return Response(data, media_type=XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="joint-{month}.xlsx"'})


# ---------------------------------------------------------------- /admin

register_admin_link(31, "/admin/tasks", "奖惩任务", action="admin.tasks.read")
register_admin_link(32, "/admin/joint", "联合奖惩监督", action="admin.oversight")


def _dept_of(db: Session, user: User) -> Department:
    dept = db.get(Department, user.dept_id) if user.dept_id else None
    if dept is None:
        raise Forbidden("您的账号未关联部门，没有联合奖惩任务")
    return dept


def _tasks_page(request: Request, db: Session, user: User, state: str | None, *, error: str | None = None,
                status: int = 200) -> Response:
    dept = _dept_of(db, user)
    q = (select(JointTask, ListEntry, Subject).join(ListEntry, ListEntry.id == JointTask.entry_id)
         .join(Subject, Subject.id == JointTask.subject_id).where(JointTask.dept_id == dept.id))
    if state:
        q = q.where(JointTask.state == state)
    rows = [service.task_out(db, t, entry=e, subject=s)
            for t, e, s in db.execute(q.order_by(JointTask.due_date, JointTask.id).limit(300))]
    return render(request, "joint/tasks.html", admin_context(request, user, dept=dept, rows=rows, state=state,
                                                              labels=TASK_LABELS, error=error, today=_today()),
                  status_code=status)


@pages.get("/tasks", response_class=HTMLResponse)
def admin_tasks(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.tasks.read")],
                state: Annotated[str | None, Query()] = None) -> Response:
    return _tasks_page(request, db, user, state if state in TASK_LABELS else None)


@pages.post("/tasks/{task_id}/feedback", response_class=HTMLResponse)
def admin_feedback(request: Request, task_id: BigIdPath, db: DbSession,
                   user: Annotated[User, AllowUser("admin.tasks.act")],
                   action: Annotated[str, Form()], matter: Annotated[str, Form()] = "",
                   applied_at: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:
    dept = _dept_of(db, user)
    try:
        with db.begin_nested():
            service.give_feedback(db, task_id, dept=dept, action=action, matter=matter,
                                  applied_at=date.fromisoformat(applied_at) if applied_at else None, note=note,
                                  today=_today(), actor=f"user:{user.username}")
    except (DomainError, ValueError) as exc:
        return _tasks_page(request, db, user, None, error=getattr(exc, "detail", None) or "日期格式有误", status=409)
    return RedirectResponse("/admin/tasks", status_code=303)


@pages.get("/joint", response_class=HTMLResponse)
def admin_joint(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.oversight")],
                month: Annotated[str | None, Query()] = None) -> Response:
    data = stats.joint_stats(db, month or _this_month(), today=_today())
    return render(request, "joint/oversight.html", admin_context(
        request, user, stats=data, outbox=webhooks.outbox_counts(db),
        # delivery errors name receivers' addresses and failures: for the credit office only
        dead=webhooks.dead_letters(db, 50) if user.role == "operator" else []))


@pages.post("/joint/outbox/retry")
def admin_retry_dead(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.outbox.retry")]) -> Response:
    ids = [e.id for e in webhooks.dead_letters(db, 1000)]
    webhooks.retry_dead(db, ids, actor=f"user:{user.username}")
    return RedirectResponse("/admin/joint", status_code=303)
