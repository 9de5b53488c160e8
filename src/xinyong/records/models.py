"""Credit records. Written in bulk by ingest (COPY / executemany), read per subject by the portal and checks.

The table is kept narrow and lightly indexed on purpose: index maintenance dominates bulk load time.
subject_id carries no foreign key for the same reason; ingest creates subjects in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow
from xinyong.subjects.models import ascii_key

# active: in force; objection: under an accepted objection (异议中); superseded: replaced by a newer
# version (更正); repaired: publication ended by credit repair; revoked: withdrawn; expired: window over.
RECORD_STATES = ("active", "objection", "superseded", "repaired", "revoked", "expired")
STATE_LABELS = {
    "active": "有效",
    "objection": "异议中",
    "superseded": "已更正",
    "repaired": "已修复",
    "revoked": "已撤销",
    "expired": "已届满",
}


class PayloadLayout(Base):
    """The field names a record payload's values stand for, in order: the item's catalog field list when the
    record was written. Immutable; records.service.layout_for gets or creates one, and caches both ways."""

    __tablename__ = "payload_layouts"
    __table_args__ = (UniqueConstraint("item_code", "fields"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_code: Mapped[str] = mapped_column(ascii_key(64))
    fields: Mapped[str] = mapped_column(Text)  # compact JSON array of field names
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_subject", "subject_id"),
        Index("ix_records_key64", "key64"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_id: Mapped[int] = mapped_column(BigId)
    item_code: Mapped[str] = mapped_column(ascii_key(64))
    dept_id: Mapped[int] = mapped_column(Integer)
    batch_id: Mapped[int | None] = mapped_column(Integer)
    source_row: Mapped[int | None] = mapped_column(Integer)
    # blake2b(dept, item, decision number) — with the department, identifies the decision across versions
    # The record's stable name (sealed secrets' associated data, audit digests, partners' feed and export keys);
    # not indexed.
    record_key: Mapped[str] = mapped_column(ascii_key(32))
    # The lookup key: records.rules.key64(record_key), the first 64 bits of the same digest as a signed
    # integer. Its index is smaller and cheaper for bulk loads than one on the text; not unique, so every
    # lookup by it also compares record_key.
    key64: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(32))
    decision_no: Mapped[str | None] = mapped_column(String(200))
    decision_date: Mapped[date | None] = mapped_column(Date)
    severity: Mapped[str | None] = mapped_column(String(8))
    publish_from: Mapped[date | None] = mapped_column(Date)
    publish_until: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(BigId)
    report_workdays: Mapped[int | None] = mapped_column(Integer)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    # Positional JSON array: the normalised values in the order of the layout's fields, null for an empty
    # value, trailing nulls left out (`[]` when none); sensitive fields hold only their masked form. Field
    # names are not repeated in every record: they cost ~40% of the bytes the server parses and indexes on
    # ingest. Read it through records.service.payload_values / record_values, never as a JSON object.
    layout_id: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Sensitive fields (证件号码 columns), set only when the record has any: `secrets` is the AES-GCM
    # ciphertext (core.crypto.encrypt) of the compact JSON object {field: clear value} in catalog order, for
    # the rare authorised read (records.service.record_secrets); `secret_hashes` is "field:hexhash …" (keyed
    # hashes, SECRET_PURPOSE, the first 32 hex digits = 128 bits of each, catalog order) for
    # records.service.find_records_by_secret. Neither is indexed: an index would cost every ingest, and
    # lookups by secret are rare and audited.
    secrets: Mapped[str | None] = mapped_column(Text)
    secret_hashes: Mapped[str | None] = mapped_column(Text)


class RecordDue(Base):
    """When records may leave publication: a small side table the daily end-of-publication job reads instead of
    an index on records.publish_until that every bulk load would maintain. One row per day and writer call:
    the ids (a compact JSON array) of active records whose window ends that day (publish_until, exclusive).
    Appended set-based by whoever writes a window (ingest per chunk, records.service); the job takes the rows
    that are due, and puts back the ids that may still need it (under objection, or a later window)."""

    __tablename__ = "record_due"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    due_on: Mapped[date] = mapped_column(Date)
    ids: Mapped[str] = mapped_column(Text)


class RecordEvent(Base):
    """What happened to a record after ingest: objection, correction, repair, revocation, expiry."""

    __tablename__ = "record_events"
    __table_args__ = (Index("ix_record_events_record", "record_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[int] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
