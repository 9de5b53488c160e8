"""The outbox: events for upstream platforms and other receivers, written in the caller's transaction and
delivered by the worker (`xinyong worker`), at least once, in order per record, idempotent on a stable key.

Any domain (exchange comes before cases, objections, repair, complaints, financing) writes with `enqueue`.
A later domain that owns its own kind of receiver (e.g. banks' webhooks) registers a deliverer for its target
prefix with `register_deliverer`; the worker calls it for due events of that target.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xinyong.exchange.models import OutboxEvent

# A deliverer gets the due events of its target (in id order) and returns, per event id, None (accepted),
# ("rejected", reason) or ("error", message) (to be retried with back-off).
Outcome = tuple[str, str] | None
Deliverer = Callable[[Session, list[OutboxEvent]], dict[int, Outcome]]

_deliverers: dict[str, Deliverer] = {}


def register_deliverer(prefix: str, fn: Deliverer) -> None:
    """Targets named `prefix` or `prefix:…` are delivered by `fn` (for targets that are not in
    config/exchange)."""
    _deliverers[prefix] = fn


def deliverer_for(target: str) -> Deliverer | None:
    return _deliverers.get(target) or _deliverers.get(target.split(":", 1)[0])


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_json_default)


def enqueue(session: Session, *, target: str, event_type: str, payload: dict[str, Any], key: str,
            record_key: str | None = None, dept_id: int | None = None, deadline: date | None = None) -> None:
    """Queue one event for `target`, in the caller's transaction. Idempotent on (`target`, `key`): a key
    already queued (in any state) is left as it is. Events with the same `record_key` are delivered in the
    order they were queued."""
    if not key or len(key) > 200:
        raise ValueError("outbox key must be 1..200 characters")
    pending = [o for o in session.new if isinstance(o, OutboxEvent) and o.target == target and o.key == key]
    if pending:
        return
    exists = session.scalar(select(OutboxEvent.id).where(OutboxEvent.target == target, OutboxEvent.key == key))
    if exists is not None:
        return
    event = OutboxEvent(target=target, event_type=event_type, key=key, record_key=record_key,
                        payload=dumps(payload), state="queued", attempts=0, dept_id=dept_id, deadline=deadline)
    try:
        with session.begin_nested():
            session.add(event)
    except IntegrityError:  # a concurrent transaction queued the same key first
        pass


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> int:
    """Bulk form for the worker's scans: rows with target, event_type, key, record_key, payload (str), dept_id,
    deadline, created_at, next_attempt_at. Keys already present are skipped. Returns how many were added."""
    if not rows:
        return 0
    by_target: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_target.setdefault(row["target"], []).append(row)
    fresh: list[dict[str, Any]] = []
    for target, group in by_target.items():
        keys = [r["key"] for r in group]
        have: set[str] = set()
        for i in range(0, len(keys), 500):
            have.update(session.scalars(select(OutboxEvent.key).where(OutboxEvent.target == target,
                                                                       OutboxEvent.key.in_(keys[i:i + 500]))))
        seen: set[str] = set()
        for r in group:
            if r["key"] in have or r["key"] in seen:
                continue
            seen.add(r["key"])
            fresh.append(r)
    if fresh:
        session.execute(insert(OutboxEvent), fresh)
    return len(fresh)
