"""The hot path of POST /checks: a check by unified code, answered as JSON bytes without the ORM.

One indexed statement returns the subject, its records in force and whether it is on any list; the answer is
built from the plain rows (dates stay ISO text; each record's positional payload is paired with its layout's
field names, which this process caches) and serialised with orjson. It is the same answer as service.answer() gives
(tests/checks/test_checks_admin.py compares them).

Where the statement runs:
- SQLite: on the event loop, on a DBAPI connection the loop thread keeps checked out of the engine's pool.
  A local SQLite query never waits on a socket, so a hop to the thread pool would only add cost.
- PostgreSQL: on a few autocommit psycopg AsyncConnections owned by the running event loop (PG_CONNECTIONS,
  opened on demand, prepared statement), so the loop serves other requests while the server answers. They
  are outside the engine's pool: each server process holds at most PG_CONNECTIONS more connections.
Anything else falls back to the regular path (service.check_one in the thread pool, with a Session): names,
citizen IDs (audited), natural persons (masked), subjects on a list (lists, measures and tasks are written),
and any database error here. A record's payload is positional: its layout's field names come from a
process-wide cache, filled here by a second small query the first time a layout is met.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import date
from typing import Any

import orjson

from xinyong.accounts.models import Department
from xinyong.checks import rules, service
from xinyong.checks.logbuffer import buffer, ids
from xinyong.core import clock
from xinyong.core.db import get_engine, utcnow
from xinyong.records.models import STATE_LABELS
from xinyong.records.service import known_layout_fields, remember_layouts

log = logging.getLogger("xinyong.checks")

PG_CONNECTIONS = 4
_local = threading.local()

# column positions in a row of _sql()
SID, KIND, NAME, USCC, ID_MASKED, REGION, STATUS, LISTED = range(8)
RID, ITEM, DECISION_NO, DECISION_DATE, SEVERITY, PUBLISH_FROM, PUBLISH_UNTIL, STATE, LAYOUT, PAYLOAD = range(8, 18)
GRADE = 18  # the subject's current grade (service.register_grade_provider), looked up once per subject


def _sql(dialect: str) -> str:
    pg = dialect == "postgresql"
    listed = ("EXISTS (SELECT 1 FROM list_entries e WHERE e.subject_id = s.id "
              f"AND e.state IN ({', '.join(repr(x) for x in service.LIVE_LIST_STATES)}))")

    def day(column: str) -> str:  # ISO text on both databases (SQLite stores dates as ISO text)
        return f"to_char(r.{column}, 'YYYY-MM-DD')" if pg else f"r.{column}"

    # the list flag is computed once for the subject, not once per record row
    return ("SELECT s.id, s.kind, s.name, s.uscc, s.id_masked, s.region_code, s.status, s.listed, r.id, "
            f"r.item_code, r.decision_no, {day('decision_date')}, r.severity, {day('publish_from')}, "
            f"{day('publish_until')}, r.state, r.layout_id, r.payload, s.grade FROM (SELECT id, kind, name, uscc, id_masked, "
            f"region_code, status, {listed} AS listed, {service.grade_sql('s.id')} AS grade FROM subjects s "
            f"WHERE uscc = {'%s' if pg else '?'}) s "
            f"LEFT JOIN records r ON r.subject_id = s.id AND r.state IN "
            f"({', '.join(repr(x) for x in sorted(rules.LIVE_STATES))})")


def _missing_layouts(engine: Any, rows: list[tuple[Any, ...]]) -> str | None:
    """SQL reading the layouts of these rows that the cache lacks (ids are integers: inlined), or None."""
    known = known_layout_fields(engine)
    missing = sorted({int(row[LAYOUT]) for row in rows if row[RID] is not None and row[LAYOUT] not in known})
    if not missing:
        return None
    return f"SELECT id, item_code, fields FROM payload_layouts WHERE id IN ({', '.join(map(str, missing))})"


# ---- the answer -------------------------------------------------------------------------------------


def dept_visible(state: str, disclosure: str, publish_from: str | None, publish_until: str | None,
                 today: str) -> bool:
    """records.rules.visible(..., "department", today) on ISO date text (tests compare the two)."""
    if state not in rules.LIVE_STATES or disclosure not in ("public", "shared"):
        return False
    if publish_from is None:
        return disclosure != "public"
    return publish_until is None or today < publish_until


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _sort_key(rec: dict[str, Any]) -> tuple[str, int]:
    return rec["decision_date"] or "", rec["id"]


def render(rows: list[tuple[Any, ...]], query: service.Query, *, engine: Any, dept: Department, matter: str,
           matter_type: str, purpose: str, today: date) -> bytes | None:
    """The answer as JSON bytes, logged; None when the regular path must answer (listed subject, person)."""
    if rows and (rows[0][LISTED] or rows[0][KIND] == "natural_person"):
        return None
    out: dict[str, Any] = {"check_id": 0, "subject": None, "candidates": [], "ambiguous": False, "records": [],
                           "lists": [], "measures": [], "reasons": [], "message": None, "evaluation": None}
    subject_id: int | None = None
    if not rows:
        result = "not_found"
        out["message"] = service.NOT_FOUND_MESSAGE
    else:
        first = rows[0]
        subject_id = first[SID]
        out["subject"] = service.subject_brief(service.SubjectRow(*first[:7]))
        out["evaluation"] = service.render_grade(first[GRADE])
        catalog = service.catalog()
        day = today.isoformat()
        records: list[dict[str, Any]] = []
        facts: list[rules.RecordFact] = []
        layouts = known_layout_fields(engine)
        for row in rows:
            if row[RID] is None:
                continue
            item = catalog.find(row[ITEM])
            state = row[STATE]
            if item is None or not dept_visible(state, item.disclosure, row[PUBLISH_FROM], row[PUBLISH_UNTIL], day):
                continue
            fields = layouts.get(row[LAYOUT])
            if fields is None:
                return None
            values = {name: value for name, value in zip(fields, orjson.loads(row[PAYLOAD]), strict=False)
                      if value is not None}
            records.append({
                "id": row[RID], "item": row[ITEM], "item_name": item.name, "category": item.category,
                "disclosure": item.disclosure, "decision_no": row[DECISION_NO], "decision_date": row[DECISION_DATE],
                "severity": row[SEVERITY], "publish_from": row[PUBLISH_FROM], "publish_until": row[PUBLISH_UNTIL],
                "state": state, "state_label": STATE_LABELS.get(state, state), "under_objection": state == "objection",
                "values": values,
            })
            if row[ITEM] in rules.WEIGHED_ITEMS:
                grade = values.get("rating") if row[ITEM] in rules.RATED_ITEMS else None
                facts.append(rules.RecordFact(row[ITEM], state, _day(row[PUBLISH_FROM]), _day(row[PUBLISH_UNTIL]),
                                              _day(row[DECISION_DATE]), grade))
        records.sort(key=_sort_key, reverse=True)
        out["records"] = records
        verdict = rules.classify(True, facts, (), today)
        result = verdict.result
        out["reasons"] = list(verdict.reasons)
    check_id = ids.next_id()
    out["check_id"] = check_id
    out["result"] = result
    out["result_label"] = rules.RESULT_LABELS[result]
    buffer.add((check_id, utcnow(), dept.id, None, matter, matter_type, purpose, subject_id, query.kind,
                query.ref(), result, None, None))
    return orjson.dumps(out)


# ---- SQLite, or any synchronous caller ---------------------------------------------------------------


def _connection() -> tuple[Any, str]:
    engine = get_engine()
    if getattr(_local, "engine", None) is not engine:
        conn = engine.raw_connection()
        # Held for the life of the thread: detach it so it never goes back to the pool (with autocommit on,
        # a pooled session would later fail on SAVEPOINT / server-side cursors).
        if engine.dialect.name != "sqlite":
            conn.driver_connection.autocommit = True  # type: ignore[union-attr]
        conn.detach()
        _local.conn, _local.engine, _local.sql = conn, engine, _sql(engine.dialect.name)
    return _local.conn, _local.sql


def _drop() -> None:
    conn = getattr(_local, "conn", None)
    _local.engine = None
    if conn is not None:
        try:
            conn.invalidate()
        except Exception:  # a broken connection may fail to close; it is gone either way
            pass


def fetch(code: str) -> list[tuple[Any, ...]]:
    conn, sql = _connection()
    cur = conn.cursor()
    try:
        cur.execute(sql, (code,))
        rows = list(cur.fetchall())
        layouts = _missing_layouts(_local.engine, rows)
        if layouts is not None:  # outside any transaction: committed rows, safe to cache
            cur.execute(layouts)
            remember_layouts(_local.engine, cur.fetchall())
        return rows
    finally:
        cur.close()


def check_json(dept: Department, subject: str, matter: str, matter_type: str, purpose: str,
               today: date | None = None) -> bytes | None:
    """The answer as JSON bytes, or None when the regular path must answer. Raises Refused on bad input."""
    query, matter, matter_type, purpose = service.prepare(subject, matter, matter_type, purpose)
    if query.kind != "uscc":
        return None
    try:
        rows = fetch(query.value)
    except Exception:
        log.warning("核查快速通道查询失败，改走常规通道", exc_info=True)
        _drop()
        return None
    return render(rows, query, engine=get_engine(), dept=dept, matter=matter, matter_type=matter_type, purpose=purpose,
                  today=today or clock.today())


def try_check(dept: Department, subject: str, matter: str, matter_type: str, purpose: str,
              today: date | None = None) -> dict[str, Any] | None:
    """check_json() as a dict (tests, callers in Python)."""
    data = check_json(dept, subject, matter, matter_type, purpose, today)
    return None if data is None else dict(orjson.loads(data))


# ---- PostgreSQL on the event loop ------------------------------------------------------------------


class _PgPool:
    """Up to `size` autocommit AsyncConnections of one event loop; a slot holds a connection or None (open one)."""

    def __init__(self, engine: Any, size: int) -> None:
        import psycopg

        self.engine = engine
        self.loop = asyncio.get_running_loop()
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        kwargs.pop("context", None)
        self._args, self._kwargs = args, kwargs
        self._connect_class = psycopg.AsyncConnection
        self.sql = _sql("postgresql")
        self.slots: asyncio.Queue[Any] = asyncio.Queue()
        for _ in range(size):
            self.slots.put_nowait(None)

    async def fetch(self, code: str) -> list[tuple[Any, ...]]:
        conn = await self.slots.get()
        try:
            if conn is None or conn.closed:
                conn = await self._connect_class.connect(*self._args, autocommit=True, **self._kwargs)
            cur = await conn.execute(self.sql, (code,), prepare=True)
            rows: list[tuple[Any, ...]] = await cur.fetchall()
            layouts = _missing_layouts(self.engine, rows)
            if layouts is not None:  # autocommit: committed rows, safe to cache
                remember_layouts(self.engine, await (await conn.execute(layouts)).fetchall())
        except BaseException:
            _close(conn)
            self.slots.put_nowait(None)
            raise
        self.slots.put_nowait(conn)
        return rows

    def close(self) -> None:
        while not self.slots.empty():
            _close(self.slots.get_nowait())


def _close(conn: Any) -> None:
    if conn is not None:
        try:
            conn.pgconn.finish()  # synchronous: the loop that owns it may be gone
        except Exception:
            pass


_pool: _PgPool | None = None


def _pg_pool(engine: Any) -> _PgPool:
    global _pool
    pool = _pool
    if pool is None or pool.engine is not engine or pool.loop is not asyncio.get_running_loop():
        if pool is not None:
            pool.close()
        pool = _pool = _PgPool(engine, PG_CONNECTIONS)
    return pool


async def check_json_async(dept: Department, subject: str, matter: str, matter_type: str, purpose: str,
                           today: date | None = None) -> bytes | None:
    """check_json() for the event loop: PostgreSQL's round-trip is awaited, not waited for."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        return check_json(dept, subject, matter, matter_type, purpose, today)
    query, matter, matter_type, purpose = service.prepare(subject, matter, matter_type, purpose)
    if query.kind != "uscc":
        return None
    try:
        rows = await _pg_pool(engine).fetch(query.value)
    except Exception:
        log.warning("核查快速通道查询失败，改走常规通道", exc_info=True)
        return None
    return render(rows, query, engine=engine, dept=dept, matter=matter, matter_type=matter_type, purpose=purpose,
                  today=today or clock.today())
