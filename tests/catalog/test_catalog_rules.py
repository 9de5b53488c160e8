from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.catalog import rules
from xinyong.catalog.rules import (
    MAX_MONTHS,
    MIN_MONTHS,
    add_months,
    fixed_window,
    publication_window,
    severity_class,
    validity_window,
)

DEFAULTS = {
    "警告": "轻微",
    "通报批评": "轻微",
    "罚款": "一般",
    "没收违法所得": "一般",
    "没收非法财物": "一般",
    "吊销许可证件": "严重",
    "责令停产停业": "严重",
    "责令关闭": "严重",
    "限制从业": "严重",
}
D = date(2024, 3, 15)


# --- severity_class -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("penalty_type", "expected"),
    [
        ("警告", "轻微"),
        ("通报批评", "轻微"),
        ("罚款", "一般"),
        ("没收违法所得", "一般"),
        ("吊销许可证件", "严重"),
        ("责令停产停业", "严重"),
        ("限制从业", "严重"),
        ("其他", "一般"),
        ("行政拘留", "一般"),
        (None, "一般"),
        ("", "一般"),
        ("  ", "一般"),
    ],
)
def test_class_follows_penalty_type(penalty_type: str | None, expected: str) -> None:
    assert severity_class(penalty_type, None, DEFAULTS, "一般") == expected


@pytest.mark.parametrize(
    "combined",
    [
        "罚款；没收违法所得",
        "罚款;吊销许可证件",
        "警告、罚款",
        "罚款,责令停产停业",
        "警告，通报批评",
        "罚款 / 责令关闭",
    ],
)
def test_combined_types_take_the_most_severe_part(combined: str) -> None:
    parts = rules.split_penalty_types(combined)
    expected = max((severity_class(p, None, DEFAULTS, "一般") for p in parts), key=rules.CLASSES.index)
    assert severity_class(combined, None, DEFAULTS, "一般") == expected
    assert len(parts) == 2


def test_combined_minor_and_serious_is_serious() -> None:
    assert severity_class("警告；吊销许可证件", None, DEFAULTS, "一般") == "严重"
    assert severity_class("警告；通报批评", None, DEFAULTS, "一般") == "轻微"


def test_full_width_and_annotated_types_are_recognised() -> None:
    assert severity_class("吊销许可证件（食品经营许可证）", None, DEFAULTS, "一般") == "严重"
    assert severity_class(" 警告 ", None, DEFAULTS, "一般") == "轻微"


@pytest.mark.parametrize(
    ("explicit", "expected"),
    [("严重", "严重"), ("轻微", "轻微"), ("一般失信", "一般"), (" 严重失信 ", "严重")],
)
def test_valid_explicit_class_wins(explicit: str, expected: str) -> None:
    assert severity_class("罚款", explicit, DEFAULTS, "一般") == expected


@pytest.mark.parametrize("explicit", ["", "很严重", "3", None])
def test_invalid_explicit_class_is_ignored(explicit: str | None) -> None:
    assert severity_class("吊销许可证件", explicit, DEFAULTS, "一般") == "严重"


def test_department_overrides_win_over_defaults() -> None:
    assert severity_class("罚款", None, DEFAULTS, "一般", overrides={"罚款": "严重"}) == "严重"
    assert severity_class("警告", None, DEFAULTS, "一般", overrides={"罚款": "严重"}) == "轻微"


def test_default_class_applies_to_unknown_types() -> None:
    assert severity_class("其他", None, DEFAULTS, "严重") == "严重"


def test_invalid_class_in_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="无效"):
        severity_class("罚款", None, DEFAULTS, "中等")
    with pytest.raises(ValueError, match="无效"):
        severity_class("罚款", None, {"罚款": "中等"}, "一般")


