"""Records on the request path: one record at a time, visibility, state changes with events."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from xinyong.catalog.service import get_catalog
from xinyong.core import audit, crypto
from xinyong.core.errors import NotFound
from xinyong.core.identifiers import mask_citizen_id, normalize_code
from xinyong.records import rules
from xinyong.records.models import STATE_LABELS, Record, RecordEvent
from xinyong.subjects.models import Subject

SECRET_PURPOSE = "record_secret"


def secrets_json(pairs: Sequence[tuple[str, str]]) -> str:
    """The clear text sealed into Record.secrets: {field: value} in the given (catalog) order, compact.

    Ingest builds the same bytes in bulk (ingest/recordset.py)."""
    return json.dumps(dict(pairs), ensure_ascii=False, separators=(",", ":"))


def secret_hashes_text(pairs: Sequence[tuple[str, str]], hash_of: Callable[[str], str] | None = None) -> str:
    """Record.secret_hashes: "field:hexhash field:hexhash", keyed hashes (SECRET_PURPOSE), catalog order."""
    hash_of = hash_of or crypto.hasher(SECRET_PURPOSE)
    return " ".join(f"{name}:{hash_of(value)}" for name, value in pairs)


def record_secrets(rec: Record) -> dict[str, str]:
    """The clear sensitive values of a record ({field: value}); empty when it has none.

    Only for authorised reads (an objection's correction, a court's request): the caller writes the audit
    event (action "record.secret_read", the fields, never the values)."""
    if not rec.secrets:
        return {}
    values: dict[str, str] = json.loads(crypto.decrypt(rec.secrets))
    return values


def find_records_by_secret(session: Session, value: str, field: str | None = None) -> list[Record]:
    """Records holding a sensitive value (e.g. an ID number), optionally only in one field; oldest first.

    Matches by keyed hash (`secret_hashes LIKE '%:<hash>%'`): the value is hashed, never compared in
    clear. This is an unindexed scan of records, on purpose: such lookups are rare and audited (the caller
    records who looked and why, never the value), while an index on the hashes would cost every ingest.
    The value is tried as given and in the normalised form ingest stores for codes (NFKC, no spaces,
    upper case)."""
    hash_of = crypto.hasher(SECRET_PURPOSE)
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


def payload_json(item_code: str, values: dict[str, Any]) -> str:
    """Canonical payload: catalog field order, empty values left out, compact. Ingest produces the same bytes."""
    item = get_catalog().get(item_code)
    ordered = {f.name: str(values[f.name]) for f in item.fields
               if values.get(f.name) not in (None, "")}
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))


def subject_key(subject: Subject) -> str:
    return subject.uscc or subject.id_hash or str(subject.id)


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
    body = payload_json(item_code, clear)
    digest = rules.content_hash(item_code, body)
    key = rules.record_key(dept_id, item_code, decision_no, subject_key(subject), digest)
    current = session.scalar(select(Record).where(Record.record_key == key, Record.state != "superseded")
                             .order_by(Record.version.desc()).limit(1))
    if current is not None and current.content_hash == digest:
        return current
    rec = Record(subject_id=subject.id, item_code=item_code, dept_id=dept_id, batch_id=batch_id,
                 source_row=source_row, record_key=key, content_hash=digest, decision_no=decision_no,
                 decision_date=decision_date, severity=severity, publish_from=publish_from,
                 publish_until=publish_until, state="active", payload=body,
                 secrets=crypto.encrypt(secrets_json(secrets)) if secrets else None,
                 secret_hashes=secret_hashes_text(secrets) if secrets else None,
                 version=(current.version + 1) if current else 1, supersedes_id=current.id if current else None)
    session.add(rec)
    session.flush()
    if current is not None:
        _transition(session, current, "superseded", actor, f"被第 {rec.version} 版取代")
    audit.record(session, actor=actor, action="record.add", entity="record", entity_id=rec.id,
                 after={"item": item_code, "decision_no": decision_no, "version": rec.version})
    return rec


def get_record(session: Session, record_id: int) -> Record:
    rec = session.get(Record, record_id)
    if rec is None:
        raise NotFound(f"信用记录 {record_id} 不存在，请核对记录编号")
    return rec


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
    session.add(RecordEvent(record_id=rec.id, actor=actor, action="unpublish", from_state=rec.state,
                            to_state=rec.state, note=reason))
    return rec


def visible_records(session: Session, subject_id: int, audience: str = "public",
                    today: date | None = None) -> list[Record]:
    today = today or date.today()
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
    values = json.loads(rec.payload)
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
