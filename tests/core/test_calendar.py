from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.core import calendar
from xinyong.core.calendar import (
    CalendarConfigError,
    add_workdays,
    is_workday,
    set_calendar_dir,
    workday_ordinals,
    workdays_between,
)

YAML_2027 = """\
year: 2027
source: 测试用数据，不是真实安排
holidays: [2027-01-01, 2027-02-05, 2027-02-08, 2027-02-09]
workdays: [2027-02-07]
"""


@pytest.fixture
def empty_dir(tmp_path: Path) -> Iterator[Path]:
    set_calendar_dir(tmp_path)
    yield tmp_path
    set_calendar_dir(None)


@pytest.fixture
def dir_with_2027(empty_dir: Path) -> Path:
    (empty_dir / "2027.yaml").write_text(YAML_2027, encoding="utf-8")
    set_calendar_dir(empty_dir)
    return empty_dir


def test_2026_national_day_and_make_up_days(empty_dir: Path) -> None:
    for day in range(1, 8):
        assert not is_workday(date(2026, 10, day))
    assert is_workday(date(2026, 9, 20))  # Sunday, make-up day
    assert is_workday(date(2026, 10, 10))  # Saturday, make-up day
    assert is_workday(date(2026, 10, 9))


def test_2026_agrees_with_chinese_calendar(empty_dir: Path) -> None:
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_national_day_deadline_skips_the_holiday(empty_dir: Path) -> None:
    # decided on Wed 2026-09-30: 7 working days are 10-08, 10-09, 10-10 (Sat, make-up), 10-12 .. 10-15
    assert add_workdays(date(2026, 9, 30), 7) == date(2026, 10, 15)
    assert add_workdays(date(2026, 9, 30), 0) == date(2026, 9, 30)


def test_2027_from_yaml(dir_with_2027: Path) -> None:
    assert not is_workday(date(2027, 1, 1))  # Friday, holiday in the file
    assert is_workday(date(2027, 2, 7))  # Sunday, make-up day in the file
    assert not is_workday(date(2027, 2, 8))
    assert is_workday(date(2027, 2, 10))
    assert not is_workday(date(2027, 2, 6))  # ordinary Saturday


def test_2027_fallback_warns_once_and_does_not_raise(
    empty_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="xinyong.calendar"):
        assert is_workday(date(2027, 1, 1))  # a Friday; unknown holidays -> Monday to Friday
        assert not is_workday(date(2027, 1, 2))
        assert add_workdays(date(2027, 3, 1), 5) == date(2027, 3, 8)
    warnings = [r for r in caplog.records if r.name == "xinyong.calendar" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2027" in warnings[0].getMessage()


def test_add_workdays_across_2026_2027_with_yaml(dir_with_2027: Path) -> None:
    # Thu 2026-12-31 -> 2027-01-01 holiday (file), 01-04 Mon is the first working day
    assert add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert workdays_between(date(2026, 12, 30), date(2027, 1, 4)) == 2


def test_add_workdays_across_2026_2027_fallback(empty_dir: Path) -> None:
    assert add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert add_workdays(date(2026, 12, 30), 3) == date(2027, 1, 4)


def test_negative_n_is_refused(empty_dir: Path) -> None:
    with pytest.raises(ValueError):
        add_workdays(date(2026, 1, 5), -1)


def test_workdays_between_edges(empty_dir: Path) -> None:
    assert workdays_between(date(2026, 10, 9), date(2026, 10, 9)) == 0
    assert workdays_between(date(2026, 10, 9), date(2026, 10, 1)) == 0
    assert workdays_between(date(2026, 9, 30), date(2026, 10, 8)) == 1


@settings(max_examples=60, deadline=None)
@given(st.dates(date(2025, 11, 1), date(2027, 3, 1)), st.integers(0, 40))
def test_add_workdays_and_workdays_between_agree(start: date, n: int) -> None:
    set_calendar_dir(Path("/nonexistent-xinyong-calendar"))
    try:
        end = add_workdays(start, n)
        assert workdays_between(start, end) == n
        assert n == 0 or is_workday(end)
    finally:
        set_calendar_dir(None)


def test_workday_ordinals_agree_with_workdays_between(dir_with_2027: Path) -> None:
    first, last = date(2026, 9, 1), date(2027, 2, 28)
    base, ordinals = workday_ordinals(first, last)
    assert base == first and len(ordinals) == (last - first).days + 1
    for a_off in range(0, len(ordinals), 7):
        for b_off in range(a_off, len(ordinals), 5):
            a, b = first + timedelta(days=a_off), first + timedelta(days=b_off)
            assert workdays_between(a, b) == ordinals[b_off] - ordinals[a_off]


def test_yaml_overrides_package_data(empty_dir: Path) -> None:
    (empty_dir / "2026.yaml").write_text(
        "year: 2026\nholidays: [2026-10-09]\nworkdays: []\n", encoding="utf-8"
    )
    set_calendar_dir(empty_dir)
    assert not is_workday(date(2026, 10, 9))
    assert is_workday(date(2026, 10, 1))


@pytest.mark.parametrize(
    "text",
    [
        "year: 2028\nholidays: []\n",
        "year: 2027\nholidays: [2027-02-30]\n",
        "year: 2027\nholidays: [2026-12-31]\n",
        "year: 2027\nholidays: [2027-02-07]\nworkdays: [2027-02-07]\n",
        "year: 2027\nholidays: 2027-01-01\n",
    ],
)
def test_malformed_yaml_is_reported(empty_dir: Path, text: str) -> None:
    (empty_dir / "2027.yaml").write_text(text, encoding="utf-8")
    set_calendar_dir(empty_dir)
    with pytest.raises(CalendarConfigError):
        is_workday(date(2027, 3, 1))


def test_default_dir_from_cwd_then_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_calendar_dir(None)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XINYONG_CONFIG_DIR", raising=False)
    assert calendar.calendar_dir() is None
    monkeypatch.setenv("XINYONG_CONFIG_DIR", str(tmp_path / "cfg"))
    assert calendar.calendar_dir() == tmp_path / "cfg" / "calendar"
    (tmp_path / "config" / "calendar").mkdir(parents=True)
    assert calendar.calendar_dir() == tmp_path / "config" / "calendar"


def test_shipped_example_parses_and_no_guessed_year_is_shipped() -> None:
    folder = Path(__file__).resolve().parents[2] / "config" / "calendar"
    assert (folder / "example.yaml.sample").is_file() and (folder / "README.md").is_file()
    assert not list(folder.glob("20[2-9][0-9].yaml"))


def test_shipped_example_loads_as_a_year_file(empty_dir: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "config" / "calendar" / "example.yaml.sample"
    (empty_dir / "2026.yaml").write_text(sample.read_text(encoding="utf-8"), encoding="utf-8")
    set_calendar_dir(empty_dir)
    assert is_workday(date(2026, 10, 10)) and not is_workday(date(2026, 10, 1))
