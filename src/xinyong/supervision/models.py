"""Graded supervision: inspector rosters, inspection plans, their reproducible draws and results, and 诚信约谈."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class Inspector(Base):
    """执法检查人员名录: one row per inspector of a department; conflicts to avoid in draws."""

    __tablename__ = "supervision_inspectors"
    __table_args__ = (UniqueConstraint("dept_id", "badge_no", name="uq_supervision_inspectors_badge"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dept_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(100))
    badge_no: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # JSON arrays: unified codes of subjects the inspector must not inspect; region code prefixes likewise
    conflict_usccs: Mapped[str] = mapped_column(Text, default="[]")
    conflict_regions: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Plan(Base):
    __tablename__ = "supervision_plans"
    __table_args__ = (Index("ix_supervision_plans_dept", "dept_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_no: Mapped[str] = mapped_column(String(32), unique=True)
    dept_id: Mapped[int] = mapped_column(Integer)
    scheme: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    # JSON: {"items": [...], "regions": [...], "kinds": [...]}
    scope: Mapped[str] = mapped_column(Text, default="{}")
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    size: Mapped[int | None] = mapped_column(Integer)   # a total to draw instead of the scheme's ratios
    state: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    drawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    published_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)


class Draw(Base):
    """The stored inputs of a plan's draw, enough to recompute it: seed, population snapshot (compressed ids
    and strata) with its digest, allocation, roster snapshot, drawn subjects' regions; and the result digest."""

    __tablename__ = "supervision_draws"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer, unique=True)
    algorithm: Mapped[str] = mapped_column(String(32))
    seed: Mapped[str] = mapped_column(String(40))
    population_size: Mapped[int] = mapped_column(Integer)
    population_digest: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[bytes] = mapped_column(LargeBinary)
    inputs: Mapped[str] = mapped_column(Text)
    result_digest: Mapped[str] = mapped_column(String(64))
    drawn_by: Mapped[str] = mapped_column(String(100))
    drawn_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DrawItem(Base):
    __tablename__ = "supervision_draw_items"
    __table_args__ = (UniqueConstraint("plan_id", "subject_id", name="uq_supervision_draw_items_subject"),
                      Index("ix_supervision_draw_items_subject", "subject_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[int] = mapped_column(BigId)
    stratum: Mapped[str] = mapped_column(String(16))
    inspector_a: Mapped[int] = mapped_column(Integer)
    inspector_b: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    outcome_on: Mapped[date | None] = mapped_column(Date)
    record_id: Mapped[int | None] = mapped_column(BigId)


class Interview(Base):
    """诚信约谈 of a low-grade or listed subject, its outcome and any rectification commitment."""

    __tablename__ = "supervision_interviews"
    __table_args__ = (Index("ix_supervision_interviews_subject", "subject_id"),
                      Index("ix_supervision_interviews_dept", "dept_id", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interview_no: Mapped[str] = mapped_column(String(32), unique=True)
    dept_id: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[int] = mapped_column(BigId)
    grounds: Mapped[str] = mapped_column(String(200))      # why the subject qualifies (grade or list)
    reason: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    place: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    held_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(Text)
    rectification: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[date | None] = mapped_column(Date)
    rectified_on: Mapped[date | None] = mapped_column(Date)
    overdue_flagged_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
