"""The pure rules of 信易贷: every (state, action) pair of the need's life, amounts, scopes, grants, SLA."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product

import pytest

from xinyong.financing import rules
from xinyong.financing.rules import RuleError

EXPECTED = {
    ("posted", "claim"): "accepted", ("sent", "accept"): "accepted", ("accepted", "contact"): "accepted",
    ("accepted", "grant"): "granted",
    ("accepted", "refuse"): "refused", ("granted", "disburse"): "disbursed", ("granted", "withdraw"): "withdrawn",
    ("posted", "cancel"): "cancelled", ("sent", "cancel"): "cancelled",
}


@pytest.mark.parametrize("state, action", list(product(rules.STATES, rules.ACTIONS)))
def test_every_state_and_action(state: str, action: str) -> None:
    target = EXPECTED.get((state, action))
    if target is None:
        with pytest.raises(RuleError) as err:
            rules.next_state(state, action)
        assert "不能" in str(err.value)
    else:
        assert rules.next_state(state, action) == target


def test_no_stage_can_be_skipped_and_final_states_are_final() -> None:
    with pytest.raises(RuleError, match="现在只能：首次联系企业、授信、拒绝"):
        rules.next_state("accepted", "disburse")
    with pytest.raises(RuleError, match="现在只能：接单、取消"):
        rules.next_state("posted", "grant")
    for state in rules.FINAL_STATES:
        for action in rules.ACTIONS:
            with pytest.raises(RuleError, match="办理已结束"):
                rules.next_state(state, action)
    with pytest.raises(RuleError, match="未知的操作"):
        rules.next_state("posted", "approve")


@pytest.mark.parametrize("value", [0, -1, -10**12, 10**11, 1.5, "100", True, None])
def test_bad_amounts(value: object) -> None:
    with pytest.raises(RuleError):
        rules.check_amount(value)


def test_good_amount_and_terms() -> None:
    assert rules.check_amount(1) == 1 and rules.check_amount(rules.MAX_AMOUNT) == rules.MAX_AMOUNT
    assert rules.check_term(12) == 12
    for bad in (0, 361, -1, 2.0, True):
        with pytest.raises(RuleError):
            rules.check_term(bad)


def test_ranges() -> None:
    rules.check_in_range(100, 100, 200, "金额", " 元")
    with pytest.raises(RuleError, match="超出产品范围"):
        rules.check_in_range(201, 100, 200, "金额", " 元")
    rules.check_product_ranges(10_000, 1_000_000, 1, 36, 3.0, 6.0, "credit")
    for args in [(100, 10, 1, 2, 3.0, 4.0, "credit"), (10, 100, 5, 2, 3.0, 4.0, "credit"),
                 (10, 100, 1, 2, 5.0, 4.0, "credit"), (10, 100, 1, 2, 0.0, 4.0, "credit"),
                 (10, 100, 1, 2, 3.0, 40.0, "credit"), (10, 100, 1, 2, 3.0, 4.0, "house"),
                 (-1, 100, 1, 2, 3.0, 4.0, "credit")]:
        with pytest.raises(RuleError):
            rules.check_product_ranges(*args)  # type: ignore[arg-type]


def test_refusal_needs_a_known_reason_and_text() -> None:
    rules.check_refusal(["credit"], "近两年有严重处罚")
    with pytest.raises(RuleError, match="至少一项"):
        rules.check_refusal([], "x")
    with pytest.raises(RuleError, match="未知的拒绝原因"):
        rules.check_refusal(["credit", "mood"], "x")
    with pytest.raises(RuleError, match="说明"):
        rules.check_refusal(["credit"], "  ")


def test_grant_scope_and_force() -> None:
    known = frozenset({"admin_penalty", "tax_credit_rating"})
    assert rules.check_grant_scope(["tax_credit_rating", "admin_penalty", "admin_penalty"], known) == [
        "admin_penalty", "tax_credit_rating"]
    with pytest.raises(RuleError, match="未知的信用信息项目：bank_statement"):
        rules.check_grant_scope(["admin_penalty", "bank_statement"], known)
    with pytest.raises(RuleError, match="至少"):
        rules.check_grant_scope([], known)
    d = date(2026, 3, 2)
    assert rules.grant_in_force(d, d + timedelta(days=30), None, d + timedelta(days=30)) is None
    assert "到期" in (rules.grant_in_force(d, d + timedelta(days=30), None, d + timedelta(days=31)) or "")
    assert "撤销" in (rules.grant_in_force(d, d + timedelta(days=30), d, d) or "")
    assert "尚未生效" in (rules.grant_in_force(d, d + timedelta(days=30), None, d - timedelta(days=1)) or "")


def test_sla_stages_in_working_days() -> None:
    def between(a: date, b: date) -> int:  # a plain Monday–Friday week for the rule itself
        return sum(1 for i in range((b - a).days) if (a + timedelta(days=i + 1)).weekday() < 5)

    monday = date(2026, 3, 2)
    sla = {"claim": 2, "decision": 3, "disbursement": 5}
    assert rules.overdue("posted", monday, monday + timedelta(days=2), sla, between) is None
    assert rules.overdue("posted", monday, monday + timedelta(days=3), sla, between) == "claim"
    friday = date(2026, 3, 6)
    assert rules.overdue("sent", friday, friday + timedelta(days=4), sla, between) is None  # Sat, Sun do not count
    assert rules.overdue("accepted", monday, monday + timedelta(days=4), sla, between) == "decision"
    assert rules.overdue("granted", monday, monday + timedelta(days=4), sla, between) is None
    assert rules.overdue("disbursed", monday, monday + timedelta(days=40), sla, between) is None
    assert rules.stage_started("accepted", monday, friday, None) == friday
    assert rules.stage_started("granted", monday, monday, friday) == friday
    assert rules.stage_started("refused", monday, monday, friday) is None
    # an accepted need waits for its first contact (1 working day), then for a decision from that contact
    assert rules.overdue("accepted", monday, monday + timedelta(days=1), sla | {"contact": 1}, between,
                         contacted=False) is None
    assert rules.overdue("accepted", monday, monday + timedelta(days=2), sla | {"contact": 1}, between,
                         contacted=False) == "contact"
    assert rules.stage_started("accepted", monday, monday, None, None, contacted=False) == monday
    assert rules.stage_started("accepted", monday, monday, None, friday, contacted=True) == friday
    assert rules.stage_of("accepted", contacted=False) == "contact" and rules.stage_of("accepted") == "decision"
