"""信易贷 tables: financial institutions, their users and keys, products, needs (and their events), grants and
the log of every bank view of a firm's credit information."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class Institution(Base):
    __tablename__ = "fi_institutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="bank")  # bank | guarantee | microloan
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # where post-loan change events go (checked public address); signed with the institution's webhook key
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BankUser(Base):
    __tablename__ = "fi_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("fi_institutions.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(24))  # product_manager | loan_officer
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BankKey(Base):
    """An institution's API key: only a keyed hash is stored; `prefix` finds the row."""

    __tablename__ = "fi_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("fi_institutions.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BankSession(Base):
    """Which bank user a login session (accounts.web_sessions row without user or account) belongs to."""

    __tablename__ = "fi_sessions"

    web_session_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("fi_users.id"), index=True)


class Product(Base):
    __tablename__ = "fi_products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("fi_institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    min_amount: Mapped[int] = mapped_column(BigId)      # yuan
    max_amount: Mapped[int] = mapped_column(BigId)
    min_term: Mapped[int] = mapped_column(Integer)      # months
    max_term: Mapped[int] = mapped_column(Integer)
    min_rate: Mapped[float] = mapped_column(Float)      # annual %, e.g. 3.45
    max_rate: Mapped[float] = mapped_column(Float)
    guarantee: Mapped[str] = mapped_column(String(16))  # credit | mortgage | guarantee | pledge
    regions: Mapped[str] = mapped_column(Text, default="")     # region codes, comma separated; empty: all
    industries: Mapped[str] = mapped_column(Text, default="")  # free labels, comma separated; empty: all
    rules: Mapped[str] = mapped_column(Text, default="")       # the eligibility condition as JSON; empty: none
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="published")  # draft | published | withdrawn
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Need(Base):
    __tablename__ = "fi_needs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(BigId, index=True)
    account_id: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigId)
    term: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))  # posted | directed
    product_id: Mapped[int | None] = mapped_column(Integer)
    institution_id: Mapped[int | None] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(16))
    posted_on: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    contacted_on: Mapped[date | None] = mapped_column(Date)  # the bank's first contact with the firm
    decided_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)  # disbursed, withdrawn or cancelled
    granted_amount: Mapped[int | None] = mapped_column(BigId)
    granted_rate: Mapped[float | None] = mapped_column(Float)
    granted_term: Mapped[int | None] = mapped_column(Integer)
    guarantee: Mapped[str | None] = mapped_column(String(16))
    refusal_reasons: Mapped[str | None] = mapped_column(Text)
    refusal_text: Mapped[str | None] = mapped_column(Text)
    disbursed_amount: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


Index("ix_fi_needs_state", Need.state)


class NeedEvent(Base):
    __tablename__ = "fi_need_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("fi_needs.id"), index=True)
    on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Grant(Base):
    __tablename__ = "fi_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(BigId, index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("fi_institutions.id"), index=True)
    need_id: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(16))  # need | monitoring
    scope: Mapped[str] = mapped_column(Text)  # catalog item codes, comma separated
    granted_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    revoked_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ViewLog(Base):
    """Every time a bank looked (or tried to look) at a firm's credit information."""

    __tablename__ = "fi_view_logs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_id: Mapped[int] = mapped_column(BigId, index=True)
    institution_id: Mapped[int] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    grant_id: Mapped[int | None] = mapped_column(Integer)
    what: Mapped[str] = mapped_column(String(16))  # report | pdf | public
    purpose: Mapped[str] = mapped_column(String(200))
    allowed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    report_no: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Cursor(Base):
    """How far the daily post-loan scan has read (records by id, list entries by publication day ordinal)."""

    __tablename__ = "fi_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigId, default=0)
