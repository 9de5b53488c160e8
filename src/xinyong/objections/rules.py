"""The objection state machine, who may take each step, and deadlines. Pure functions, no database.

submitted → accepted → forwarded → answered → corrected | revoked | upheld
submitted → rejected (不予受理); submitted, accepted, forwarded, answered → withdrawn (申请人撤回).
While a case is accepted, forwarded or answered the record is marked 异议中 and its measures are suspended.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from xinyong.core.calendar import add_workdays
from xinyong.core.errors import Forbidden, RuleViolation


class State(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    FORWARDED = "forwarded"
    ANSWERED = "answered"
    CORRECTED = "corrected"
    REVOKED = "revoked"
    UPHELD = "upheld"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Role(StrEnum):
    OFFICE = "office"        # 信用办
    PROVIDER = "provider"    # 数据提供部门 (the record's department, or the list entry's initiator)
    APPLICANT = "applicant"  # 异议申请人 (holds the query code)


STATE_LABELS: dict[str, str] = {
    State.SUBMITTED: "已提交，待受理",
    State.ACCEPTED: "已受理",
    State.FORWARDED: "已转数据提供部门核实",
    State.ANSWERED: "数据提供部门已答复",
    State.CORRECTED: "已办结：信息已更正",
    State.REVOKED: "已办结：信息已撤销",
    State.UPHELD: "已办结：维持原信息",
    State.REJECTED: "不予受理",
    State.WITHDRAWN: "申请人已撤回",
}

TRANSITIONS: dict[State, frozenset[State]] = {
    State.SUBMITTED: frozenset({State.ACCEPTED, State.REJECTED, State.WITHDRAWN}),
    State.ACCEPTED: frozenset({State.FORWARDED, State.WITHDRAWN}),
    State.FORWARDED: frozenset({State.ANSWERED, State.WITHDRAWN}),
    State.ANSWERED: frozenset({State.CORRECTED, State.REVOKED, State.UPHELD, State.WITHDRAWN}),
    State.CORRECTED: frozenset(),
    State.REVOKED: frozenset(),
    State.UPHELD: frozenset(),
    State.REJECTED: frozenset(),
    State.WITHDRAWN: frozenset(),
}

# Who takes the step into each state.
ACTOR_OF: dict[State, Role] = {
    State.ACCEPTED: Role.OFFICE,
    State.REJECTED: Role.OFFICE,
    State.FORWARDED: Role.OFFICE,
    State.ANSWERED: Role.PROVIDER,
    State.CORRECTED: Role.OFFICE,
    State.REVOKED: Role.OFFICE,
    State.UPHELD: Role.OFFICE,
    State.WITHDRAWN: Role.APPLICANT,
}

ROLE_LABELS: dict[Role, str] = {Role.OFFICE: "信用办", Role.PROVIDER: "数据提供部门", Role.APPLICANT: "异议申请人"}

# The record is marked and its measures suspended in these states.
UNDER_REVIEW = frozenset({State.ACCEPTED, State.FORWARDED, State.ANSWERED})
OUTCOMES = frozenset({State.CORRECTED, State.REVOKED, State.UPHELD})
CLOSED = frozenset({State.CORRECTED, State.REVOKED, State.UPHELD, State.REJECTED, State.WITHDRAWN})
# What the providing department may suggest in its answer.
SUGGESTIONS: dict[str, str] = {"correct": "建议更正", "revoke": "建议撤销", "uphold": "建议维持"}


def check_transition(current: State, to: State, roles: frozenset[Role]) -> None:
    """Raise unless `to` follows `current` and one of `roles` may take that step."""
    if to not in TRANSITIONS[current]:
        allowed = "、".join(STATE_LABELS[s] for s in sorted(TRANSITIONS[current])) or "无（已办结）"
        raise RuleViolation(f"异议当前状态为“{STATE_LABELS[current]}”，不能变为“{STATE_LABELS[to]}”；"
                            f"可进行的下一步：{allowed}", rule="objection_transition")
    needed = ACTOR_OF[to]
    if needed not in roles:
        raise Forbidden(f"“{STATE_LABELS[to]}”只能由{ROLE_LABELS[needed]}办理", rule="objection_actor")


def check_outcome(to: State, target_kind: str) -> None:
    """A list entry cannot be "corrected" here: a changed entry is a new decision by its initiator."""
    if to == State.CORRECTED and target_kind == "entry":
        raise RuleViolation("名单信息不能在异议中直接更正：请决定撤销（认定有误）或维持；"
                            "需变更的，由认定部门依程序重新作出决定", rule="objection_entry_correction")


def check_target_state(record_state: str) -> None:
    """An objection is accepted only against information in force."""
    if record_state == "objection":
        raise RuleViolation("该信息已有异议正在处理，请待其办结；新的异议可作不予受理并告知申请人",
                            rule="objection_open")
    if record_state != "active":
        raise RuleViolation(f"该信息当前状态为“{record_state}”，已不在公示或使用中，无需受理异议",
                            rule="objection_target_state")


def answer_due(forwarded_on: date, workdays: int) -> date:
    return add_workdays(forwarded_on, workdays)


def decide_due(accepted_on: date, workdays: int) -> date:
    return add_workdays(accepted_on, workdays)


def is_overdue(state: State, answer_due_on: date | None, today: date) -> bool:
    """The providing department has not answered by the end of its last working day."""
    return state == State.FORWARDED and answer_due_on is not None and today > answer_due_on
