"""Dispatch tasks: states, feedback, due dates and webhook retry timing. Pure functions, no database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from xinyong.core.calendar import add_workdays
from xinyong.core.errors import Refused, RuleViolation

FEEDBACK_WORKDAYS = 10  # 实施部门于 10 个工作日内反馈（东府〔2018〕36号 等）


class TaskState(StrEnum):
    OPEN = "open"
    OVERDUE = "overdue"
    PENDING = "pending"
    APPLIED = "applied"
    NOT_APPLICABLE = "not_applicable"
    SUSPENDED = "suspended"
    LIFTED = "lifted"


TASK_LABELS: dict[str, str] = {
    TaskState.OPEN: "待反馈",
    TaskState.OVERDUE: "逾期未反馈",
    TaskState.PENDING: "办理中",
    TaskState.APPLIED: "已实施",
    TaskState.NOT_APPLICABLE: "不适用",
    TaskState.SUSPENDED: "暂停执行",
    TaskState.LIFTED: "已解除",
}
FEEDBACK_STATES = frozenset({TaskState.PENDING, TaskState.APPLIED, TaskState.NOT_APPLICABLE})
# States a task may return to when its entry resumes.
RESUMABLE = frozenset({TaskState.OPEN, TaskState.OVERDUE, *FEEDBACK_STATES})

TASK_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.OPEN: frozenset({TaskState.OVERDUE, *FEEDBACK_STATES, TaskState.SUSPENDED, TaskState.LIFTED}),
    TaskState.OVERDUE: frozenset({*FEEDBACK_STATES, TaskState.SUSPENDED, TaskState.LIFTED}),
    TaskState.PENDING: frozenset({*FEEDBACK_STATES, TaskState.SUSPENDED, TaskState.LIFTED}),
    TaskState.APPLIED: frozenset({TaskState.SUSPENDED, TaskState.LIFTED}),
    TaskState.NOT_APPLICABLE: frozenset({TaskState.SUSPENDED, TaskState.LIFTED}),
    TaskState.SUSPENDED: frozenset({*RESUMABLE, TaskState.LIFTED}),
    TaskState.LIFTED: frozenset(),
}


def check_task_transition(current: TaskState, to: TaskState, prev: TaskState | None = None) -> None:
    """Raise RuleViolation unless a task may move from current to `to` (prev: where a suspended task resumes)."""
    if current == TaskState.SUSPENDED and to in RESUMABLE and prev is not None and to != prev:
        raise RuleViolation(f"暂停的任务只能恢复到暂停前的状态“{TASK_LABELS[prev]}”", rule="task_transition")
    if to in TASK_TRANSITIONS[current]:
        return
    if current == TaskState.SUSPENDED and to in FEEDBACK_STATES:
        detail = "该措施因异议核实暂停执行，暂不能反馈；核实结束后恢复"
    elif current == TaskState.LIFTED:
        detail = "该措施已解除，不能再变更"
    elif current in (TaskState.APPLIED, TaskState.NOT_APPLICABLE) and to in FEEDBACK_STATES:
        detail = f"该任务已反馈“{TASK_LABELS[current]}”，不能重复反馈；如有错误请联系信用办"
    else:
        detail = f"任务当前状态为“{TASK_LABELS[current]}”，不能转为“{TASK_LABELS[to]}”"
    raise RuleViolation(detail, rule="task_transition")


FEEDBACK_FROM = frozenset({TaskState.OPEN, TaskState.OVERDUE, TaskState.PENDING})


def check_feedback_allowed(current: TaskState) -> None:
    """Feedback is taken while the task awaits it or is being handled (pending)."""
    if current in FEEDBACK_FROM:
        return
    if current == TaskState.SUSPENDED:
        detail = "该措施因异议核实暂停执行，暂不能反馈；核实结束后恢复"
    elif current == TaskState.LIFTED:
        detail = "该措施已解除（名单已移出或撤销），无需反馈"
    else:
        detail = f"该任务已反馈“{TASK_LABELS[current]}”，不能重复反馈；如有错误请联系信用办"
    raise RuleViolation(detail, rule="task_feedback")


def due_date(dispatched_on: date) -> date:
    """Feedback is due 10 working days after dispatch (public holidays and make-up days counted)."""
    return add_workdays(dispatched_on, FEEDBACK_WORKDAYS)


def check_feedback(action: str, matter: str | None, applied_at: date | None, note: str | None, today: date) -> TaskState:
    """Validate a feedback and return the task's new state."""
    try:
        state = TaskState(action)
    except ValueError:
        raise Refused("action 只能是 applied（已实施）、not_applicable（不适用）或 pending（办理中）") from None
    if state not in FEEDBACK_STATES:
        raise Refused("action 只能是 applied（已实施）、not_applicable（不适用）或 pending（办理中）")
    if state == TaskState.APPLIED:
        if not (matter or "").strip():
            raise Refused("反馈“已实施”时请填写 matter：在哪个办理事项中实施了该措施（如某项行政许可、某次政府采购）")
        if applied_at is None:
            raise Refused("反馈“已实施”时请填写 applied_at：措施实施日期")
    if applied_at is not None and applied_at > today:
        raise Refused(f"实施日期 {applied_at} 不能晚于今天 {today}")
    if state == TaskState.NOT_APPLICABLE and not (note or "").strip():
        raise Refused("反馈“不适用”时请在 note 中说明理由（如该主体未在本部门办理相关事项）")
    return state


def is_late(today: date, due: date) -> bool:
    return today > due


# ---------------------------------------------------------------- webhook delivery timing

RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 600      # never more than 10 minutes between tries
GIVE_UP_AFTER = timedelta(hours=48)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt (n >= 1), capped."""
    seconds = RETRY_BASE_SECONDS * 2 ** min(max(attempts - 1, 0), 20)
    return timedelta(seconds=min(seconds, RETRY_CAP_SECONDS))


def gives_up(created_at: datetime, now: datetime) -> bool:
    return now - created_at >= GIVE_UP_AFTER
