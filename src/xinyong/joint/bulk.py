"""Set-based writes of dispatch tasks and outbox events: one statement per publication, whatever its size.

PostgreSQL: INSERT … SELECT FROM unnest(arrays) — a handful of parameters instead of thousands.
SQLite: INSERT … SELECT FROM json_each(:rows) with RETURNING (SQLite ≥ 3.35).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, bindparam, insert, text
from sqlalchemy.orm import Session

from xinyong.core.db import UtcDateTime, dialect_name
from xinyong.joint.models import OutboxEvent

_COLUMNS = ("entry_id, subject_id, measure_code, measure_type, dept_id, state, dispatched_on, due_date, "
            "created_via, feedback_late, created_at")

_PG_TASKS = text(f"""
    INSERT INTO joint_tasks ({_COLUMNS})
    SELECT :entry_id, :subject_id, m.code, m.mtype, m.dept, 'open', :today, :due, :via, false, :now
    FROM unnest(CAST(:codes AS text[]), CAST(:mtypes AS text[]), CAST(:depts AS integer[])) AS m(code, mtype, dept)
    ON CONFLICT (entry_id, measure_code, dept_id) DO NOTHING
    RETURNING id, dept_id, measure_code
""")
_SQLITE_TASKS = text(f"""
    INSERT INTO joint_tasks ({_COLUMNS})
    SELECT :entry_id, :subject_id, json_extract(value, '$[0]'), json_extract(value, '$[1]'),
           json_extract(value, '$[2]'), 'open', :today, :due, :via, 0, :now
    FROM json_each(:rows) WHERE true
    ON CONFLICT (entry_id, measure_code, dept_id) DO NOTHING
    RETURNING id, dept_id, measure_code
""")
_TYPES = (bindparam("today", type_=Date()), bindparam("due", type_=Date()), bindparam("now", type_=UtcDateTime()))


def insert_tasks(session: Session, *, entry_id: int, subject_id: int, tasks: list[tuple[str, str, int]],
                 today: date, due: date, now: datetime, via: str = "publish") -> list[tuple[int, int, str]]:
    """tasks: (measure_code, measure_type, dept_id). Returns (task id, dept id, measure code) of new tasks."""
    if not tasks:
        return []
    params: dict[str, Any] = {"entry_id": entry_id, "subject_id": subject_id, "today": today, "due": due,
                              "now": now, "via": via}
    if dialect_name(session) == "postgresql":
        stmt = _PG_TASKS.bindparams(*_TYPES)
        params.update(codes=[t[0] for t in tasks], mtypes=[t[1] for t in tasks], depts=[t[2] for t in tasks])
    else:
        stmt = _SQLITE_TASKS.bindparams(*_TYPES)
        params["rows"] = json.dumps(tasks)
    return [(int(r[0]), int(r[1]), str(r[2])) for r in session.execute(stmt, params)]


_PG_OUTBOX = text("""
    INSERT INTO joint_outbox (event_id, webhook_id, dept_id, event_type, payload, state, attempts, created_at,
                              next_attempt_at)
    SELECT e.event_id, e.webhook_id, e.dept_id, e.event_type, e.payload, 'pending', 0, :now, :now
    FROM unnest(CAST(:event_ids AS text[]), CAST(:webhook_ids AS integer[]), CAST(:dept_ids AS integer[]),
                CAST(:types AS text[]), CAST(:payloads AS text[])) AS e(event_id, webhook_id, dept_id, event_type, payload)
""").bindparams(bindparam("now", type_=UtcDateTime()))


def insert_outbox(session: Session, rows: list[dict[str, Any]], now: datetime) -> None:
    if not rows:
        return
    if dialect_name(session) == "postgresql":
        session.execute(_PG_OUTBOX, {"now": now, "event_ids": [r["event_id"] for r in rows],
                                     "webhook_ids": [r["webhook_id"] for r in rows],
                                     "dept_ids": [r["dept_id"] for r in rows],
                                     "types": [r["event_type"] for r in rows], "payloads": [r["payload"] for r in rows]})
    else:
        session.connection().execute(insert(OutboxEvent),
                                     [{**r, "state": "pending", "attempts": 0, "created_at": now,
                                       "next_attempt_at": now} for r in rows])
