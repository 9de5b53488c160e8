"""The pure rules of sharing: levels, what stays in a partner's copy, key refusals, feed positions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.exchange.sharing import rules

TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(("level", "disclosure", "ok"), [
    ("public", "public", True), ("public", "shared", False), ("public", "authorised", False),
    ("shared", "public", True), ("shared", "shared", True), ("shared", "authorised", False),
    ("authorised", "public", True), ("authorised", "shared", True), ("authorised", "authorised", True),
    ("secret", "public", False), ("shared", "nonsense", False),
])
def test_a_level_reads_its_own_disclosure_and_lower(level: str, disclosure: str, ok: bool) -> None:
    assert rules.level_allows(level, disclosure) is ok


@pytest.mark.parametrize("state", ["active", "objection"])
def test_records_in_force_and_in_their_window_are_shared(state: str) -> None:
    assert rules.shareable(state, TODAY, TODAY + timedelta(days=1), "public", TODAY)
    assert rules.shareable(state, TODAY, None, "shared", TODAY)


@pytest.mark.parametrize("state", ["superseded", "repaired", "revoked", "expired"])
def test_records_no_longer_in_force_are_not_shared(state: str) -> None:
    assert not rules.shareable(state, TODAY, None, "authorised", TODAY)


def test_the_window_end_is_exclusive_and_unpublished_records_need_a_level_above_public() -> None:
    assert not rules.shareable("active", TODAY - timedelta(days=9), TODAY, "shared", TODAY)
    assert rules.shareable("active", TODAY - timedelta(days=9), TODAY + timedelta(days=1), "shared", TODAY)
    assert not rules.shareable("active", None, None, "public", TODAY)
    assert rules.shareable("active", None, None, "shared", TODAY)


def test_key_refusals_say_why_in_chinese() -> None:
    assert rules.key_refusal(partner_revoked=False, key_revoked=False, expires_on=TODAY, today=TODAY) is None
    assert rules.key_refusal(partner_revoked=False, key_revoked=False, expires_on=None, today=TODAY) is None
    expired = rules.key_refusal(partner_revoked=False, key_revoked=False, expires_on=TODAY - timedelta(days=1),
                                today=TODAY)
    assert expired is not None and "到期" in expired
    for partner_revoked, key_revoked in ((True, False), (False, True)):
        refused = rules.key_refusal(partner_revoked=partner_revoked, key_revoked=key_revoked, expires_on=None,
                                    today=TODAY)
        assert refused is not None and "吊销" in refused


def test_items_split_on_either_comma_and_spaces_without_repeats() -> None:
    assert rules.split_items("admin_penalty，admin_license, admin_penalty;honour") == \
        ["admin_penalty", "admin_license", "honour"]


@pytest.mark.parametrize("code", ["", "1BANK", "银行", "a" * 65, "A B"])
def test_bad_partner_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match="合作方代码"):
        rules.check_code(code)


def test_limits_are_bounded() -> None:
    assert rules.clamp_limit(None) == 1000 and rules.clamp_limit(10) == 10
    for bad in (0, rules.MAX_LIMIT + 1):
        with pytest.raises(ValueError):
            rules.clamp_limit(bad)


@given(st.tuples(*[st.integers(min_value=0, max_value=2**63 - 1)] * 3))
def test_positions_round_trip(pos: tuple[int, int, int]) -> None:
    assert rules.parse_position(rules.format_position(pos)) == pos


@given(st.text(max_size=80))
def test_parsing_any_text_gives_a_position_or_none(text: str) -> None:
    pos = rules.parse_position(text)
    assert pos is None or all(0 <= v < 2**63 for v in pos)
