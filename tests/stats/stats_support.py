"""Helpers for tests/stats: records and batches at chosen instants, without going through ingestion."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from xinyong.ingest.models import Batch, BatchReject
from xinyong.records.models import Record

_seq = count(1)


def at(day: date) -> datetime:
    """Noon, China time, of that day (as stored: UTC)."""
    return datetime.combine(day, time(4, 0), tzinfo=UTC)


def add_record(db: Session, *, dept_id: int, subject_id: int, item: str = "admin_penalty", day: date,
               late: bool = False, workdays: int | None = 3, state: str = "active", decision: date | None = None) -> Record:
    n = next(_seq)
    r = Record(subject_id=subject_id, item_code=item, dept_id=dept_id, record_key=f"{n:032x}", key64=n,
               content_hash=f"h{n:031d}", decision_no=f"德市监罚〔2026〕{n}号", decision_date=decision or day,
               state=state, late=late, report_workdays=workdays, layout_id=1, payload="[]", created_at=at(day))
    db.add(r)
    return r


def add_batch(db: Session, *, dept_id: int, item: str = "admin_penalty", day: date, rows: int, rejected: int = 0,
              duplicates: int = 0, reasons: list[tuple[str, str]] | None = None) -> Batch:
    b = Batch(dept_id=dept_id, item_code=item, file_name="f.csv", file_sha256="0" * 64, rows=rows,
              accepted=rows - rejected - duplicates, rejected=rejected, duplicates=duplicates, state="done",
              started_at=at(day))
    db.add(b)
    db.flush()
    for i, (field, reason) in enumerate(reasons or [], start=2):
        db.add(BatchReject(batch_id=b.id, row=i, field=field, reason=reason))
    return b


def snap(board: dict[str, Any], indicator: str) -> dict[str, Any]:
    return next(r for r in board["indicators"] if r["id"] == indicator)
