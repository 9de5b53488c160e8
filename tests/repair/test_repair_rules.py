"""Repair eligibility and the application state machine (pure)."""

from __future__ import annotations

from datetime import date
from itertools import product

import pytest

from xinyong.core.errors import Forbidden, RuleViolation
from xinyong.repair import rules
from xinyong.repair.rules import ExclusionRule, MinMonthsRule, Policy, RecordFacts, Role, State

POLICY = Policy(
    repairable_items=frozenset({"admin_penalty", "business_abnormal"}),
    not_repairable={"dishonest_judgment_debtor": "失信被执行人信息由人民法院依法决定，不适用信用修复"},
    exclusions=(ExclusionRule("特定严重失信行为", frozenset({"SCJG"}), ("责令停产停业", "吊销许可证件"),
                              "特定严重失信行为须公示满 3 年"),),
    min_months=(MinMonthsRule("安全生产领域", frozenset({"YJGL"}), 12, "安全生产领域最短 1 年"),),
)


def facts(**kw: object) -> RecordFacts:
    base: dict[str, object] = {"item_code": "admin_penalty", "item_name": "行政处罚信息", "state": "active",
                               "severity": "一般", "decision_date": date(2026, 1, 15),
                               "publish_from": date(2026, 1, 15), "dept_code": "SCJG", "penalty_types": ("罚款",)}
    base.update(kw)
    return RecordFacts(**base)  # type: ignore[arg-type]


def check(f: RecordFacts, today: date, obligations: bool = True, commitment: bool = True) -> rules.Eligibility:
    return rules.eligibility(f, POLICY, today, obligations_shown=obligations, commitment_signed=commitment)


def test_ordinary_penalty_waits_three_months_and_says_when() -> None:
    r = check(facts(), date(2026, 4, 14))
    assert r.applicable and not r.eligible and not r.may_apply and r.earliest == date(2026, 4, 15)
    assert [m.code for m in r.missing] == ["min_period"] and "2026-04-15 起可以申请" in r.missing[0].detail
    assert check(facts(), date(2026, 4, 15)).eligible


def test_serious_penalty_waits_one_year() -> None:
    r = check(facts(severity="严重"), date(2026, 12, 31))
    assert r.min_months == 12 and r.earliest == date(2027, 1, 15) and not r.may_apply
    assert check(facts(severity="严重"), date(2027, 1, 15)).eligible


def test_missing_evidence_and_commitment_are_named_but_do_not_block_applying() -> None:
    r = check(facts(), date(2026, 6, 1), obligations=False, commitment=False)
    assert r.may_apply and not r.eligible
    assert [m.code for m in r.missing] == ["obligations", "commitment"]
    assert "证明材料" in r.missing[0].detail and "信用修复承诺书" in r.missing[1].detail


def test_everything_missing_is_listed_at_once() -> None:
    r = check(facts(), date(2026, 2, 1), obligations=False, commitment=False)
    assert [m.code for m in r.missing] == ["min_period", "obligations", "commitment"]
    assert "最短公示期" in rules.refusal_text(r)


def test_minor_information_is_not_published_so_there_is_nothing_to_repair() -> None:
    r = check(facts(severity="轻微", publish_from=None), date(2026, 6, 1))
    assert not r.applicable and "无需申请信用修复" in (r.reason or "")


def test_specific_serious_penalties_are_excluded_with_the_reason() -> None:
    r = check(facts(severity="严重", penalty_types=("吊销许可证件(食品经营许可证)",)), date(2028, 1, 1))
    assert not r.applicable and r.rule == "特定严重失信行为" and "3 年" in (r.reason or "")
    # the same penalty by another department is not covered by the rule
    assert check(facts(severity="严重", dept_code="SW", penalty_types=("吊销许可证件",)), date(2028, 1, 1)).eligible


def test_a_local_rule_lengthens_the_minimum_period() -> None:
    r = check(facts(dept_code="YJGL"), date(2026, 6, 1))
    assert r.min_months == 12 and r.rule == "安全生产领域" and not r.may_apply
    assert "安全生产领域" in r.missing[0].detail


def test_court_lists_and_non_failures_are_not_repairable() -> None:
    r = check(facts(item_code="dishonest_judgment_debtor", item_name="失信被执行人"), date(2028, 1, 1))
    assert not r.applicable and "人民法院" in (r.reason or "")
    r = check(facts(item_code="admin_license", item_name="行政许可信息"), date(2028, 1, 1))
    assert not r.applicable and "不是失信信息" in (r.reason or "")


@pytest.mark.parametrize("state", ["repaired", "expired", "revoked", "superseded"])
def test_information_no_longer_in_force_needs_no_repair(state: str) -> None:
    assert not check(facts(state=state), date(2028, 1, 1)).applicable


def test_under_objection_waits_for_the_objection() -> None:
    r = check(facts(state="objection"), date(2026, 6, 1))
    assert r.applicable and not r.may_apply and r.missing[0].code == "objection"


@pytest.mark.parametrize(("current", "to"), list(product(State, State)))
def test_every_pair_of_application_states(current: State, to: State) -> None:
    if to in rules.TRANSITIONS[current]:
        rules.check_transition(current, to, frozenset({rules.ACTOR_OF[to]}))
        other = ({Role.FINDING_DEPT, Role.APPLICANT} - {rules.ACTOR_OF[to]}).pop()
        with pytest.raises(Forbidden):
            rules.check_transition(current, to, frozenset({other}))
    else:
        with pytest.raises(RuleViolation):
            rules.check_transition(current, to, frozenset(Role))


@pytest.mark.parametrize(("submitted", "due"), [
    (date(2026, 9, 28), date(2026, 10, 16)),   # National Day and the Saturday make-up day 10-10
    (date(2026, 2, 12), date(2026, 3, 4)),     # Spring Festival, make-up Saturdays 02-14 and 02-28
    (date(2027, 9, 30), date(2027, 10, 14)),   # 2027 not yet published: Monday–Friday fallback
])
def test_ten_working_days_to_decide_across_holidays(submitted: date, due: date) -> None:
    assert rules.decide_due(submitted, 10) == due
    assert not rules.is_overdue(State.SUBMITTED, due, due)
    assert rules.is_overdue(State.SUBMITTED, due, date.fromordinal(due.toordinal() + 1))
    assert not rules.is_overdue(State.APPROVED, due, date.fromordinal(due.toordinal() + 1))
