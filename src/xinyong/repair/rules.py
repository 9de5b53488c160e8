"""Credit repair (《信用修复管理办法》, 国家发展改革委令第36号): who may repair what, when, and what is missing;
the application state machine. Pure functions, no database.

Eligibility needs all of: the information is a published failure of trust still in force; no rule excludes it;
the minimum publication period has passed (一般 3 months, 严重 1 year, from the decision date, or longer under a
configured local rule); the obligations are shown to be fulfilled (evidence); a repair commitment is signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from xinyong.catalog.rules import MIN_MONTHS, MINOR, ORDINARY, add_months
from xinyong.core.calendar import add_workdays
from xinyong.core.errors import Forbidden, RuleViolation


@dataclass(frozen=True)
class ExclusionRule:
    name: str
    departments: frozenset[str]
    penalty_types: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class MinMonthsRule:
    name: str
    departments: frozenset[str]
    months: int
    reason: str


@dataclass(frozen=True)
class Policy:
    repairable_items: frozenset[str]
    not_repairable: Mapping[str, str] = field(default_factory=dict)
    exclusions: tuple[ExclusionRule, ...] = ()
    min_months: tuple[MinMonthsRule, ...] = ()


@dataclass(frozen=True)
class RecordFacts:
    item_code: str
    item_name: str
    state: str
    severity: str | None
    decision_date: date | None
    publish_from: date | None
    dept_code: str
    penalty_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Missing:
    code: str    # min_period | obligations | commitment | objection
    detail: str


@dataclass(frozen=True)
class Eligibility:
    applicable: bool          # repair applies to this information at all
    eligible: bool            # every condition is met now
    may_apply: bool           # only what an application brings (evidence, commitment) is missing
    earliest: date | None     # first day an application may be made
    min_months: int | None
    missing: tuple[Missing, ...]
    reason: str | None        # why repair does not apply (excluded, not published, already repaired…)
    rule: str | None          # the configured rule that excludes or lengthens, by name


_NOT_APPLICABLE_STATES: Mapping[str, str] = {
    "repaired": "该信息已完成信用修复，已停止公示",
    "expired": "该信息公示期已届满，已停止公示，无需修复",
    "revoked": "该信息已被撤销，无需修复",
    "superseded": "该信息已被更正后的新版本取代，请对最新版本申请",
}


def _not_applicable(reason: str, rule: str | None = None) -> Eligibility:
    return Eligibility(False, False, False, None, None, (), reason, rule)


def eligibility(facts: RecordFacts, policy: Policy, today: date, *, obligations_shown: bool,
                commitment_signed: bool) -> Eligibility:
    if facts.state in _NOT_APPLICABLE_STATES:
        return _not_applicable(_NOT_APPLICABLE_STATES[facts.state])
    if facts.item_code in policy.not_repairable:
        return _not_applicable(policy.not_repairable[facts.item_code], facts.item_code)
    if facts.item_code not in policy.repairable_items:
        return _not_applicable(f"“{facts.item_name}”不是失信信息，不适用信用修复")
    if facts.severity == MINOR or facts.publish_from is None:
        return _not_applicable("轻微失信信息原则上不予公示，无需申请信用修复")
    for ex in policy.exclusions:
        if facts.dept_code in ex.departments and any(t in p for p in facts.penalty_types for t in ex.penalty_types):
            return _not_applicable(ex.reason.strip(), ex.name)
    cls = facts.severity if facts.severity is not None and facts.severity in MIN_MONTHS else ORDINARY
    months, rule = MIN_MONTHS[cls], None
    for mo in policy.min_months:
        if facts.dept_code in mo.departments and mo.months > months:
            months, rule = mo.months, mo.name
    start = facts.decision_date or facts.publish_from
    earliest = add_months(start, months)
    missing: list[Missing] = []
    if facts.state == "objection":
        missing.append(Missing("objection", "该信息正在异议处理中，请待异议办结后再申请信用修复"))
    if today < earliest:
        why = f"（{rule}）" if rule else ""
        missing.append(Missing("min_period", f"最短公示期 {months} 个月{why}未满：自认定之日 {start} 起算，"
                                             f"{earliest} 起可以申请"))
    blocking = bool(missing)
    if not obligations_shown:
        missing.append(Missing("obligations", "未提交已纠正失信行为、履行法定义务（如缴清罚款、完成整改）的证明材料"))
    if not commitment_signed:
        missing.append(Missing("commitment", "未签署《信用修复承诺书》"))
    return Eligibility(True, not missing, not blocking, earliest, months, tuple(missing), None, rule)


def refusal_text(result: Eligibility) -> str:
    if not result.applicable:
        return f"不能申请信用修复：{result.reason}"
    return "暂不符合信用修复条件：" + "；".join(m.detail for m in result.missing)


# ---------------------------------------------------------------- applications

class State(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class Role(StrEnum):
    FINDING_DEPT = "finding_dept"   # 认定部门: 谁认定谁修复
    APPLICANT = "applicant"


STATE_LABELS: dict[str, str] = {
    State.SUBMITTED: "已提交，认定部门审核中",
    State.APPROVED: "准予修复，已停止公示",
    State.REFUSED: "不予修复",
    State.WITHDRAWN: "申请人已撤回",
}

TRANSITIONS: dict[State, frozenset[State]] = {
    State.SUBMITTED: frozenset({State.APPROVED, State.REFUSED, State.WITHDRAWN}),
    State.APPROVED: frozenset(),
    State.REFUSED: frozenset(),
    State.WITHDRAWN: frozenset(),
}

ACTOR_OF: dict[State, Role] = {
    State.APPROVED: Role.FINDING_DEPT,
    State.REFUSED: Role.FINDING_DEPT,
    State.WITHDRAWN: Role.APPLICANT,
}


def check_transition(current: State, to: State, roles: frozenset[Role]) -> None:
    if to not in TRANSITIONS[current]:
        raise RuleViolation(f"修复申请当前为“{STATE_LABELS[current]}”，不能变为“{STATE_LABELS[to]}”",
                            rule="repair_transition")
    if ACTOR_OF[to] not in roles:
        if ACTOR_OF[to] == Role.FINDING_DEPT:
            raise Forbidden("信用修复由作出失信认定的部门决定（谁认定谁修复），本部门无权决定", rule="repair_decider")
        raise Forbidden("只有申请人可以撤回修复申请", rule="repair_applicant")


def decide_due(submitted_on: date, workdays: int) -> date:
    return add_workdays(submitted_on, workdays)


def is_overdue(state: State, due: date | None, today: date) -> bool:
    return state == State.SUBMITTED and due is not None and today > due
