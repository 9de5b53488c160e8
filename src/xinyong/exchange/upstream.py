"""Upstream reporting: what the platform sends to the provincial and national platforms, found by scanning
committed rows by id cursor (never by per-row work on ingest's hot path).

Sources (each a cursor in `exchange_cursors`):
- `records`: 双公示 licences and penalties (catalog items with `dual_publicity`), in the national field codes
  of the catalog (XK_…, CF_…); a new version of a record travels as an update; push deadline = decision date
  + the item's timeliness (7 working days) (`kind` dual_publicity);
- `unpublish`: ends of publication, as deletions (`updates`; corrections, revocations and repairs are queued
  by objections and repair themselves through `outbox.enqueue`);
- `lists`: red and black list entries (published) and exits / revocations (`lists`);
- later domains add theirs with `register_source` (evaluation results: kind `evaluation`).

The cursor only moves past rows no running transaction can still precede: on PostgreSQL the scan reads in one
REPEATABLE READ snapshot and moves the cursor only when no other writing transaction was in progress at that
snapshot (ids are drawn before commit, so a running batch may commit ids below rows already visible); rows
above the cursor are read again next time and skipped by their idempotency keys. SQLite has one writer at a
time, which commits in id order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from xinyong.catalog.service import get_catalog
from xinyong.core.db import dialect_name, utcnow
from xinyong.exchange import outbox, rules
from xinyong.exchange.config import Target, get_targets
from xinyong.exchange.models import ExchangeCursor
from xinyong.lists.models import ListEntry, ListEntryEvent
from xinyong.records.models import Record, RecordEvent
from xinyong.records.service import payload_values
from xinyong.subjects.models import Subject


@dataclass(frozen=True)
class UpEvent:
    source_id: int  # the scanned row's id (the cursor)
    event_type: str
    key: str
    record_key: str | None
    payload: dict[str, Any]
    dept_id: int | None = None
    deadline: date | None = None


# fetch(session, after_id, limit) -> events of rows with id > after_id (ordered), and the last id read
Fetch = Callable[[Session, int, int], tuple[list[UpEvent], int]]


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # what a target must receive to get these: dual_publicity | updates | lists | evaluation
    fetch: Fetch


_sources: dict[str, Source] = {}


def register_source(name: str, kind: str, fetch: Fetch) -> None:
    """Let a later domain (e.g. evaluation results) feed upstream targets that receive `kind`."""
    _sources[name] = Source(name, kind, fetch)


# ---------------------------------------------------------------- built-in sources

def _record_fetch(session: Session, after: int, limit: int) -> tuple[list[UpEvent], int]:
    catalog = get_catalog()
    items = {i.code: i for i in catalog.list() if i.dual_publicity}
    if not items:
        return [], after
    codes = {code: {f.name: f.code for f in item.fields if f.code} for code, item in items.items()}
    rows = session.execute(
        select(Record.id, Record.item_code, Record.dept_id, Record.decision_no, Record.decision_date,
               Record.supersedes_id, Record.version, Record.layout_id, Record.payload, Record.publish_until)
        .where(Record.id > after).order_by(Record.id).limit(limit)).all()
    events: list[UpEvent] = []
    for r in rows:
        item = items.get(r.item_code)
        if item is None:
            continue
        values = payload_values(session, r.layout_id, r.payload)
        fields = {codes[r.item_code].get(name, name): value for name, value in values.items()}
        chain = r.supersedes_id or r.id
        deadline = (rules.push_deadline(r.decision_date, item.timeliness_workdays or rules.PUSH_WORKDAYS)
                    if r.decision_date else None)
        events.append(UpEvent(
            source_id=r.id, event_type=f"{item.dual_publicity}.{'update' if r.supersedes_id else 'insert'}",
            key=f"record:{r.id}", record_key=f"record:{chain}",
            payload={"op": "update" if r.supersedes_id else "insert", "dataset": item.dual_publicity,
                     "item": r.item_code, "record_id": r.id, "supersedes_id": r.supersedes_id,
                     "version": r.version, "decision_no": r.decision_no, "decision_date": r.decision_date,
                     "publish_until": r.publish_until, "fields": fields},
            dept_id=r.dept_id, deadline=deadline))
    return events, rows[-1].id if rows else after


def _unpublish_fetch(session: Session, after: int, limit: int) -> tuple[list[UpEvent], int]:
    rows = session.execute(select(RecordEvent.id, RecordEvent.record_id, RecordEvent.action, RecordEvent.note,
                                  RecordEvent.at)
                           .where(RecordEvent.id > after).order_by(RecordEvent.id).limit(limit)).all()
    wanted = [r for r in rows if r.action == "unpublish"]
    recs = {r.id: r for r in session.execute(
        select(Record.id, Record.item_code, Record.dept_id, Record.supersedes_id, Record.decision_no)
        .where(Record.id.in_([w.record_id for w in wanted])))} if wanted else {}
    dp = {i.code for i in get_catalog().list() if i.dual_publicity}
    events = []
    for w in wanted:
        rec = recs.get(w.record_id)
        if rec is None or rec.item_code not in dp:
            continue
        events.append(UpEvent(
            source_id=w.id, event_type="record.unpublished", key=f"unpublish:{w.id}",
            record_key=f"record:{rec.supersedes_id or rec.id}",
            payload={"op": "delete", "record_id": rec.id, "item": rec.item_code, "decision_no": rec.decision_no,
                     "reason": w.note or "公示期满", "at": w.at.isoformat()},
            dept_id=rec.dept_id))
    return events, rows[-1].id if rows else after


LIST_OPS = {"published": "insert", "exited": "delete", "revoked": "delete"}


def _list_fetch(session: Session, after: int, limit: int) -> tuple[list[UpEvent], int]:
    rows = session.execute(select(ListEntryEvent.id, ListEntryEvent.entry_id, ListEntryEvent.to_state,
                                  ListEntryEvent.note)
                           .where(ListEntryEvent.id > after).order_by(ListEntryEvent.id).limit(limit)).all()
    wanted = [r for r in rows if r.to_state in LIST_OPS]
    entries = {e.id: e for e in session.scalars(select(ListEntry).where(
        ListEntry.id.in_([w.entry_id for w in wanted])))} if wanted else {}
    subjects = {s.id: s for s in session.scalars(select(Subject).where(
        Subject.id.in_({e.subject_id for e in entries.values()})))} if entries else {}
    events = []
    for w in wanted:
        entry = entries.get(w.entry_id)
        if entry is None:
            continue
        subject = subjects.get(entry.subject_id)
        op = LIST_OPS[str(w.to_state)]
        events.append(UpEvent(
            source_id=w.id, event_type=f"list.{'entry' if op == 'insert' else 'exit'}", key=f"list:{w.id}",
            record_key=f"list:{entry.id}",
            payload={"op": op, "entry_id": entry.id, "list_type": entry.list_type, "kind": entry.kind,
                     "uscc": subject.uscc if subject else None,
                     "id_masked": subject.id_masked if subject else None,
                     "name": subject.name if subject else None, "decision_no": entry.decision_no,
                     "decision_date": entry.decision_date, "term_end": entry.term_end, "state": w.to_state,
                     "reason": w.note},
            dept_id=entry.initiator_dept_id))
    return events, rows[-1].id if rows else after


register_source("records", "dual_publicity", _record_fetch)
register_source("unpublish", "updates", _unpublish_fetch)
register_source("lists", "lists", _list_fetch)


# ---------------------------------------------------------------- the scan

def _quiet(session: Session) -> bool:
    """True when no other writing transaction was running at this transaction's snapshot (PostgreSQL)."""
    if dialect_name(session) != "postgresql":
        return True
    n = session.execute(text("SELECT count(*) FROM pg_snapshot_xip(pg_current_snapshot()) AS x "
                             "WHERE x <> coalesce(pg_current_xact_id_if_assigned(), '0'::xid8)")).scalar()
    return not n


