"""问题数据 rules: kinds, states and the transitions between them (pure)."""

from __future__ import annotations

from typing import Final

KINDS: Final[dict[str, str]] = {
    "multi_name": "一码多主",
    "multi_code": "一主多码",
    "bad_code": "错码（校验码错误被退回）",
    "cancelled": "注销主体仍有记录",
    "silent": "逾期未报送",
}
# kinds that count in 重错码率 (the code is wrong, or one subject carries several codes / names)
CODE_KINDS: Final[frozenset[str]] = frozenset({"multi_name", "multi_code", "bad_code"})

STATES: Final[dict[str, str]] = {"open": "待整改", "notified": "已通知", "fixed": "已整改", "explained": "已说明"}
OPEN_STATES: Final[frozenset[str]] = frozenset({"open", "notified"})

TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "open": frozenset({"notified", "fixed", "explained"}),
    "notified": frozenset({"fixed", "explained"}),
    "fixed": frozenset({"open"}),  # found again by a later scan
    "explained": frozenset(),
}

DEFAULT_SILENT_WORKDAYS: Final = 10


def may_move(before: str, after: str) -> bool:
    return after in TRANSITIONS.get(before, frozenset())


def after_scan(state: str, found: bool) -> str:
    """The state a scan leaves an item in: still found keeps it (a fixed one reopens), gone closes it."""
    if found:
        return "open" if state == "fixed" else state
    return "fixed" if state in OPEN_STATES else state


def check_month(text: str) -> tuple[int, int] | None:
    """(year, month) of 'YYYY-MM', or None when malformed."""
    parts = text.split("-")
    if len(parts) != 2 or len(parts[0]) != 4 or len(parts[1]) != 2 or not (parts[0] + parts[1]).isdigit():
        return None
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12 or year < 1900:
        return None
    return year, month