# --- add_months -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2024, 2, 29), 36, date(2027, 2, 28)),
        (date(2024, 8, 31), 3, date(2024, 11, 30)),
        (date(2024, 11, 30), 3, date(2025, 2, 28)),
        (date(2024, 12, 15), 1, date(2025, 1, 15)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 3, 15), 0, date(2024, 3, 15)),
    ],
)
def test_add_months_is_end_of_month_safe(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2900, 1, 1)), st.integers(min_value=0, max_value=600)
)
def test_add_months_lands_in_the_right_month(d: date, n: int) -> None:
    out = add_months(d, n)
    assert (out.year * 12 + out.month) - (d.year * 12 + d.month) == n
    assert out.day <= d.day
    assert out.day == d.day or out.day >= 28


# --- publication_window ---------------------------------------------------------------------


def test_minor_is_not_published() -> None:
    assert publication_window("轻微", D, None) == (None, None)
    assert publication_window("轻微", D, date(2024, 6, 1)) == (None, None)


def test_ordinary_defaults_to_one_year() -> None:
    assert publication_window("一般", D, None) == (D, date(2025, 3, 15))


def test_serious_defaults_to_three_years() -> None:
    assert publication_window("严重", D, None) == (D, date(2027, 3, 15))


def test_ordinary_request_is_capped_at_one_year() -> None:
    assert publication_window("一般", D, date(2026, 1, 1)) == (D, date(2025, 3, 15))


def test_ordinary_request_is_raised_to_three_months() -> None:
    assert publication_window("一般", D, date(2024, 4, 1)) == (D, date(2024, 6, 15))
    assert publication_window("一般", D, date(2020, 1, 1)) == (D, date(2024, 6, 15))


def test_ordinary_request_inside_the_range_is_kept() -> None:
    assert publication_window("一般", D, date(2024, 9, 30)) == (D, date(2024, 9, 30))


def test_serious_request_between_one_and_three_years_is_kept() -> None:
    assert publication_window("严重", D, date(2026, 1, 1)) == (D, date(2026, 1, 1))


def test_serious_request_is_capped_and_raised() -> None:
    assert publication_window("严重", D, date(2030, 1, 1)) == (D, date(2027, 3, 15))
    assert publication_window("严重", D, date(2024, 12, 31)) == (D, date(2025, 3, 15))


def test_window_from_a_leap_day() -> None:
    leap = date(2024, 2, 29)
    assert publication_window("一般", leap, None) == (leap, date(2025, 2, 28))
    assert publication_window("一般", leap, date(2024, 3, 1)) == (leap, date(2024, 5, 29))
    assert publication_window("严重", leap, None) == (leap, date(2027, 2, 28))


def test_window_from_a_month_end() -> None:
    assert publication_window("一般", date(2024, 11, 30), date(2024, 12, 1)) == (
        date(2024, 11, 30),
        date(2025, 2, 28),
    )


def test_unknown_class_is_refused() -> None:
    with pytest.raises(ValueError, match="无效"):
        publication_window("中等", D, None)


def test_tables_follow_the_repair_measures() -> None:
    assert MIN_MONTHS == {"轻微": 0, "一般": 3, "严重": 12}
    assert MAX_MONTHS == {"轻微": 0, "一般": 12, "严重": 36}


@given(
    st.sampled_from(["一般", "严重"]),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    st.none() | st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)),
)
def test_window_always_lies_between_minimum_and_maximum(
    cls: str, decided: date, requested: date | None
) -> None:
    start, until = publication_window(cls, decided, requested)
    assert start == decided
    assert until is not None
    assert add_months(decided, MIN_MONTHS[cls]) <= until <= add_months(decided, MAX_MONTHS[cls])


# --- other windows --------------------------------------------------------------------------


def test_fixed_window_for_two_years() -> None:
    assert fixed_window(date(2024, 2, 29), 24) == (date(2024, 2, 29), date(2026, 2, 28))


def test_fixed_window_refuses_negative_months() -> None:
    with pytest.raises(ValueError):
        fixed_window(D, -1)


def test_validity_window() -> None:
    assert validity_window(D, date(2025, 3, 14)) == (D, date(2025, 3, 15))
    assert validity_window(D, None) == (D, None)
    assert validity_window(D, date(2099, 12, 31)) == (D, None)
    with pytest.raises(ValueError, match="早于"):
        validity_window(D, date(2024, 1, 1))
