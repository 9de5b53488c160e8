"""Records on the request path: one record at a time, visibility, state changes with events.

Payloads are positional (see Record.payload): written under a layout (layout_for) and read back through it
(payload_values, record_values). Ingest writes the same bytes in bulk (ingest/payload.py).
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Engine, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, object_session

from xinyong.access.actors import Actor
from xinyong.access.policy import may_read_record
from xinyong.accounts.models import Department
from xinyong.catalog.schemas import CatalogItem
from xinyong.catalog.service import get_catalog
from xinyong.core import audit, clock, crypto
from xinyong.core.db import engine_of, new_session, utcnow
from xinyong.core.errors import Forbidden, NotFound
from xinyong.core.identifiers import mask_citizen_id, normalize_code
from xinyong.records import rules
from xinyong.records.models import STATE_LABELS, PayloadLayout, Record, RecordDue, RecordEvent
from xinyong.subjects.models import Subject

SECRET_PURPOSE = "record_secret"
SECRET_HASH_HEX = 32  # hex digits of a keyed hash kept in secret_hashes: 128 bits, plenty to find a value


def secrets_json(pairs: Sequence[tuple[str, str]]) -> str:
    """The clear text sealed into Record.secrets: {field: value} in the given (catalog) order, compact.

    Ingest builds the same bytes in bulk (ingest/recordset.py)."""
    return json.dumps(dict(pairs), ensure_ascii=False, separators=(",", ":"))


def secrets_aad(record_key: str, version: int) -> str:
    """What binds Record.secrets to its row: the record's key and version (ingest seals with the same)."""
    return f"records.secrets|{record_key}|{version}"


def secret_hasher() -> Callable[[str], str]:
    """The keyed hash of a sensitive value as secret_hashes keeps it: SECRET_PURPOSE, cut to SECRET_HASH_HEX digits."""
    hasher = crypto.hasher(SECRET_PURPOSE)
    return lambda value: hasher(value)[:SECRET_HASH_HEX]


def secret_hashes_text(pairs: Sequence[tuple[str, str]], hash_of: Callable[[str], str] | None = None) -> str:
    """Record.secret_hashes: "field:hexhash field:hexhash", keyed hashes (secret_hasher), catalog order."""
    hash_of = hash_of or secret_hasher()
    return " ".join(f"{name}:{hash_of(value)}" for name, value in pairs)


def record_secrets(rec: Record) -> dict[str, str]:
    """The clear sensitive values of a record ({field: value}); empty when it has none.

    Only for authorised reads (an objection's correction, a court's request): the caller writes the audit
    event (action "record.secret_read", the fields, never the values)."""
    if not rec.secrets:
        return {}
    values: dict[str, str] = json.loads(crypto.decrypt(rec.secrets, secrets_aad(rec.record_key, rec.version)))
    return values


def find_records_by_secret(session: Session, value: str, field: str | None = None) -> list[Record]:
    """Records holding a sensitive value (e.g. an ID number), optionally only in one field; oldest first.

    Matches by keyed hash (`secret_hashes LIKE '%:<hash>%'`, the hash cut as stored): the value is hashed,
    never compared in clear. This is an unindexed scan of records, on purpose: such lookups are rare and
    audited (the caller records who looked and why, never the value), while an index on the hashes would
    cost every ingest.
    The value is tried as given and in the normalised form ingest stores for codes (NFKC, no spaces,
    upper case)."""
    hash_of = secret_hasher()
    hashes = sorted({hash_of(v) for v in {value.strip(), normalize_code(value)} if v})
    if not hashes:
        return []
    col = Record.secret_hashes
    if field is None:
        conds = [col.contains(f":{h}", autoescape=True) for h in hashes]
    else:
        conds = [c for h in hashes for c in (col.startswith(f"{field}:{h}", autoescape=True),
                                              col.contains(f" {field}:{h}", autoescape=True))]
    return list(session.scalars(select(Record).where(col.is_not(None), or_(*conds)).order_by(Record.id)))


# ---- payloads and their layouts -------------------------------------------------------------------


