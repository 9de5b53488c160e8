"""Working days under the State Council's holiday calendar, including make-up working days (调休).

Sources, per year, in order:
1. `config/calendar/YYYY.yaml`, when present (lets an operator add a year, or correct one);
2. the `chinese_calendar` package (1.11 knows 2004–2026);
3. Monday–Friday, with one warning per year on the "xinyong.calendar" logger. Deadlines keep working
   when a year has not been published yet; they are then approximate, and the log says so.

A malformed YAML file raises CalendarConfigError: a silently wrong deadline is worse than a loud one.
"""

from __future__ import annotations

import logging
import os
from datetime import date, timedelta
from pathlib import Path
from threading import Lock

import chinese_calendar
import yaml

log = logging.getLogger("xinyong.calendar")

_lock = Lock()
_calendar_dir: Path | None = None
_years: dict[int, frozenset[date]] = {}  # year -> its working days
_generation = 0  # bumped whenever the cached years are forgotten


class CalendarConfigError(ValueError):
    pass


def set_calendar_dir(path: Path | str | None) -> None:
    """Use `path` for YYYY.yaml files (None: back to the default lookup) and forget every cached year."""
    global _calendar_dir, _generation
    with _lock:
        _calendar_dir = Path(path) if path is not None else None
        _years.clear()
        _generation += 1


def generation() -> int:
    """Changes whenever set_calendar_dir forgets the cached years: a key for callers' own caches."""
    return _generation


def calendar_dir() -> Path | None:
    """The explicit directory, else ./config/calendar, else $XINYONG_CONFIG_DIR/calendar, else None."""
    if _calendar_dir is not None:
        return _calendar_dir
    here = Path.cwd() / "config" / "calendar"
    if here.is_dir():
        return here
    env = os.environ.get("XINYONG_CONFIG_DIR")
    return Path(env) / "calendar" if env else None


def _parse_dates(path: Path, year: int, key: str, raw: object) -> set[date]:
    if raw is None:
        return set()
    if not isinstance(raw, list):
        raise CalendarConfigError(f"{path}：“{key}”应为日期列表，例如 [{year}-01-01]")
    out: set[date] = set()
    for item in raw:
        try:
            d = item if isinstance(item, date) else date.fromisoformat(str(item))
        except ValueError:
            raise CalendarConfigError(
                f"{path}：“{key}”中的“{item}”不是有效日期，请按 {year}-01-01 格式填写"
            ) from None
        if d.year != year:
            raise CalendarConfigError(f"{path}：“{key}”中的 {d} 不属于 {year} 年")
        out.add(d)
    return out


def _from_yaml(path: Path, year: int) -> frozenset[date]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for 2027-02-30
        raise CalendarConfigError(f"{path}：无法读取（{exc}），请按 example.yaml.sample 的格式填写") from exc
    if not isinstance(data, dict) or data.get("year") != year:
        raise CalendarConfigError(f"{path}：文件内容应以 “year: {year}” 开头，并列出 holidays 与 workdays")
    holidays = _parse_dates(path, year, "holidays", data.get("holidays"))
    makeup = _parse_dates(path, year, "workdays", data.get("workdays"))
    if both := holidays & makeup:
        raise CalendarConfigError(f"{path}：{min(both)} 同时出现在 holidays 与 workdays 中")
    return frozenset(d for d in _days(year) if d in makeup or (d.weekday() < 5 and d not in holidays))


def _days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def _load_year(year: int) -> frozenset[date]:
    folder = calendar_dir()
    path = folder / f"{year}.yaml" if folder is not None else None
    if path is not None and path.is_file():
        return _from_yaml(path, year)
    try:
        return frozenset(d for d in _days(year) if chinese_calendar.is_workday(d))
    except NotImplementedError:
        pass
    log.warning(
        "%d 年的法定节假日安排未配置（未找到 %s），暂按周一至周五计算工作日；请在国务院办公厅公布后补充该文件",
        year,
        path or f"config/calendar/{year}.yaml",
    )
    return frozenset(d for d in _days(year) if d.weekday() < 5)


def _workdays_of(year: int) -> frozenset[date]:
    days = _years.get(year)
    if days is None:
        with _lock:
            days = _years.get(year)
            if days is None:
                days = _years[year] = _load_year(year)
    return days


def is_workday(d: date) -> bool:
    return d in _workdays_of(d.year)


def add_workdays(start: date, n: int) -> date:
    """The date n working days after start (start itself not counted); n == 0 gives start."""
    if n < 0:
        raise ValueError("n must be >= 0")
    d = start
    while n > 0:
        d += timedelta(days=1)
        if is_workday(d):
            n -= 1
    return d


def workdays_between(start: date, end: date) -> int:
    """Working days after start up to and including end; 0 when end <= start."""
    if end <= start:
        return 0
    first, ordinals = workday_ordinals(start, end)
    return ordinals[(end - first).days] - ordinals[0]


def workday_ordinals(first: date, last: date) -> tuple[date, list[int]]:
    """Cumulative working-day counts: ordinals[i] counts the working days in [first, first + i].

    For vectorised deadlines: workdays_between(a, b) == ordinals[b - first] - ordinals[a - first] for
    first <= a <= b <= last. Empty list when last < first.
    """
    ordinals: list[int] = []
    count = 0
    for i in range((last - first).days + 1):
        d = first + timedelta(days=i)
        count += is_workday(d)
        ordinals.append(count)
    return first, ordinals
