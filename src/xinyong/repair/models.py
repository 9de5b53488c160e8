"""Repair applications."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class RepairApplication(Base):
    __tablename__ = "repair_applications"
    __table_args__ = (
        Index("ix_repair_applications_record", "record_id"),
        Index("ix_repair_applications_dept_state", "dept_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    query_hash: Mapped[str] = mapped_column(String(64))
    query_enc: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    record_id: Mapped[int] = mapped_column(BigId)
    subject_id: Mapped[int] = mapped_column(BigId)
    dept_id: Mapped[int] = mapped_column(Integer)  # the department that made the finding decides
    applicant_enc: Mapped[str] = mapped_column(Text)
    applicant_masked: Mapped[str] = mapped_column(String(100))
    statement: Mapped[str] = mapped_column(Text)  # how the conduct was corrected and obligations fulfilled
    commitment_id: Mapped[int | None] = mapped_column(BigId)
    # who filed it (access/filing.py): public, account (the organisation's own), counter (窗口代办), department
    filed_via: Mapped[str] = mapped_column(String(16), default="public", server_default="public")
    filed_by: Mapped[str | None] = mapped_column(String(100))
    filer_account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    submitted_on: Mapped[date] = mapped_column(Date)
    decide_due: Mapped[date] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_note: Mapped[str | None] = mapped_column(Text)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
