"""Monthly snapshots of the indicators: what every page and the monthly report read, never the records table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class StatMonth(Base):
    """One month's build: open while the month runs (rebuilt daily), closed and frozen once built after it."""

    __tablename__ = "stat_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    state: Mapped[str] = mapped_column(String(8))                    # open | closed
    built_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    built_by: Mapped[str] = mapped_column(String(100))
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    rebuilds: Mapped[int] = mapped_column(Integer, default=0)
    # JSON: the headline figures of the public page (records, 双公示 this year, lists, repairs)
    headline: Mapped[str] = mapped_column(Text, default="{}")


class StatSnapshot(Base):
    """One indicator's value for one month and one group (city, a region, a department, an item, a type)."""

    __tablename__ = "stat_snapshots"
    __table_args__ = (Index("ix_stat_snapshots_month", "month", "indicator"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    indicator: Mapped[str] = mapped_column(String(64))
    grouping: Mapped[str] = mapped_column(String(8))   # city | region | dept | item | type
    key: Mapped[str] = mapped_column(String(64))       # "" for the city; a region, department or item code
    label: Mapped[str] = mapped_column(String(200))
    numerator: Mapped[float] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
