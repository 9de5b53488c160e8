"""The change feed: `GET /api/v1/feed?cursor=…&limit=…` → every change inside a partner's scope, in a stable order,
with an opaque signed cursor to resume from.

Ingest pays nothing for it. Three streams, each in the order of an id that only grows:
- new records (`records.id`): a new version of a decision (correction) carries the same `key` (record_key), so
  the partner's copy, keyed by it, is replaced; a record no longer in force when read is a deletion of its key,
  and a superseded one is skipped (its newer version, further on, settles the key);
- record events (`record_events.id`, written by the rare services: objection, revocation, repair, end of
  publication, expiry): each gives the record's state *now*, as an upsert or a deletion;
- list entry events (`list_entry_events.id`): an entry published now is an upsert, one that was published and is
  not any more (exited, revoked, suspended) a deletion.
Every change says what the record or entry is now, so applying the changes in order, repeats included, leaves
the partner's copy exact. A page reads the two event streams first (they are small), then new records.

Commits come out of id order on PostgreSQL (a long batch draws its ids, another commits later-numbered ones
first): the new-record stream stops at the horizon below which every id is final (`horizon`, from FeedMark), so a
cursor never passes a record still in flight. SQLite has one writer at a time: every visible id is final.
Known limit: the two event streams have no such horizon; an event committed after a later-numbered one (two
services changing records at the same moment) can be passed by a cursor.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections import namedtuple
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from xinyong.catalog.service import get_catalog
from xinyong.core import crypto
from xinyong.core.db import dialect_name
from xinyong.core.errors import DomainError
from xinyong.core.jobs import register_periodic
from xinyong.exchange.sharing import rules
from xinyong.exchange.sharing.models import FeedMark, Partner, PartnerScope
from xinyong.lists.models import ListEntry, ListEntryEvent
from xinyong.records.models import Record, RecordEvent
from xinyong.records.service import decode_payload, layout_fields, secrets_aad
from xinyong.subjects.models import Subject

# The most record ids one page looks through: a partner of a rare item still gets a page back promptly (maybe
# with no change in it, and a cursor further on), and the id range stays small enough that no plan (a bitmap scan
# and a sort, chosen on stale statistics after a bulk load) can make a page slow.
SCAN_PER_LIMIT = 4
MIN_SCAN = 20_000

EVENT_LABELS = {"expired": "publication_ended", "unpublish": "publication_ended", "revoked": "revoked",
                "repaired": "repaired", "objection": "objection", "active": "restored", "superseded": "corrected"}
LIST_LABELS = {"published": "list_entry", "exited": "list_exit", "revoked": "list_revoked",
               "suspended": "list_suspended", "expired": "list_exit"}


class BadCursor(DomainError):
    status = 400
    title = "游标无效"


# ---------------------------------------------------------------- cursors

def _sign(partner_id: int, body: str) -> str:
    return crypto.mac("session", f"xinyong-feed\x1f{partner_id}\x1f{body}")[:32]


def encode_cursor(partner_id: int, pos: rules.Position) -> str:
    body = rules.format_position(pos)
    return base64.urlsafe_b64encode(f"{body}~{_sign(partner_id, body)}".encode()).decode().rstrip("=")


def decode_cursor(partner_id: int, token: str | None) -> rules.Position:
    """The position a cursor this partner was given names; none → the beginning. Anything else → 400."""
    if token is None or token == "":
        return 0, 0, 0
    bad = BadCursor("游标无效：请使用上一次返回的 cursor 原样续读；从头读取请省略 cursor 参数")
    if len(token) > 200:
        raise bad
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise bad from None
    body, _, sig = text.partition("~")
    pos = rules.parse_position(body)
    if pos is None or not hmac.compare_digest(sig, _sign(partner_id, body)):
        raise bad
    return pos


# ---------------------------------------------------------------- scope

@dataclass
class Scope:
    items: dict[str, PartnerScope] = field(default_factory=dict)  # catalog items
    lists: dict[str, PartnerScope] = field(default_factory=dict)  # list types
    hidden: dict[str, frozenset[str]] = field(default_factory=dict)  # item → sensitive fields left out
    masked_only: dict[str, bool] = field(default_factory=dict)  # item → ID numbers masked (not clear)
    layouts: dict[int, tuple[str, ...]] = field(default_factory=dict)  # layout id → field names, for this read


def scope_of(session: Session, partner: Partner) -> Scope:
    catalog = get_catalog()
    scope = Scope()
    for s in session.scalars(select(PartnerScope).where(PartnerScope.partner_id == partner.id)):
        if s.kind == "list":
            scope.lists[s.item] = s
            continue
        item = catalog.find(s.item)
        if item is None:  # the item left the catalog: nothing of it is served
            continue
        scope.items[s.item] = s
        sensitive = frozenset(f.name for f in item.fields if f.sensitive)
        scope.hidden[s.item] = sensitive if s.id_numbers == "none" else frozenset()
        scope.masked_only[s.item] = s.id_numbers != "clear"
    return scope


# ---------------------------------------------------------------- changes

_RECORD_COLS = (Record.id, Record.record_key, Record.item_code, Record.state, Record.version, Record.supersedes_id,
                Record.decision_no, Record.decision_date, Record.severity, Record.publish_from,
                Record.publish_until, Record.layout_id, Record.payload, Record.secrets)


RecordRow = namedtuple("RecordRow", [c.key for c in _RECORD_COLS])  # type: ignore[misc]
_NEW_RECORDS_PG = (f"SELECT {', '.join(c.key for c in _RECORD_COLS)} FROM records "
                   "WHERE id > %s AND id <= %s AND item_code = ANY(%s) ORDER BY id LIMIT %s")


def _new_records(session: Session, after: int, end: int, items: Sequence[str], limit: int) -> list[Any]:
    """New records in id order. On PostgreSQL through the driver's cursor: the rows are plain values (psycopg
    returns dates as dates), and building ORM result rows would cost more than the rest of the feed."""
    if dialect_name(session) == "postgresql":
        cur = session.connection().connection.cursor()
        try:
            cur.execute(_NEW_RECORDS_PG, (after, end, list(items), limit))
            return [RecordRow._make(t) for t in cur.fetchall()]
        finally:
            cur.close()
    return list(session.execute(select(*_RECORD_COLS).where(Record.id > after, Record.id <= end,
                                                            Record.item_code.in_(items))
                                .order_by(Record.id).limit(limit)).all())


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def record_values(session: Session, scope: Scope, row: Any) -> dict[str, str]:
    fields = scope.layouts.get(row.layout_id)
    if fields is None:
        fields = scope.layouts[row.layout_id] = layout_fields(session, row.layout_id)
    values = decode_payload(fields, row.payload)
    hidden = scope.hidden.get(row.item_code)
    if hidden:
        for name in hidden:
            values.pop(name, None)
    elif not scope.masked_only.get(row.item_code, True) and row.secrets:
        values.update(orjson.loads(crypto.decrypt(row.secrets, secrets_aad(row.record_key, row.version))))
    return values


def _record_change(session: Session, scope: Scope, seq: str, row: Any, change: str, today: date) -> dict[str, Any]:
    # dates stay date objects: orjson writes them as YYYY-MM-DD
    if not rules.shareable(row.state, row.publish_from, row.publish_until, scope.items[row.item_code].level, today):
        ended = EVENT_LABELS.get(row.state, "publication_ended")
        return {"seq": seq, "type": "record", "key": row.record_key, "item": row.item_code, "record_id": row.id,
                "op": "delete", "change": ended if change in ("new", "corrected") else change}
    return {"seq": seq, "type": "record", "key": row.record_key, "item": row.item_code, "record_id": row.id,
            "op": "upsert", "change": change, "version": row.version, "state": row.state,
            "decision_no": row.decision_no, "decision_date": row.decision_date, "severity": row.severity,
            "publish_from": row.publish_from, "publish_until": row.publish_until,
            "values": record_values(session, scope, row)}


def _entry_change(seq: str, entry: ListEntry, subject: Subject | None, action: str,
                  id_numbers: str) -> dict[str, Any] | None:
    base: dict[str, Any] = {"seq": seq, "type": "list_entry", "key": f"list:{entry.id}", "item": entry.list_type,
                            "entry_id": entry.id}
    if entry.state == "published":
        base.update(op="upsert", change=LIST_LABELS.get(action, "list_entry"), kind=entry.kind,
                    subject_name=subject.name if subject else None,
                    uscc=subject.uscc if subject else None,
                    # a person's ID number only masked here (the clear one stays with the subject, sealed)
                    id_no_masked=subject.id_masked if subject and id_numbers != "none" else None,
                    decision_no=entry.decision_no, decision_date=_iso(entry.decision_date),
                    published_on=_iso(entry.published_on), term_end=_iso(entry.term_end))
        return base
    if entry.published_on is None:
        return None  # never in publication: the partner never had it
    base.update(op="delete", change=LIST_LABELS.get(entry.state, "list_exit"))
    return base


@dataclass
class FeedPage:
    changes: list[dict[str, Any]]
    position: rules.Position
    more: bool


def read_page(session: Session, partner: Partner, pos: rules.Position, limit: int, today: date,
              scope: Scope | None = None) -> FeedPage:
    final = horizon(session)  # first, before this transaction writes anything
    scope = scope or scope_of(session, partner)
    a, b, c = pos
    changes: list[dict[str, Any]] = []
    more = False
    items: Sequence[str] = tuple(scope.items)
    if items:
        rows = session.execute(select(RecordEvent.id.label("event_id"), RecordEvent.action, *_RECORD_COLS)
                               .join(Record, Record.id == RecordEvent.record_id)
                               .where(RecordEvent.id > b, Record.item_code.in_(items))
                               .order_by(RecordEvent.id).limit(limit)).all()
        for row in rows:
            b = row.event_id
            if row.state != "superseded":
                changes.append(_record_change(session, scope, f"e{row.event_id}", row,
                                              EVENT_LABELS.get(row.action, row.action), today))
        more = more or len(rows) == limit
    room = limit - len(changes)
    if scope.lists and room > 0:
        q = (select(ListEntryEvent.id, ListEntryEvent.action, ListEntry, Subject)
             .join(ListEntry, ListEntry.id == ListEntryEvent.entry_id)
             .outerjoin(Subject, Subject.id == ListEntry.subject_id)
             .where(ListEntryEvent.id > c, ListEntry.list_type.in_(tuple(scope.lists)))
             .order_by(ListEntryEvent.id).limit(room))
        lrows = session.execute(q).all()
        for event_id, action, entry, subject in lrows:
            c = event_id
            change = _entry_change(f"l{event_id}", entry, subject, action, scope.lists[entry.list_type].id_numbers)
            if change is not None:
                changes.append(change)
        more = more or len(lrows) == room
    room = limit - len(changes)
    if items and room > 0:
        top = min(session.scalar(select(func.max(Record.id))) or 0, final)
        end = max(a, min(top, a + max(MIN_SCAN, room * SCAN_PER_LIMIT)))
        new = _new_records(session, a, end, items, room)
        for rec in new:
            if rec.state != "superseded":
                changes.append(_record_change(session, scope, f"r{rec.id}", rec,
                                              "corrected" if rec.supersedes_id else "new", today))
        a = new[-1].id if len(new) == room else end
        more = more or a < top
    elif room <= 0:
        more = True
    return FeedPage(_first_of_each_key(changes), (a, b, c), more)


_SNAPSHOT = text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint % 4294967296, "
                 "pg_sequence_last_value(pg_get_serial_sequence('records', 'id')::regclass)")
# Writers in progress in this database (xids are cluster-wide; another database's work must not hold us back).
_IN_PROGRESS = text("SELECT backend_xid::text::bigint FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()")
_MARKS_LOOKED_AT = 200


def _precedes_or_is(a: int, b: int) -> bool:
    """32-bit transaction ids compare modulo 2**32 (as PostgreSQL's own TransactionIdPrecedesOrEquals)."""
    return ((a - b) % 2**32) == 0 or ((a - b) % 2**32) >= 2**31


def horizon(session: Session) -> int:
    """The highest record id below which no record can still appear. PostgreSQL: with no other writer of this
    database in progress, every visible id; otherwise the newest mark taken before every writer now in progress
    got its transaction id (ingest writes its batch row before it draws record ids). Leaves a mark for later
    reads and prunes the ones no longer needed."""
    if dialect_name(session) != "postgresql":
        return 2**63 - 1
    xmax, last = session.execute(_SNAPSHOT).one()
    in_progress = [int(x) for x in session.scalars(_IN_PROGRESS)]
    session.add(FeedMark(next_xid=int(xmax), last_id=int(last or 0)))
    if not in_progress:
        return 2**63 - 1
    for mark_id, mark_xmax, last_id in session.execute(
            select(FeedMark.id, FeedMark.next_xid, FeedMark.last_id).order_by(FeedMark.id.desc())
            .limit(_MARKS_LOOKED_AT)):
        if all(_precedes_or_is(mark_xmax, x) for x in in_progress):
            session.execute(delete(FeedMark).where(FeedMark.id < mark_id))
            return int(last_id)
    return 0


def mark(session: Session) -> int:
    """The periodic job: a mark every minute, so the horizon trails in-progress transactions by at most that."""
    horizon(session)
    return 1


register_periodic("exchange.feed_mark", 60.0, mark)


def _first_of_each_key(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every change of a page says what its record or entry is *now*, so repeats of a key in one page (an entry's
    notice and publication, a record's event and its row) are the same change: only the first is sent."""
    seen: set[str] = set()
    out = []
    for change in changes:
        if change["key"] not in seen:
            seen.add(change["key"])
            out.append(change)
    return out


def feed_body(changes: Sequence[Mapping[str, Any]], cursor: str, more: bool) -> bytes:
    return orjson.dumps({"changes": changes, "cursor": cursor, "more": more})
