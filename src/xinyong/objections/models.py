"""Tables: objections, and what every due-process case shares — its timeline, attachments, idempotency keys —
plus the outbound sync outbox for the provincial and national platforms.

Repair applications and complaints (domains below this one) use the shared tables with their own case_type.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class Objection(Base):
    __tablename__ = "objections"
    __table_args__ = (
        Index("ix_objections_state", "state"),
        Index("ix_objections_record", "record_id"),
        Index("ix_objections_entry", "entry_id"),
        Index("ix_objections_provider", "provider_dept_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    query_hash: Mapped[str] = mapped_column(String(64))
    query_enc: Mapped[str] = mapped_column(String(200))  # returned again to a repeated (idempotent) submission
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    target_kind: Mapped[str] = mapped_column(String(8))  # record | entry
    record_id: Mapped[int | None] = mapped_column(BigId)
    entry_id: Mapped[int | None] = mapped_column(BigId)
    subject_id: Mapped[int] = mapped_column(BigId)
    provider_dept_id: Mapped[int] = mapped_column(Integer)
    # The applicant is often a natural person: name and contact encrypted, a masked name for display.
    applicant_enc: Mapped[str] = mapped_column(Text)
    applicant_masked: Mapped[str] = mapped_column(String(100))
    subject_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    requested: Mapped[str | None] = mapped_column(Text)
    # who filed it (accounts/filing.py): public, account (the organisation's own), counter (窗口代办), department
    filed_via: Mapped[str] = mapped_column(String(16), default="public", server_default="public")
    filed_by: Mapped[str | None] = mapped_column(String(100))
    filer_account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    submitted_on: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    decide_due: Mapped[date | None] = mapped_column(Date)
    forwarded_on: Mapped[date | None] = mapped_column(Date)
    answer_due: Mapped[date | None] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date)
    answer_text: Mapped[str | None] = mapped_column(Text)
    answer_suggests: Mapped[str | None] = mapped_column(String(16))
    decided_on: Mapped[date | None] = mapped_column(Date)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    new_record_id: Mapped[int | None] = mapped_column(BigId)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CaseEvent(Base):
    """A step on a case's timeline. `public` steps are what the applicant is told (shown with the query code)."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case", "case_type", "case_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_type: Mapped[str] = mapped_column(String(16))  # objection | repair | complaint
    case_id: Mapped[int] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)


class CaseAttachment(Base):
    """An uploaded file: stored under var/attachments by SHA-256, never in the database."""

    __tablename__ = "case_attachments"
    __table_args__ = (Index("ix_case_attachments_case", "case_type", "case_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_type: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int] = mapped_column(BigId)
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IdempotencyKey(Base):
    """A client's Idempotency-Key (or a form token): a repeated submission returns the case made the first time."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key_hash", name="uq_idempotency_keys_scope_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    body_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OutboundSync(Base):
    """Outbox for the provincial and national platforms (repairs, revocations, corrections). An external
    sync program delivers the rows and sets sent_at; delivery itself is not part of this platform."""

    __tablename__ = "outbound_sync"
    __table_args__ = (Index("ix_outbound_sync_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    target: Mapped[str] = mapped_column(String(16))  # provincial | national
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
