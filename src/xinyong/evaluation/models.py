"""Tables: evaluation runs (history), their results, the current grade per model and subject, and run leases."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class EvaluationRun(Base):
    """One run of one model: full (the whole population) or refresh (subjects whose facts changed)."""

    __tablename__ = "evaluation_runs"
    __table_args__ = (Index("ix_evaluation_runs_model", "model_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="full")  # full | refresh
    engine: Mapped[str] = mapped_column(String(16), default="polars")  # polars | spark
    as_of: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    subjects: Mapped[int] = mapped_column(Integer, default=0)
    grades: Mapped[str] = mapped_column(Text, default="{}")  # JSON grade → count (of the subjects evaluated)
    migrations: Mapped[str] = mapped_column(Text, default="[]")  # JSON [[from, to, count], …] vs current grades
    watermark: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the change marks the run saw (refresh)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class EvaluationResult(Base):
    """A subject's score in one run, with every indicator's contribution and the record ids it counted."""

    __tablename__ = "evaluation_results"
    __table_args__ = (
        Index("ix_evaluation_results_run_subject", "run_id", "subject_id"),
        Index("ix_evaluation_results_subject", "subject_id", "model_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int] = mapped_column(BigId)
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(8))
    override: Mapped[str | None] = mapped_column(String(64))  # the 直接判级 rule that set the grade, if any
    contributions: Mapped[str] = mapped_column(Text, default="{}")  # JSON indicator id → points (signed)
    facts: Mapped[str] = mapped_column(Text, default="{}")  # JSON indicator id → [record or entry ids]
    as_of: Mapped[date] = mapped_column(Date)


class EvaluationCurrent(Base):
    """The grade in force per (model, subject): switched in the run's transaction, so readers see whole runs."""

    __tablename__ = "evaluation_current"

    model_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    result_id: Mapped[int] = mapped_column(BigId)
    grade: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    as_of: Mapped[date] = mapped_column(Date)


Index("ix_evaluation_current_subject", EvaluationCurrent.subject_id)


class EvaluationLease(Base):
    """At most one run per model at a time: a row held (committed) while the run works, deleted at its end."""

    __tablename__ = "evaluation_leases"

    model_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
