"""Pure rules: back-off, dead letters, deadlines, signatures and the receiver's answer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.exchange import rules


def test_backoff_doubles_and_caps() -> None:
    delays = [rules.retry_delay(n, 30, 600).total_seconds() for n in range(1, 8)]
    assert delays == [30, 60, 120, 240, 480, 600, 600]


def test_dead_after_configured_hours() -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    assert not rules.gives_up(t0, t0 + timedelta(hours=71, minutes=59), 72)
    assert rules.gives_up(t0, t0 + timedelta(hours=72), 72)


def test_push_deadline_counts_working_days() -> None:
    # Friday 2026-11-27 + 7 working days = Tuesday 2026-12-08
    assert rules.push_deadline(date(2026, 11, 27)) == date(2026, 12, 8)
    assert rules.is_late(date(2026, 12, 8), date(2026, 12, 9))
    assert not rules.is_late(date(2026, 12, 8), date(2026, 12, 8))
    assert not rules.is_late(None, date(2030, 1, 1))


def test_signature_and_replay_window() -> None:
    body = b'{"a":1}'
    sig = rules.sign("s3cret", 1_000_000, body)
    assert rules.verify("s3cret", "1000000", sig, body, now=1_000_100) is None
    assert "窗口" in (rules.verify("s3cret", "1000000", sig, body, now=1_000_400) or "")
    assert rules.verify("s3cret", "1000000", sig, body + b" ", now=1_000_000) == "签名不符"
    assert rules.verify("other", "1000000", sig, body, now=1_000_000) == "签名不符"
    assert rules.verify("s3cret", "abc", sig, body, now=1_000_000) == "时间戳格式错误"
    assert rules.verify("s3cret", None, sig, body, now=1_000_000) == "缺少签名或时间戳"


def test_batch_names_sort_in_delivery_order() -> None:
    names = [rules.batch_name("provincial", a, b, "ab12cd34") for a, b in [(9, 20), (21, 30), (101, 200)]]
    assert names == sorted(names)
    assert rules.batch_name("p", 1, 2, "x") == rules.batch_name("p", 1, 2, "x")


def test_feedback_parsing() -> None:
    got = rules.parse_feedback({"results": [{"key": "a", "status": "rejected", "reason": "代码错误"},
                                            {"key": "b", "status": "accepted"}]})
    assert got == {"a": ("rejected", "代码错误"), "b": ("accepted", "")}
    for bad in ([], "x", {"results": "x"}, {"results": [{"status": "accepted"}]},
                {"results": [{"key": "a", "status": "maybe"}]}):
        with pytest.raises(ValueError):
            rules.parse_feedback(bad)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                    max_leaves=10))
def test_feedback_parser_never_crashes_otherwise(raw: object) -> None:
    try:
        out = rules.parse_feedback(raw)
    except ValueError:
        return
    assert all(s in ("accepted", "rejected") for s, _ in out.values())
