"""Credit commitments: who signed what text (kept verbatim with its hash), for which matter, and the outcome."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class Commitment(Base):
    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_subject", "subject_id"),
        Index("ix_commitments_record", "record_id"),
        Index("ix_commitments_acceptor", "acceptor_dept_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    commitment_no: Mapped[str] = mapped_column(String(32), unique=True)
    type_code: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigId)
    signer_name: Mapped[str] = mapped_column(String(100))
    signer_uscc: Mapped[str | None] = mapped_column(String(18))
    matter: Mapped[str] = mapped_column(String(1000))
    acceptor_dept_id: Mapped[int | None] = mapped_column(Integer)
    record_id: Mapped[int | None] = mapped_column(BigId)
    title: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    # who filed it (access/filing.py): public, account (the organisation's own), counter (窗口代办), department
    filed_via: Mapped[str] = mapped_column(String(16), default="public", server_default="public")
    filed_by: Mapped[str | None] = mapped_column(String(100))
    filer_account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    signed_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="signed")
    outcome_on: Mapped[date | None] = mapped_column(Date)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    outcome_dept_id: Mapped[int | None] = mapped_column(Integer)
    breach_record_id: Mapped[int | None] = mapped_column(BigId)
