"""Complaints and tip-offs. The reporter's identity is stored encrypted; nothing in clear text."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_dept_state", "dept_id", "state"), Index("ix_complaints_state", "state"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    query_hash: Mapped[str] = mapped_column(String(64))
    query_enc: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    category: Mapped[str] = mapped_column(String(32))
    target_name: Mapped[str] = mapped_column(String(300))   # 被投诉举报对象
    target_code: Mapped[str | None] = mapped_column(String(18))
    subject_id: Mapped[int | None] = mapped_column(BigId)
    content: Mapped[str] = mapped_column(Text)
    reporter_enc: Mapped[str | None] = mapped_column(Text)  # AES-GCM of {"name", "contact"}; None when anonymous
    reporter_consents: Mapped[bool] = mapped_column(Boolean, default=False)
    dept_id: Mapped[int | None] = mapped_column(Integer)
    # who filed it (access/filing.py): public, account (the organisation's own), counter (窗口代办), department
    filed_via: Mapped[str] = mapped_column(String(16), default="public", server_default="public")
    filed_by: Mapped[str | None] = mapped_column(String(100))
    filer_account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    submitted_on: Mapped[date] = mapped_column(Date)
    assign_due: Mapped[date] = mapped_column(Date)
    assigned_on: Mapped[date | None] = mapped_column(Date)
    handle_due: Mapped[date | None] = mapped_column(Date)
    concluded_on: Mapped[date | None] = mapped_column(Date)
    result: Mapped[str | None] = mapped_column(Text)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