def payload_text(fields: Sequence[str], values: Mapping[str, Any]) -> str:
    """A positional payload: the values in `fields` order, null for an empty one, trailing nulls left out,
    compact, ensure_ascii=False. Ingest produces the same bytes (ingest/payload.py)."""
    out: list[str | None] = [None if values.get(n) in (None, "") else str(values[n]) for n in fields]
    while out and out[-1] is None:
        out.pop()
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def payload_json(item_code: str, values: Mapping[str, Any]) -> str:
    """The canonical payload of a new record: positional in the item's catalog field order (its layout)."""
    return payload_text(catalog_fields(get_catalog().get(item_code)), values)


def catalog_fields(item: CatalogItem) -> tuple[str, ...]:
    """The layout of the records written now: the item's full catalog field list."""
    return tuple(f.name for f in item.fields)


def decode_payload(fields: Sequence[str], payload: str) -> dict[str, str]:
    """{field: value} of a positional payload, non-empty values only, in layout order."""
    return {name: value for name, value in zip(fields, orjson.loads(payload), strict=False) if value is not None}


@dataclass
class _Layouts:
    ids: dict[tuple[str, str], int] = field(default_factory=dict)  # (item_code, fields JSON) -> id
    fields: dict[int, tuple[str, ...]] = field(default_factory=dict)  # id -> field names

    def add(self, layout_id: int, item_code: str, text: str) -> tuple[str, ...]:
        names = tuple(json.loads(text))
        self.ids[(item_code, text)] = layout_id
        self.fields[layout_id] = names
        return names


# Committed layouts, per database (engine): rows are immutable and never deleted, so entries stay true. A
# layout is cached only when read by a transaction that did not create one: what it read is committed then.
# Until the creating transaction commits, its rows are read again (a layout is created once per catalog
# change): a cached id must never name a row that was rolled back, with a savepoint or the transaction,
# since its id could be handed out again.
_committed: weakref.WeakKeyDictionary[Engine, _Layouts] = weakref.WeakKeyDictionary()
_committed_lock = threading.Lock()
_CREATED_IN = "xinyong.records.layout_created_in"  # session.info: the transaction that created a layout


def _known(engine: Engine) -> _Layouts:
    known = _committed.get(engine)
    if known is None:
        with _committed_lock:
            known = _committed.setdefault(engine, _Layouts())
    return known


def _remember(session: Session, layout_id: int, item_code: str, text: str) -> tuple[str, ...]:
    """Cache a layout row this session read, unless its transaction created layouts (then it may be its own)."""
    if session.info.get(_CREATED_IN) is session.get_transaction():
        return tuple(json.loads(text))
    return _known(engine_of(session)).add(layout_id, item_code, text)


def layout_for(session: Session, item: CatalogItem) -> int:
    """The id of the layout new records of `item` are written in (its catalog field list), created when new.

    Safe when two transactions create the same layout at once: INSERT ... ON CONFLICT DO NOTHING, then read
    (on PostgreSQL the second insert waits for the first transaction to end). Cached in-process."""
    text = json.dumps(list(catalog_fields(item)), ensure_ascii=False, separators=(",", ":"))
    found = _known(engine_of(session)).ids.get((item.code, text))
    if found is not None:
        return found
    lookup = select(PayloadLayout.id).where(PayloadLayout.item_code == item.code, PayloadLayout.fields == text)
    found = session.scalar(lookup)
    if found is None:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = (insert(PayloadLayout).values(item_code=item.code, fields=text, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["item_code", "fields"]).returning(PayloadLayout.id))
        found = session.scalar(stmt)
        if found is not None:
            session.info[_CREATED_IN] = session.get_transaction()
            return found
        found = session.scalar(lookup)  # another transaction created it meanwhile (and committed)
        if found is None:
            raise RuntimeError(f"无法建立信息项 {item.code} 的载荷布局")
    _remember(session, found, item.code, text)
    return found


