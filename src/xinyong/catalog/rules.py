"""Publication windows of credit information (《信用修复管理办法》, 国家发展改革委令第36号).

Pure functions, no I/O. A window is ``(from, until)``: the record is public on days ``d`` with
``from <= d < until``; ``until`` is the day publication ends by itself. ``(None, None)`` means
"not published"; ``until is None`` with a start means "no end" (permanent, or a licence valid 长期).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping
from datetime import date

MINOR = "轻微"
ORDINARY = "一般"
SERIOUS = "严重"

# Ordered from least to most severe: a combined penalty takes the last class any part reaches.
CLASSES: tuple[str, ...] = (MINOR, ORDINARY, SERIOUS)

# Minimum and maximum publication period in months, counted from the decision (认定) date.
# 轻微 is "not published in principle"; the rare "at most 3 months where necessary" needs a
# separate decision and is not modelled as a default.
MIN_MONTHS: Mapping[str, int] = {MINOR: 0, ORDINARY: 3, SERIOUS: 12}
MAX_MONTHS: Mapping[str, int] = {MINOR: 0, ORDINARY: 12, SERIOUS: 36}
DEFAULT_MONTHS: Mapping[str, int] = {MINOR: 0, ORDINARY: 12, SERIOUS: 36}

# 有效期至 2099-12-31 (or later) is how the 双公示 format writes 长期.
LONG_TERM = date(2099, 12, 31)

# Spellings of a class found in department files.
_CLASS_ALIASES: Mapping[str, str] = {
    "轻微": MINOR,
    "轻微失信": MINOR,
    "轻微违法": MINOR,
    "一般": ORDINARY,
    "一般失信": ORDINARY,
    "一般违法": ORDINARY,
    "严重": SERIOUS,
    "严重失信": SERIOUS,
    "严重违法": SERIOUS,
    "特别严重": SERIOUS,
    "minor": MINOR,
    "ordinary": ORDINARY,
    "general": ORDINARY,
    "serious": SERIOUS,
}

_TYPE_SEPARATORS = re.compile(r"[;；、,，/|\n\r\t]+|\s{1,}")


def _clean(value: str) -> str:
    return "".join(unicodedata.normalize("NFKC", value).split())


def parse_class(value: str | None) -> str | None:
    """The class named by ``value`` (轻微/一般/严重 and common variants), or None."""
    if value is None:
        return None
    return _CLASS_ALIASES.get(_clean(value).lower())


def _rank(cls: str) -> int:
    return CLASSES.index(cls)


def _check_class(cls: str) -> str:
    if cls not in CLASSES:
        raise ValueError(f"处罚类别等级“{cls}”无效，可选：{'、'.join(CLASSES)}")
    return cls


def split_penalty_types(penalty_type: str | None) -> list[str]:
    """Split a combined 处罚类别 such as "罚款；没收违法所得" into its parts."""
    if not penalty_type:
        return []
    text = unicodedata.normalize("NFKC", penalty_type)
    return [part for part in (p.strip() for p in _TYPE_SEPARATORS.split(text)) if part]


def _class_of_part(part: str, table: Mapping[str, str], default_class: str) -> str:
    key = _clean(part)
    if key in table:
        return table[key]
    # "吊销许可证件(食品经营许可证)" still names 吊销许可证件: take the longest contained type.
    contained = [k for k in table if k and k in key]
    if contained:
        return table[max(contained, key=len)]
    return default_class


def severity_class(
    penalty_type: str | None,
    explicit: str | None,
    defaults: Mapping[str, str],
    default_class: str,
    overrides: Mapping[str, str] | None = None,
) -> str:
    """The class (轻微/一般/严重) of a penalty.

    A valid explicit class column wins. Otherwise each part of the penalty type is looked up in
    ``overrides`` (a department's configuration) and then in ``defaults``; unknown parts count as
    ``default_class``; the most severe part decides.
    """
    _check_class(default_class)
    given = parse_class(explicit)
    if given is not None:
        return given
    table: dict[str, str] = {_clean(k): _check_class(v) for k, v in defaults.items()}
    if overrides:
        table.update({_clean(k): _check_class(v) for k, v in overrides.items()})
    parts = split_penalty_types(penalty_type)
    if not parts:
        return default_class
    return max((_class_of_part(p, table, default_class) for p in parts), key=_rank)


def add_months(d: date, n: int) -> date:
    """``d`` plus ``n`` calendar months; a day past the target month's end becomes its last day."""
    index = d.year * 12 + (d.month - 1) + n
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if not 1 <= year <= 9999:
        raise ValueError(f"日期超出范围：{d.isoformat()} 加 {n} 个月")
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last))


def publication_window(
    cls: str, decision_date: date, requested_until: date | None
) -> tuple[date | None, date | None]:
    """The publication window of a penalty of class ``cls`` decided on ``decision_date``.

    轻微: not published. 一般 and 严重: from the decision date; a requested 公示截止期 is raised to
    the class minimum and capped at its maximum; without one, the default period applies.
    """
    _check_class(cls)
    if MAX_MONTHS[cls] == 0:
        return (None, None)
    lowest = add_months(decision_date, MIN_MONTHS[cls])
    highest = add_months(decision_date, MAX_MONTHS[cls])
    if requested_until is None:
        return (decision_date, add_months(decision_date, DEFAULT_MONTHS[cls]))
    return (decision_date, min(max(requested_until, lowest), highest))


def fixed_window(start: date, months: int) -> tuple[date, date]:
    """A window of ``months`` months from ``start`` (e.g. 失信被执行人: 24 months from publication)."""
    if months < 0:
        raise ValueError(f"公示期月数不能为负数（收到 {months}）")
    return (start, add_months(start, months))


def validity_window(valid_from: date, valid_to: date | None) -> tuple[date, date | None]:
    """A window following a validity period (许可有效期); 长期 (no end, or 2099-12-31) has no end.

    The record stays public through its last valid day, so ``until`` is the day after ``valid_to``.
    """
    if valid_to is None or valid_to >= LONG_TERM:
        return (valid_from, None)
    if valid_to < valid_from:
        raise ValueError(f"有效期至（{valid_to.isoformat()}）早于有效期自（{valid_from.isoformat()}）")
    return (valid_from, date.fromordinal(valid_to.toordinal() + 1))


def permanent_window(start: date) -> tuple[date, None]:
    """Registration information stays public while the subject exists."""
    return (start, None)
