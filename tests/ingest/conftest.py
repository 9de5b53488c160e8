"""Fixtures for ingest tests: a providing department and an ingest call that commits like the CLI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from ingest_helpers import TODAY
from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.ingest.schemas import BatchSummary
from xinyong.ingest.service import ingest_file


@pytest.fixture
def dept(db: Session) -> str:
    accounts.add_department(db, "SCJG", "德州市市场监督管理局")
    db.commit()
    return "SCJG"


@pytest.fixture
def ingest(db: Session, dept: str) -> Callable[..., BatchSummary]:
    """Ingest and commit, as the CLI does; roll back on a refusal, as the CLI does."""

    def run(path: Path, item: str = "admin_penalty", dept_code: str = dept, today: date = TODAY) -> BatchSummary:
        try:
            summary = ingest_file(db, path, item, dept_code, today=today)
        except BaseException:
            db.rollback()
            raise
        db.commit()
        return summary

    return run
