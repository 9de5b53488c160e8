"""Check log (应查必查 statistics), batch checks, and blocks of check ids.

The log never holds a clear ID number: a subject found is referenced by id; a query that found nothing is
kept as typed when it is a code or a name, and as a keyed hash when it is a citizen ID number.
dept_id carries no foreign key: the log is written in bulk behind the request (see checks/logbuffer.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow


class CheckLog(Base):
    __tablename__ = "check_logs"
    # One index besides the key, as every row written costs an entry in each (a batch writes 100,000 rows):
    # (dept_id, at) serves the statistics of one department, of all of them (checks/stats.py: one range per
    # department) and the rows of a batch check (its department and time, checks/batch.py).
    __table_args__ = (Index("ix_check_logs_dept_at", "dept_id", "at"),)

    # Allocated by the application from a block (checks/ids.py), so a check answers at once with its id.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                    autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    dept_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(Integer)
    matter: Mapped[str] = mapped_column(String(200))
    matter_type: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(500))
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    # How the subject was named: "uscc", "name", "citizen_id", "invalid"; and the query (hashed for IDs).
    query_kind: Mapped[str] = mapped_column(String(12))
    query_ref: Mapped[str] = mapped_column(String(200))
    # clean | attention | dishonest | not_found | ambiguous | invalid
    result: Mapped[str] = mapped_column(String(12))
    batch_id: Mapped[int | None] = mapped_column(BigInteger)
    seq: Mapped[int | None] = mapped_column(Integer)  # row number inside a batch


class BatchCheck(Base):
    __tablename__ = "batch_checks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    dept_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(Integer)
    matter: Mapped[str] = mapped_column(String(200))
    matter_type: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(500))
    file_name: Mapped[str | None] = mapped_column(String(300))
    total: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str] = mapped_column(Text, default="{}")  # JSON: result -> count
    seconds: Mapped[float | None] = mapped_column()


class CheckIdBlock(Base):
    """One row per block of 2**20 check ids taken by a process (or by one batch)."""

    __tablename__ = "check_id_blocks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    owner: Mapped[str] = mapped_column(String(64))
