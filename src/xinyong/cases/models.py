"""Tables every due-process case shares — its timeline, attachments, idempotency keys. The outbound sync outbox
for the provincial and national platforms is `xinyong.exchange.models.OutboxEvent` (re-exported as OutboundSync).

Objections, repair applications and complaints use them with their own case_type.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow
from xinyong.exchange.models import OutboxEvent


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


# The outbox moved to the exchange domain (exchange/outbox.py: enqueue); the old name stays for callers.
OutboundSync = OutboxEvent
