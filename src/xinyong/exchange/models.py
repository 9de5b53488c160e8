"""Tables of the exchange: the outbox of events for upstream platforms (and later domains' receivers), the
scan cursors of the worker, and the database leases that keep several workers from doing the same work."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class OutboxEvent(Base):
    """One event for one target. `key` is the stable idempotency key (unique per target): enqueuing the same
    key again is a no-op, and the receiver is told the key so that a redelivery makes no second copy.
    Events of one `record_key` are delivered in id order; a later one waits while an earlier one is undelivered.

    state: queued → delivered | rejected (the receiver's answer, with its reason) | dead (gave up after the
    target's dead-letter time; an operator replays it). Rejected rows go back to the providing department."""

    __tablename__ = "exchange_outbox"
    __table_args__ = (
        UniqueConstraint("target", "key", name="uq_exchange_outbox_target_key"),
        Index("ix_exchange_outbox_due", "target", "state", "id"),
        Index("ix_exchange_outbox_record", "target", "record_key", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    target: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    record_key: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # delivered (accepted or rejected)
    last_error: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)  # the receiver's reason for a rejection
    dept_id: Mapped[int | None] = mapped_column(BigId)  # the providing department (for rejected rows)
    deadline: Mapped[date | None] = mapped_column(Date)  # push deadline (双公示: 7 working days from decision)


class ExchangeCursor(Base):
    """How far a scan has come (e.g. the last record id queued upstream), so a worker resumes where it left."""

    __tablename__ = "exchange_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigId, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WorkerLease(Base):
    """A named piece of periodic work (a job, a target's delivery) held by one worker until `lease_until`."""

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_run: Mapped[datetime | None] = mapped_column(UtcDateTime)