def layout_fields(session: Session, layout_id: int) -> tuple[str, ...]:
    """The field names of a layout (cached)."""
    fields = _known(engine_of(session)).fields.get(layout_id)
    if fields is not None:
        return fields
    row = session.execute(select(PayloadLayout.item_code, PayloadLayout.fields)
                          .where(PayloadLayout.id == layout_id)).first()
    if row is None:
        raise RuntimeError(f"载荷布局 {layout_id} 不存在：数据库不完整，请从备份恢复")
    return _remember(session, layout_id, row.item_code, row.fields)


def payload_values(session: Session | None, layout_id: int, payload: str) -> dict[str, str]:
    """{field: value} of a stored payload, non-empty values only, in layout order. Without a session, an
    uncached layout is read with a short one of its own."""
    if session is None:
        with new_session() as own:
            return decode_payload(layout_fields(own, layout_id), payload)
    return decode_payload(layout_fields(session, layout_id), payload)


def record_values(rec: Record) -> dict[str, str]:
    """payload_values of an ORM record, through the session it belongs to."""
    return payload_values(object_session(rec), rec.layout_id, rec.payload)


def known_layout_fields(engine: Engine) -> Mapping[int, tuple[str, ...]]:
    """Every committed layout this process knows (id -> field names), for a caller reading many records at once
    (read it once, then index it; never queries)."""
    return _known(engine).fields


def remember_layouts(engine: Engine, rows: Iterable[tuple[int, str, str]]) -> None:
    """Cache committed layout rows (id, item_code, fields JSON) read by a caller without a session (ingest)."""
    known = _known(engine)
    for layout_id, item_code, text in rows:
        known.add(layout_id, item_code, text)


def forget_layouts() -> None:
    """Empty the in-process caches: only for a database whose tables were emptied under a running process
    (tests). Layout rows are never deleted otherwise."""
    with _committed_lock:
        _committed.clear()


def item_layouts(session: Session, item_code: str) -> dict[int, tuple[str, ...]]:
    """Every layout of an item (id -> fields), oldest first."""
    rows = session.execute(select(PayloadLayout.id, PayloadLayout.fields)
                           .where(PayloadLayout.item_code == item_code).order_by(PayloadLayout.id))
    return {layout_id: tuple(json.loads(text)) for layout_id, text in rows}


def earlier_keys(dept_id: int, item_code: str, subject_key_: str, values: Mapping[str, str],
                 layouts: Iterable[Sequence[str]]) -> list[str]:
    """The record keys a record without a decision number would have had under other (earlier) layouts.

    Such a record is identified by its content hash, which depends on the positions of the values: after a
    field was inserted into the item or the fields reordered, the same content gets another key. Under each
    layout that holds all of its values, it is looked for under the key it had there."""
    filled = set(values)
    out = []
    for fields in layouts:
        if filled <= set(fields):
            digest = rules.content_hash(item_code, payload_text(fields, values))
            out.append(rules.record_key(dept_id, item_code, None, subject_key_, digest))
    return out


def require_provider(session: Session, item: CatalogItem, dept: Department) -> None:
    """Refuse a department that is not one of the item's providers (catalog `providers`), naming them in Chinese.

    Called before anything is written, by every path that writes records of an item for a department."""
    if item.may_provide(dept.code, credit_office=bool(dept.is_credit_office)):
        return
    codes = item.providers.departments
    names = {c: n for c, n in session.execute(select(Department.code, Department.name).where(Department.code.in_(codes)))}
    shown = "、".join(f"{names[c]}（{c}）" if c in names else c for c in codes)
    office = "，或由信用办代为报送" if item.providers.credit_office else ""
    raise Forbidden(f"「{item.name}」只能由{shown}报送{office}；{dept.name}（{dept.code}）不是该信息项的提供部门，"
                    "本次未写入任何数据。如确属本部门职责，请联系信用办在目录配置中增加提供部门",
                    rule="catalog.provider", extra={"providers": list(codes)})


def subject_key(subject: Subject) -> str:
    return subject.uscc or subject.id_hash or str(subject.id)


