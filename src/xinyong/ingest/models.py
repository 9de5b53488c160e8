"""Batches of department data and their rejected rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_dept_item", "dept_id", "item_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dept_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    item_code: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(300))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(Integer, default=0)
    # processing -> done; a refused file leaves no batch row behind (nothing is written).
    state: Mapped[str] = mapped_column(String(16), default="processing")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    superseded: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[str | None] = mapped_column(Text)  # JSON list of Chinese warnings
    columns: Mapped[str | None] = mapped_column(Text)  # JSON list of the file's original headers
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    seconds: Mapped[float | None] = mapped_column(Float)


class BatchReject(Base):
    __tablename__ = "batch_rejects"
    __table_args__ = (Index("ix_batch_rejects_batch", "batch_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(Integer)
    row: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)
    # JSON object of the original row (header -> raw value), sensitive values masked, for the reject report
    raw: Mapped[str | None] = mapped_column(Text)
