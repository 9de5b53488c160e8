"""The pure rules of monitoring: months, build permissions, values, targets."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.core.errors import DomainError
from xinyong.stats import rules


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2999, 12, 31)))
def test_month_round_trips_and_contains_its_days(day: date) -> None:
    m = rules.month_of(day)
    assert rules.parse_month(m.label) == m
    assert m.first <= day < m.next and m.first.day == 1 and m.next.day == 1
    if day.year > 2000 or day.month > 1:
        assert m.previous().next == m.first


@given(st.text(max_size=12))
def test_parse_month_accepts_only_yyyy_mm(text: str) -> None:
    stripped = text.strip()
    valid = (len(stripped) == 7 and stripped[4] == "-" and stripped[:4].isascii() and stripped[:4].isdigit()
             and stripped[5:].isascii() and stripped[5:].isdigit() and 1 <= int(stripped[5:]) <= 12
             and 2000 <= int(stripped[:4]) <= 2999)
    if valid:
        assert rules.parse_month(text).label == stripped
    else:
        with pytest.raises(DomainError):
            rules.parse_month(text)


def test_shift_crosses_years() -> None:
    m = rules.parse_month("2026-01")
    assert m.shift(-1).label == "2025-12" and m.shift(-13).label == "2024-12" and m.shift(12).label == "2027-01"


def test_build_states() -> None:
    today = date(2026, 4, 15)
    april, march, may = (rules.parse_month(x) for x in ("2026-04", "2026-03", "2026-05"))
    assert rules.check_build(april, today, built_closed=False, rebuild=False) == "open"
    assert rules.check_build(march, today, built_closed=False, rebuild=False) == "closed"
    with pytest.raises(DomainError, match="已结账"):
        rules.check_build(march, today, built_closed=True, rebuild=False)
    assert rules.check_build(march, today, built_closed=True, rebuild=True) == "closed"
    with pytest.raises(DomainError, match="尚未到来"):
        rules.check_build(may, today, built_closed=False, rebuild=True)
    assert rules.check_build(may, date(2026, 5, 1), built_closed=False, rebuild=False) == "open"


def test_ratio_meets_and_change() -> None:
    assert rules.ratio(3, 4, "%") == 75.0 and rules.ratio(1, 2000, "‰") == 0.5
    assert rules.ratio(2, 10_000, "每万条") == 2.0 and rules.ratio(30, 2, "条/人") == 15.0
    assert rules.ratio(5, None, "条") == 5 and rules.ratio(5, 0, "%") is None
    assert rules.meets(15, ">=", 15) is True and rules.meets(14.9, ">=", 15) is False
    assert rules.meets(5, "<", 5) is False and rules.meets(4.99, "<", 5) is True
    assert rules.meets(5, "<=", 5) is True and rules.meets(5, ">", 5) is False
    assert rules.meets(None, ">=", 1) is None
    assert rules.better(">=") == "higher" and rules.better("<") == "lower"
    assert rules.change(80, 75) == 5 and rules.change(None, 1) is None and rules.change(1, None) is None
    assert rules.median([]) is None and rules.median([3, 1, 2]) == 2 and rules.median([4, 1, 2, 3]) == 2.5
    assert rules.format_value(None, "%") == "—" and rules.format_value(1234.5, "条") == "1,234"
