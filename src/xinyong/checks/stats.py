"""“应查必查” statistics from the check log: counts per department and matter type over a date range."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.checks import rules
from xinyong.checks.logbuffer import buffer
from xinyong.checks.models import CheckLog
from xinyong.core.errors import Refused

CST = ZoneInfo("Asia/Shanghai")
RESULT_KEYS = ("clean", "attention", "dishonest", "not_found", "ambiguous", "invalid")
MAX_DAYS = 3660


def _bounds(date_from: date | None, date_to: date | None, today: date) -> tuple[date, date, datetime, datetime]:
    date_to = date_to or today
    date_from = date_from or date_to.replace(day=1)
    if date_from > date_to:
        raise Refused(f"统计起始日期 {date_from} 晚于截止日期 {date_to}，请调换后重试")
    if (date_to - date_from).days > MAX_DAYS:
        raise Refused("统计区间不能超过10年，请缩小日期范围")
    # compare in UTC: that is how UtcDateTime stores (SQLite compares the stored text)
    start = datetime.combine(date_from, time.min, CST).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, CST).astimezone(UTC)
    return date_from, date_to, start, end


_DEPTS = text(
    "WITH RECURSIVE d(id) AS (SELECT min(dept_id) FROM check_logs UNION ALL "
    "SELECT (SELECT min(dept_id) FROM check_logs WHERE dept_id > d.id) FROM d WHERE d.id IS NOT NULL) "
    "SELECT id FROM d WHERE id IS NOT NULL")


def _logged_depts(session: Session) -> list[int]:
    """The distinct dept_id of the log, one index probe each (a loose index scan)."""
    return list(session.scalars(_DEPTS))


def check_stats(session: Session, dept: Department, date_from: date | None = None, date_to: date | None = None,
                today: date | None = None) -> dict[str, Any]:
    """Dates are local (Asia/Shanghai) and inclusive. The credit office sees every department; others their own."""
    buffer.flush()  # the log is written behind the requests; count what this process has answered so far
    date_from, date_to, start, end = _bounds(date_from, date_to, today or datetime.now(CST).date())
    c = CheckLog.__table__
    stmt = (select(c.c.dept_id, c.c.matter_type, c.c.result, func.count().label("n"))
            .where(c.c.at >= start, c.c.at < end)
            .group_by(c.c.dept_id, c.c.matter_type, c.c.result))
    if not dept.is_credit_office:
        stmt = stmt.where(c.c.dept_id == dept.id)
    else:  # every department that has checked: a range of ix_check_logs_dept_at each (there is no index on at alone)
        stmt = stmt.where(c.c.dept_id.in_(_logged_depts(session)))
    cells: dict[tuple[int, str], dict[str, Any]] = {}
    for row in session.execute(stmt):
        cell = cells.setdefault((row.dept_id, row.matter_type), {k: 0 for k in ("total", *RESULT_KEYS)})
        cell[row.result] = cell.get(row.result, 0) + row.n
        cell["total"] += row.n
    names = {d.id: d for d in session.scalars(select(Department).where(Department.id.in_({k[0] for k in cells})))}
    rows = []
    for (dept_id, matter_type), counts in sorted(cells.items(), key=lambda kv: (names[kv[0][0]].code if kv[0][0] in names else "", kv[0][1])):
        d = names.get(dept_id)
        rows.append({"dept_code": d.code if d else str(dept_id), "dept_name": d.name if d else "（已删除部门）",
                     "matter_type": matter_type, "matter_type_label": rules.MATTER_TYPES.get(matter_type, matter_type),
                     **counts})
    return {"from": date_from.isoformat(), "to": date_to.isoformat(), "scope": "all" if dept.is_credit_office else dept.code,
            "total": sum(r["total"] for r in rows), "rows": rows}
