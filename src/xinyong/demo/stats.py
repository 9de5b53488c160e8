"""The demo city's monitoring: snapshots for every month that has data, so every chart has its trend."""

from __future__ import annotations

from datetime import date, datetime

from rich.console import Console
from sqlalchemy import func, select

MAX_MONTHS = 36  # the history the demo shows at most


def build_stats(console: Console, *, today: date) -> int:
    """Build the snapshot of every month from the earliest dated data up to the demo's today (past months
    closed, the current one open). Returns the number of months built."""
    from xinyong.checks.models import CheckLog
    from xinyong.complaints.models import Complaint
    from xinyong.core.db import session_scope
    from xinyong.lists.models import ListEntry
    from xinyong.objections.models import Objection
    from xinyong.records.models import Record
    from xinyong.repair.models import RepairApplication
    from xinyong.stats import service
    from xinyong.stats.rules import month_of

    with session_scope() as session:
        firsts = [session.scalar(select(func.min(c))) for c in (
            Record.created_at, ListEntry.created_at, Objection.submitted_on, RepairApplication.submitted_on,
            Complaint.submitted_on, CheckLog.at)]
        days = [f.date() if isinstance(f, datetime) else f for f in firsts if f is not None]
        current = month_of(today)
        earliest = month_of(min(days)) if days else current
        oldest = current.shift(-(MAX_MONTHS - 1))
        month = earliest if earliest.first > oldest.first else oldest
        built = 0
        while month.first <= current.first:
            service.build_month(session, month.label, today=today, actor="demo", rebuild=True)
            built += 1
            month = month.shift(1)
    console.print(f"监测统计：已生成 {built} 个月的指标快照（{earliest.label if days else current.label} 起）。")
    return built
