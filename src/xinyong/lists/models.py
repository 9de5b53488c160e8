"""Tables: list entries, their events (who did what, when), and linked responsible persons."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class ListEntry(Base):
    __tablename__ = "list_entries"
    __table_args__ = (
        Index("ix_list_entries_subject", "subject_id"),
        Index("ix_list_entries_state_term", "state", "term_end"),
        Index("ix_list_entries_record", "record_id"),
        Index("ix_list_entries_type_state", "list_type", "state"),
        Index("ix_list_entries_decision", "list_type", "decision_no"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    list_type: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # red | black, copied from the list type at entry
    subject_id: Mapped[int] = mapped_column(BigId)
    initiator_dept_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    record_id: Mapped[int | None] = mapped_column(BigId)
    decision_no: Mapped[str] = mapped_column(String(200))
    decision_date: Mapped[date] = mapped_column(Date)
    facts: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text)
    term_end: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    notified_at: Mapped[date | None] = mapped_column(Date)
    notify_channel: Mapped[str | None] = mapped_column(String(100))
    published_on: Mapped[date | None] = mapped_column(Date)
    exited_on: Mapped[date | None] = mapped_column(Date)
    exit_reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="request")  # request | import
    batch_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ListEntryEvent(Base):
    __tablename__ = "list_entry_events"
    __table_args__ = (Index("ix_list_entry_events_entry", "entry_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class ListEntryPerson(Base):
    """A responsible person (法定代表人, 主要负责人, 直接责任人员): a natural-person subject, stored masked."""

    __tablename__ = "list_entry_persons"
    __table_args__ = (Index("ix_list_entry_persons_entry", "entry_id"), Index("ix_list_entry_persons_subject", "subject_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigId)
    subject_id: Mapped[int] = mapped_column(BigId)
    role: Mapped[str] = mapped_column(String(16))  # legal_rep | principal | direct
