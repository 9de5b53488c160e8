"""The hot path of POST /checks: a check by unified code on one DBAPI connection, without the ORM.

The route calls try_check() on the event loop (no hop to the thread pool): one indexed query returns the
subject, its records in force and whether it is on any list, through a connection this thread keeps
checked out of the engine's pool (autocommit, so no BEGIN/COMMIT round-trips and no idle transaction).
Anything else falls back to the regular path (service.check_one in the thread pool, with a Session):
names, citizen IDs (audited), subjects on a list (lists, measures and tasks are written), a database error.
"""

from __future__ import annotations

import logging
import threading
from collections import namedtuple
from datetime import date
from typing import Any

from xinyong.accounts.models import Department
from xinyong.checks import service
from xinyong.core.db import Base, get_engine

log = logging.getLogger("xinyong.checks")

Row = namedtuple("Row", "id kind name uscc id_masked region_code status rid item_code decision_no decision_date "
                        "severity publish_from publish_until state version payload listed")
_local = threading.local()


def _sql(placeholder: str) -> str:
    listed = "0"
    if "list_entries" in Base.metadata.tables:
        listed = ("EXISTS (SELECT 1 FROM list_entries e WHERE e.subject_id = s.id "
                  f"AND e.state IN ({', '.join(repr(x) for x in service.LIVE_LIST_STATES)}))")
    # the list flag is computed once for the subject, not once per record row
    return ("SELECT s.id, s.kind, s.name, s.uscc, s.id_masked, s.region_code, s.status, r.id, r.item_code, "
            "r.decision_no, r.decision_date, r.severity, r.publish_from, r.publish_until, r.state, r.version, "
            "r.payload, s.listed FROM (SELECT id, kind, name, uscc, id_masked, region_code, status, "
            f"{listed} AS listed FROM subjects s WHERE uscc = {placeholder}) s "
            "LEFT JOIN records r ON r.subject_id = s.id AND r.state IN ('active', 'objection')")


def _connection() -> tuple[Any, str, bool]:
    engine = get_engine()
    if getattr(_local, "engine", None) is not engine:
        conn = engine.raw_connection()
        sqlite = engine.dialect.name == "sqlite"
        if not sqlite:
            conn.driver_connection.autocommit = True  # type: ignore[union-attr]
        _local.conn, _local.engine, _local.sqlite = conn, engine, sqlite
        _local.sql = _sql("?" if sqlite else "%s")
    return _local.conn, _local.sql, _local.sqlite


def _drop() -> None:
    conn = getattr(_local, "conn", None)
    _local.engine = None
    if conn is not None:
        try:
            conn.invalidate()
        except Exception:  # a broken connection may fail to close; it is gone either way
            pass


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def fetch(code: str) -> list[Row]:
    conn, sql, sqlite = _connection()
    cur = conn.cursor()
    try:
        cur.execute(sql, (code,))
        raw = cur.fetchall()
    finally:
        cur.close()
    if not sqlite:
        return [Row(*r) for r in raw]
    # SQLite hands back dates as text (SQLAlchemy converts them on the regular path)
    return [Row(*r[:10], _day(r[10]), r[11], _day(r[12]), _day(r[13]), *r[14:]) for r in raw]  # type: ignore[call-arg]


def try_check(dept: Department, subject: str, matter: str, matter_type: str, purpose: str,
              today: date | None = None) -> dict[str, Any] | None:
    """The answer, or None when the regular path must answer. Raises Refused on bad input."""
    query, matter, matter_type, purpose = service.prepare(subject, matter, matter_type, purpose)
    if query.kind != "uscc":
        return None
    try:
        rows = fetch(query.value)
    except Exception:
        log.warning("核查快速通道查询失败，改走常规通道", exc_info=True)
        _drop()
        return None
    if rows and rows[0].listed:
        return None
    return service.answer(None, rows, query, dept=dept, matter=matter, matter_type=matter_type, purpose=purpose,
                          today=today or date.today(), user_id=None)
