"""问题数据: data-quality findings assigned to a department (一码多主, 一主多码, 错码, 注销主体, 未报送)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class QualityIssue(Base):
    """One finding of a kind for a department, identified by its key (a code, a name, a batch, ...).

    A scan updates what it finds again and closes (fixed) what it no longer finds; an explained item stays
    explained. State: open -> notified -> fixed / explained (quality_rules.TRANSITIONS)."""

    __tablename__ = "quality_issues"
    __table_args__ = (
        UniqueConstraint("kind", "dept_id", "key", name="uq_quality_issues_kind_dept_key"),
        Index("ix_quality_issues_dept_state", "dept_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    dept_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    key: Mapped[str] = mapped_column(String(300))
    item_code: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[int | None] = mapped_column(BigId)
    detail: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default="open")
    first_seen: Mapped[date] = mapped_column(Date)
    last_seen: Mapped[date] = mapped_column(Date)
    notified_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
