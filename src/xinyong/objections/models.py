"""Tables: objections. What every due-process case shares (timeline, attachments, idempotency keys, the
outbound sync outbox) is in `xinyong.cases.models`."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text
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
    # who filed it (access/filing.py): public, account (the organisation's own), counter (窗口代办), department
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