def by_keys(keys: Sequence[str]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """WHERE conditions for the records named by these record keys: through the key64 index, and the full key
    to set aside another decision whose key64 happens to be equal."""
    if len(keys) == 1:
        return Record.key64 == rules.key64(keys[0]), Record.record_key == keys[0]
    return Record.key64.in_(sorted({rules.key64(k) for k in keys})), Record.record_key.in_(keys)


def add_record(session: Session, *, subject: Subject, item_code: str, dept_id: int, values: dict[str, Any],
               decision_no: str | None = None, decision_date: date | None = None, severity: str | None = None,
               publish_from: date | None = None, publish_until: date | None = None,
               batch_id: int | None = None, source_row: int | None = None, actor: str = "system") -> Record:
    """Add one record (request path). Sensitive fields are split off: masked in the payload, their clear
    values sealed in `secrets` with keyed hashes in `secret_hashes` (the same columns ingest fills)."""
    item = get_catalog().get(item_code)
    clear = dict(values)
    secrets: list[tuple[str, str]] = []
    for f in item.sensitive_fields():
        raw = clear.get(f.name)
        if raw:
            secrets.append((f.name, str(raw)))
            clear[f.name] = mask_citizen_id(str(raw))
    layout_id = layout_for(session, item)
    fields = catalog_fields(item)
    body = payload_text(fields, clear)
    digest = rules.content_hash(item_code, body)
    key = rules.record_key(dept_id, item_code, decision_no, subject_key(subject), digest)
    current = session.scalar(select(Record).where(*by_keys([key]), Record.state != "superseded")
                             .order_by(Record.version.desc()).limit(1))
    if current is None and not decision_no:
        earlier = [f for i, f in item_layouts(session, item_code).items() if i != layout_id]
        keys = earlier_keys(dept_id, item_code, subject_key(subject), decode_payload(fields, body), earlier)
        stored = session.scalar(select(Record).where(*by_keys(keys), Record.state != "superseded")
                                .order_by(Record.version.desc()).limit(1)) if keys else None
        if stored is not None:
            return stored  # the same content, stored before a catalog change moved its values
    if current is not None and (current.content_hash == digest or (
            current.layout_id != layout_id and record_values(current) == decode_payload(fields, body))):
        return current  # the same content; written before a catalog change, it differs only in the layout
    version = (current.version + 1) if current else 1
    rec = Record(subject_id=subject.id, item_code=item_code, dept_id=dept_id, batch_id=batch_id,
                 source_row=source_row, record_key=key, key64=rules.key64(key), content_hash=digest, decision_no=decision_no,
                 decision_date=decision_date, severity=severity, publish_from=publish_from,
                 publish_until=publish_until, state="active", layout_id=layout_id, payload=body,
                 secrets=crypto.encrypt(secrets_json(secrets), secrets_aad(key, version)) if secrets else None,
                 secret_hashes=secret_hashes_text(secrets) if secrets else None,
                 version=version, supersedes_id=current.id if current else None)
    session.add(rec)
    session.flush()
    note_due(session, [rec])
    if current is not None:
        _transition(session, current, "superseded", actor, f"被第 {rec.version} 版取代")
    audit.record(session, actor=actor, action="record.add", entity="record", entity_id=rec.id,
                 after={"item": item_code, "decision_no": decision_no, "version": rec.version})
    return rec


def note_due(session: Session, records: list[Record]) -> None:
    """Tell the daily end-of-publication job when these records' windows end (records.models.RecordDue)."""
    by_day: dict[date, list[int]] = {}
    for rec in records:
        if rec.publish_until is not None:
            by_day.setdefault(rec.publish_until, []).append(rec.id)
    for day, ids in by_day.items():
        session.add(RecordDue(due_on=day, ids=json.dumps(ids)))


def get_record(session: Session, record_id: int) -> Record:
    rec = session.get(Record, record_id)
    if rec is None:
        raise NotFound(f"信用记录 {record_id} 不存在，请核对记录编号")
    return rec


def readable_record(session: Session, record_id: int, viewer: Actor, today: date | None = None) -> Record:
    """The record, if this viewer may read it today (access.policy.may_read_record): the public reads through the
    public projection (published, public disclosure, inside its window). Anything else answers like a missing
    record, so ids cannot be walked to learn what is not public."""
    rec = session.get(Record, record_id) if 0 < record_id < 2**63 else None
    if rec is not None:
        today = today or clock.today()
        item = get_catalog().find(rec.item_code)
        disclosure = item.disclosure if item is not None else "authorised"
        if may_read_record(viewer, dept_id=rec.dept_id, subject_id=rec.subject_id,
                           public=rules.visible(rec.state, disclosure, rec.publish_from, rec.publish_until,
                                                "public", today),
                           shared=rules.visible(rec.state, disclosure, rec.publish_from, rec.publish_until,
                                                "department", today)):
            return rec
    raise NotFound(f"信用记录 {record_id} 不存在或未公开，请核对记录编号")


def _transition(session: Session, rec: Record, to_state: str, actor: str, note: str | None) -> None:
    session.add(RecordEvent(record_id=rec.id, actor=actor, action=to_state, from_state=rec.state,
                            to_state=to_state, note=note))
    before = rec.state
    rec.state = to_state
    audit.record(session, actor=actor, action=f"record.{to_state}", entity="record", entity_id=rec.id,
                 before={"state": before}, after={"state": to_state, "note": note})


def set_state(session: Session, record_id: int, to_state: str, *, actor: str, note: str | None = None) -> Record:
    rec = get_record(session, record_id)
    if rec.state != to_state:
        _transition(session, rec, to_state, actor, note)
    return rec


def end_publication(session: Session, record_id: int, on: date, *, actor: str, reason: str) -> Record:
    rec = get_record(session, record_id)
    rec.publish_until = min(rec.publish_until or on, on)
    note_due(session, [rec])
    session.add(RecordEvent(record_id=rec.id, actor=actor, action="unpublish", from_state=rec.state,
                            to_state=rec.state, note=reason))
    return rec


def records_of_subject(session: Session, subject_id: int, limit: int = 500) -> list[Record]:
    """Every current record of a subject, public or not (for the subject's own account), newest first."""
    return list(session.scalars(select(Record).where(Record.subject_id == subject_id, Record.state != "superseded")
                                .order_by(Record.decision_date.desc(), Record.id.desc()).limit(limit)))


def visible_records(session: Session, subject_id: int, audience: str = "public",
                    today: date | None = None) -> list[Record]:
    today = today or clock.today()
    catalog = get_catalog()
    rows = session.scalars(select(Record).where(Record.subject_id == subject_id,
                                                Record.state.in_(tuple(rules.VISIBLE_STATES)))
                           .order_by(Record.decision_date.desc(), Record.id.desc()))
    out = []
    for rec in rows:
        item = catalog.find(rec.item_code)
        if item is None:
            continue
        if rules.visible(rec.state, item.disclosure, rec.publish_from, rec.publish_until, audience, today):
            out.append(rec)
    return out


def record_out(rec: Record) -> dict[str, Any]:
    item = get_catalog().find(rec.item_code)
    values = record_values(rec)
    labelled = []
    if item is not None:
        for f in item.fields:
            if f.name in values:
                labelled.append({"field": f.name, "label": f.label, "value": values[f.name]})
    return {
        "id": rec.id,
        "item": rec.item_code,
        "item_name": item.name if item else rec.item_code,
        "category": item.category if item else None,
        "decision_no": rec.decision_no,
        "decision_date": rec.decision_date.isoformat() if rec.decision_date else None,
        "severity": rec.severity,
        "publish_from": rec.publish_from.isoformat() if rec.publish_from else None,
        "publish_until": rec.publish_until.isoformat() if rec.publish_until else None,
        "state": rec.state,
        "state_label": STATE_LABELS.get(rec.state, rec.state),
        "under_objection": rec.state == "objection",
        "version": rec.version,
        "values": values,
        "fields": labelled,
    }


def history(session: Session, record_id: int) -> list[RecordEvent]:
    return list(session.scalars(select(RecordEvent).where(RecordEvent.record_id == record_id).order_by(RecordEvent.id)))