def _cursor(session: Session, name: str) -> ExchangeCursor:
    cur = session.get(ExchangeCursor, name)
    if cur is None:
        cur = ExchangeCursor(name=name, position=0, updated_at=utcnow())
        session.add(cur)
        session.flush()
    return cur


def scan(session: Session, *, chunk: int = 20000, max_rows: int = 1_000_000,
         targets: dict[str, Target] | None = None) -> dict[str, int]:
    """Queue what the sources have new for every enabled target that receives it. The caller commits (one
    transaction: events and cursors together). Returns events queued per source."""
    if dialect_name(session) == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    targets = {c: t for c, t in (targets if targets is not None else get_targets()).items() if t.enabled}
    quiet = _quiet(session)
    queued: dict[str, int] = {}
    for source in list(_sources.values()):
        receivers = [t.code for t in targets.values() if source.kind in t.receives]
        cur = _cursor(session, f"upstream:{source.name}")
        if not receivers:
            continue
        position, read, added = cur.position, 0, 0
        while read < max_rows:
            events, last = source.fetch(session, position, chunk)
            if last == position:
                break
            read += chunk
            rows = [{"target": code, "event_type": e.event_type, "key": e.key, "record_key": e.record_key,
                     "payload": outbox.dumps(e.payload), "dept_id": e.dept_id, "deadline": e.deadline,
                     "state": "queued", "attempts": 0}
                    for e in events for code in receivers]
            added += outbox.enqueue_many(session, rows)
            position = last
        if quiet and position != cur.position:
            cur.position, cur.updated_at = position, utcnow()
        queued[source.name] = added
    return queued


def cursor_positions(session: Session) -> dict[str, int]:
    return {c.name: c.position for c in session.scalars(select(ExchangeCursor))}


