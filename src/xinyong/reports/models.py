"""Issued credit reports: what was issued, for whom, when, and the hash that lets anyone verify a copy."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_subject", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_no: Mapped[str | None] = mapped_column(String(32), unique=True)
    subject_id: Mapped[int] = mapped_column(BigInteger)
    # As printed on the report: the organisation's name, or a person's masked name and masked ID number.
    subject_name: Mapped[str] = mapped_column(String(300))
    subject_code: Mapped[str | None] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(String(16))  # public | department
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    valid_until: Mapped[date] = mapped_column(Date)
    # SHA-256 of the report's canonical content (what the verification code signs) and of the PDF bytes.
    content_sha256: Mapped[str] = mapped_column(String(64), default="")
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    verify_code: Mapped[str] = mapped_column(String(16), default="")
    # "k<key generation>.<HMAC>" under the report key over every field above, the PDF's SHA-256 included: the
    # stored hash a copy is compared with cannot be edited in the database without the key (reports.service).
    seal: Mapped[str | None] = mapped_column(String(80))
    requested_by: Mapped[str] = mapped_column(String(100))  # "public" or "dept:CODE"
    purpose: Mapped[str | None] = mapped_column(String(500))
