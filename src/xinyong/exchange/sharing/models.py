"""Tables: partners, their keys (hashed) and scopes, the log of every read and its monthly counts.

The change feed needs no per-row table: new records are read by their monotonic id, and every later change of a
record or a list entry already writes an event (record_events, list_entry_events) — so ingest pays nothing. On
PostgreSQL a few marks (FeedMark) say how far those ids are final."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # department | bank | utility | platform | upstream (the provincial platform: it also sends data down)
    kind: Mapped[str] = mapped_column(String(16), default="department")
    purpose: Mapped[str] = mapped_column(Text, default="")
    # the department an upstream partner's data is ingested as (e.g. SHENG 省信用平台)
    dept_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    # the last day the partner's keys are valid (inclusive); none: no expiry
    expires_on: Mapped[date | None] = mapped_column(Date)
    rate_limit: Mapped[str] = mapped_column(String(64), default="600 per minute")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PartnerKey(Base):
    __tablename__ = "partner_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PartnerScope(Base):
    """One item a partner may read: a catalog item (records) or a list type (list entries)."""

    __tablename__ = "partner_scopes"
    __table_args__ = (UniqueConstraint("partner_id", "item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    item: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8), default="item")  # item | list
    # the highest disclosure level it may read: public | shared | authorised
    level: Mapped[str] = mapped_column(String(16), default="shared")
    # persons' ID numbers: none (left out) | masked | clear
    id_numbers: Mapped[str] = mapped_column(String(8), default="masked")


class PartnerRead(Base):
    """Every read by a partner: who, what, how many rows, for what purpose."""

    __tablename__ = "partner_reads"
    __table_args__ = (Index("ix_partner_reads_partner_at", "partner_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    partner_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(16))  # feed | export | inbound
    what: Mapped[str] = mapped_column(String(300))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    purpose: Mapped[str] = mapped_column(Text, default="")


class PartnerReadMonth(Base):
    __tablename__ = "partner_read_months"

    partner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # 2026-12
    reads: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(BigId, default=0)


class FeedMark(Base):
    """PostgreSQL only: the records id sequence's value at a moment, with the next transaction id then. Once every
    transaction older than `next_xid` has ended, no record with an id up to `last_id` can still appear, so the feed
    may pass it (sequence values are drawn before a writer commits, and commits come out of id order). Written by
    the feed and a periodic job, never by ingest."""

    __tablename__ = "feed_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_xid: Mapped[int] = mapped_column(BigInteger)
    last_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
