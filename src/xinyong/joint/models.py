"""Tables: dispatch tasks (one per entry × measure × implementing department), their events and check links,
webhook receivers and the outbox of events to deliver to them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class JointTask(Base):
    __tablename__ = "joint_tasks"
    __table_args__ = (
        UniqueConstraint("entry_id", "measure_code", "dept_id", name="uq_joint_tasks_entry_measure_dept"),
        # the overdue scan: WHERE state = 'open' AND due_date < today
        Index("ix_joint_tasks_state_due", "state", "due_date"),
        Index("ix_joint_tasks_dept_state", "dept_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigId)
    subject_id: Mapped[int] = mapped_column(BigId)
    measure_code: Mapped[str] = mapped_column(String(64))
    measure_type: Mapped[str] = mapped_column(String(16))
    dept_id: Mapped[int] = mapped_column(Integer)
    # open → overdue (daily job) → feedback: pending | applied | not_applicable; suspended; lifted
    state: Mapped[str] = mapped_column(String(16), default="open")
    prev_state: Mapped[str | None] = mapped_column(String(16))  # where a suspended task returns to
    dispatched_on: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    created_via: Mapped[str] = mapped_column(String(16), default="publish")  # publish | check
    action: Mapped[str | None] = mapped_column(String(16))
    matter: Mapped[str | None] = mapped_column(String(500))
    applied_at: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    feedback_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    feedback_late: Mapped[bool] = mapped_column(Boolean, default=False)
    lifted_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class JointTaskEvent(Base):
    __tablename__ = "joint_task_events"
    __table_args__ = (Index("ix_joint_task_events_task", "task_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class JointTaskCheck(Base):
    """A credit check that found the listed subject and created or linked the task."""

    __tablename__ = "joint_task_checks"
    __table_args__ = (Index("ix_joint_task_checks_task", "task_id"), Index("ix_joint_task_checks_check", "check_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(BigId)
    check_id: Mapped[str] = mapped_column(String(64))
    dept_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Webhook(Base):
    __tablename__ = "joint_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dept_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret_enc: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OutboxEvent(Base):
    """One event for one receiver, written in the transaction of the change it reports."""

    __tablename__ = "joint_outbox"
    __table_args__ = (
        UniqueConstraint("event_id", "webhook_id", name="uq_joint_outbox_event_webhook"),
        Index("ix_joint_outbox_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))
    webhook_id: Mapped[int] = mapped_column(Integer)
    dept_id: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
