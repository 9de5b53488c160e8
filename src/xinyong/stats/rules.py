"""Pure rules of monitoring: what a month is, whether it may be built, how a value is judged against its target.

No I/O; `mypy --strict`. Months are calendar months of China Standard Time (the office's working time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from xinyong.core.errors import Refused

_MONTH: Final = re.compile(r"^([0-9]{4})-([0-9]{2})$", re.ASCII)
Op = Literal[">=", ">", "<=", "<"]
OPS: Final[tuple[Op, ...]] = (">=", ">", "<=", "<")
MonthState = Literal["open", "closed"]
# How a ratio is shown: the unit names its scale.
UNIT_SCALE: Final[dict[str, float]] = {"%": 100.0, "‰": 1000.0, "每万条": 10000.0}
GROUPS: Final[tuple[str, ...]] = ("city", "region", "dept", "item", "type")


@dataclass(frozen=True, slots=True)
class Month:
    first: date   # the first day
    next: date    # the first day of the next month

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"

    def previous(self) -> Month:
        return month_of(date(self.first.year - (self.first.month == 1), (self.first.month - 2) % 12 + 1, 1))

    def shift(self, months: int) -> Month:
        index = self.first.year * 12 + self.first.month - 1 + months
        return month_of(date(index // 12, index % 12 + 1, 1))


def month_of(day: date) -> Month:
    first = date(day.year, day.month, 1)
    return Month(first, date(first.year + (first.month == 12), first.month % 12 + 1, 1))


def parse_month(text: str) -> Month:
    """YYYY-MM → Month; anything else is refused in Chinese."""
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise Refused(f"月份应为 YYYY-MM 格式，如 2026-03（收到“{text[:20]}”）", rule="stats.month")
    if not 2000 <= int(m.group(1)) <= 2999:
        raise Refused(f"月份的年份应在 2000 至 2999 之间，如 2026-03（收到“{text[:20]}”）", rule="stats.month")
    return month_of(date(int(m.group(1)), int(m.group(2)), 1))


def month_state(month: Month, today: date) -> MonthState:
    """A month is open while it runs and closed once it is over; a future month cannot be built."""
    if month.first > today:
        raise Refused(f"{month.label} 尚未到来，不能统计；请选择本月（{today:%Y-%m}）或以前的月份",
                      rule="stats.future_month")
    return "open" if today < month.next else "closed"


def check_build(month: Month, today: date, *, built_closed: bool, rebuild: bool) -> MonthState:
    """May the month's snapshot be (re)computed? A closed month once built is frozen unless rebuilt explicitly."""
    state = month_state(month, today)
    if state == "closed" and built_closed and not rebuild:
        raise Refused(f"{month.label} 已结账，快照已冻结；确需重算请加 --rebuild（重算将记入审计日志）",
                      rule="stats.frozen")
    return state


def ratio(numerator: float, denominator: float | None, unit: str) -> float | None:
    """The shown value: a count as is, a ratio scaled by its unit; no denominator (0) → no value."""
    if denominator is None:
        return numerator
    if denominator == 0:
        return None
    return numerator / denominator * UNIT_SCALE.get(unit, 1.0)


def meets(value: float | None, op: Op, target: float) -> bool | None:
    """Red/green: None when there is no value to judge."""
    if value is None:
        return None
    if op == ">=":
        return value >= target
    if op == ">":
        return value > target
    if op == "<=":
        return value <= target
    return value < target


def better(op: Op) -> Literal["higher", "lower"]:
    return "higher" if op in (">=", ">") else "lower"


def change(value: float | None, previous: float | None) -> float | None:
    """Difference with the previous month, in the indicator's own unit."""
    if value is None or previous is None:
        return None
    return value - previous


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("条", "个", "件", "次", "家", "人"):
        return f"{value:,.0f}"
    return f"{value:,.2f}"
