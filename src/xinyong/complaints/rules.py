"""Complaints and tip-offs (投诉举报): the state machine, who takes each step, deadlines, and whether the
reporter's identity may be shown. Pure functions, no database.

submitted → assigned (分办) → handling (承办部门受理) → concluded (办结, with the result)
assigned → returned (承办部门认为不属于本部门, 退回信用办) → assigned | rejected
submitted → rejected (不予受理); submitted, assigned, returned, handling → withdrawn (举报人撤回)
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from xinyong.core.calendar import add_workdays
from xinyong.core.errors import Forbidden, RuleViolation


class State(StrEnum):
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    RETURNED = "returned"
    HANDLING = "handling"
    CONCLUDED = "concluded"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Role(StrEnum):
    OFFICE = "office"      # 信用办 (and the automatic routing by category)
    HANDLER = "handler"    # 承办部门
    REPORTER = "reporter"  # 投诉举报人 (holds the query code)


STATE_LABELS: dict[str, str] = {
    State.SUBMITTED: "已提交，待分办",
    State.ASSIGNED: "已分办至承办部门",
    State.RETURNED: "承办部门退回，待重新分办",
    State.HANDLING: "承办部门办理中",
    State.CONCLUDED: "已办结",
    State.REJECTED: "不予受理",
    State.WITHDRAWN: "已撤回",
}

TRANSITIONS: dict[State, frozenset[State]] = {
    State.SUBMITTED: frozenset({State.ASSIGNED, State.REJECTED, State.WITHDRAWN}),
    State.ASSIGNED: frozenset({State.HANDLING, State.RETURNED, State.WITHDRAWN}),
    State.RETURNED: frozenset({State.ASSIGNED, State.REJECTED, State.WITHDRAWN}),
    State.HANDLING: frozenset({State.CONCLUDED, State.WITHDRAWN}),
    State.CONCLUDED: frozenset(),
    State.REJECTED: frozenset(),
    State.WITHDRAWN: frozenset(),
}

ACTOR_OF: dict[State, Role] = {
    State.ASSIGNED: Role.OFFICE,
    State.REJECTED: Role.OFFICE,
    State.RETURNED: Role.HANDLER,
    State.HANDLING: Role.HANDLER,
    State.CONCLUDED: Role.HANDLER,
    State.WITHDRAWN: Role.REPORTER,
}
ROLE_LABELS: dict[Role, str] = {Role.OFFICE: "信用办", Role.HANDLER: "承办部门", Role.REPORTER: "投诉举报人"}

HIDDEN = "匿名/已隐藏"


def check_transition(current: State, to: State, roles: frozenset[Role]) -> None:
    if to not in TRANSITIONS[current]:
        raise RuleViolation(f"投诉举报当前为“{STATE_LABELS[current]}”，不能变为“{STATE_LABELS[to]}”",
                            rule="complaint_transition")
    if ACTOR_OF[to] not in roles:
        raise Forbidden(f"“{STATE_LABELS[to]}”只能由{ROLE_LABELS[ACTOR_OF[to]]}办理", rule="complaint_actor")


def shows_identity(reporter_consents: bool, viewer: Role) -> bool:
    """The reporter always sees their own case; anyone else only with the reporter's consent."""
    return viewer == Role.REPORTER or reporter_consents


def due_date(start: date, workdays: int) -> date:
    return add_workdays(start, workdays)


def is_overdue(state: State, assign_due: date | None, handle_due: date | None, today: date) -> bool:
    if state in (State.SUBMITTED, State.RETURNED):
        return assign_due is not None and today > assign_due
    if state in (State.ASSIGNED, State.HANDLING):
        return handle_due is not None and today > handle_due
    return False
