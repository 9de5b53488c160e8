"""The list entry state machine and term rules, walked exhaustively."""

from __future__ import annotations

import re
from datetime import date

import pytest

from xinyong.core.errors import Forbidden, RuleViolation
from xinyong.lists import rules
from xinyong.lists.rules import TRANSITIONS, EntryFacts, State

TODAY = date(2026, 3, 2)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _facts(state: State) -> EntryFacts:
    return EntryFacts(state, notified_at=date(2026, 3, 1), notify_channel="直接送达")


@pytest.mark.parametrize("src", list(State))
@pytest.mark.parametrize("dst", list(State))
def test_every_pair_of_states(src: State, dst: State) -> None:
    if dst in TRANSITIONS[src]:
        rules.check_transition(_facts(src), dst, TODAY)
    else:
        with pytest.raises(RuleViolation) as info:
            rules.check_transition(_facts(src), dst, TODAY)
        assert CJK.search(info.value.detail), info.value.detail
        assert info.value.rule in ("entry_transition", "notify_before_publish")


def test_publish_before_notice_is_refused_naming_the_rule() -> None:
    with pytest.raises(RuleViolation) as info:
        rules.check_transition(EntryFacts(State.PROPOSED), State.PUBLISHED, TODAY)
    assert info.value.rule == "notify_before_publish"
    assert "告知" in info.value.detail


def test_publish_needs_notice_date_and_channel() -> None:
    with pytest.raises(RuleViolation, match="告知"):
        rules.check_transition(EntryFacts(State.NOTIFIED, None, None), State.PUBLISHED, TODAY)
    with pytest.raises(RuleViolation, match="晚于今天"):
        rules.check_transition(EntryFacts(State.NOTIFIED, date(2026, 3, 3), "邮寄"), State.PUBLISHED, TODAY)


def test_notice_in_the_future_or_without_channel_is_refused() -> None:
    with pytest.raises(RuleViolation, match="告知方式"):
        rules.check_notice(TODAY, " ", TODAY)
    with pytest.raises(RuleViolation, match="不能晚于今天"):
        rules.check_notice(date(2026, 3, 9), "邮寄送达", TODAY)
    rules.check_notice(TODAY, "邮寄送达", TODAY)


def test_term_past_the_maximum_is_refused() -> None:
    rules.check_term(date(2026, 1, 31), date(2029, 1, 31), 36, "某名单")
    with pytest.raises(RuleViolation) as info:
        rules.check_term(date(2026, 1, 31), date(2029, 2, 1), 36, "某名单")
    assert info.value.rule == "term_max" and "最长期限 36 个月" in info.value.detail
    with pytest.raises(RuleViolation, match="应晚于认定日期"):
        rules.check_term(date(2026, 1, 31), date(2026, 1, 31), 36, "某名单")


def test_months_are_added_calendar_wise() -> None:
    assert rules.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert rules.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert rules.add_months(date(2026, 11, 15), 24) == date(2028, 11, 15)


def test_only_named_initiators_may_propose() -> None:
    rules.check_initiator("SCJG", ["SCJG"], "市场监督管理严重违法失信名单")
    with pytest.raises(Forbidden) as info:
        rules.check_initiator("SW", ["SCJG"], "市场监督管理严重违法失信名单")
    assert info.value.rule == "initiator" and "无权" in info.value.detail


def test_responsible_persons_only_where_the_list_type_allows() -> None:
    rules.check_persons_allowed(True, 2, "甲")
    rules.check_persons_allowed(False, 0, "甲")
    with pytest.raises(RuleViolation, match="责任人员"):
        rules.check_persons_allowed(False, 1, "甲")


@pytest.mark.parametrize("state", list(State))
def test_public_view_shows_only_published_in_term(state: State) -> None:
    shown = rules.publicly_listed(state, True, date(2026, 3, 2), TODAY)
    assert shown == (state == State.PUBLISHED)
    assert not rules.publicly_listed(state, False, date(2026, 3, 2), TODAY)
    assert not rules.publicly_listed(state, True, date(2026, 3, 1), TODAY)


def test_expiry_the_day_after_the_term() -> None:
    assert not rules.expired(State.PUBLISHED, TODAY, TODAY)
    assert rules.expired(State.PUBLISHED, date(2026, 3, 1), TODAY)
    assert rules.expired(State.SUSPENDED, date(2026, 3, 1), TODAY)
    assert not rules.expired(State.NOTIFIED, date(2026, 3, 1), TODAY)


@pytest.mark.parametrize(("state", "revoked", "expected"), [
    (State.PROPOSED, False, State.REVOKED), (State.NOTIFIED, True, State.REVOKED),
    (State.PUBLISHED, False, State.EXITED), (State.PUBLISHED, True, State.REVOKED),
    (State.SUSPENDED, False, State.EXITED), (State.SUSPENDED, True, State.REVOKED),
    (State.EXITED, False, None), (State.EXITED, True, State.REVOKED),
    (State.REVOKED, False, None), (State.REVOKED, True, None),
])
def test_outcome_when_the_record_is_repaired_or_revoked(state: State, revoked: bool, expected: State | None) -> None:
    assert rules.outcome_for_record(state, revoked) == expected
    if expected is not None:
        assert expected in TRANSITIONS[state]
