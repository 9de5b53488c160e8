"""Fixtures for ingest tests: a providing department and an ingest call that commits like the CLI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from ingest_helpers import TODAY
from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.catalog.service import get_catalog
from xinyong.ingest.schemas import BatchSummary
from xinyong.ingest.service import ingest_file

# The providers the tests' items name (config/catalog providers): market regulation, the court, the tax bureau.
PROVIDERS = {"SCJG": "德州市市场监督管理局", "ZY": "德州市中级人民法院", "SW": "国家税务总局德州市税务局"}


def provider_of(item: str) -> str:
    """SCJG where it provides the item, else the item's first provider."""
    codes = get_catalog().get(item).providers.departments
    return "SCJG" if "SCJG" in codes else codes[0]


@pytest.fixture
def dept(db: Session) -> str:
    for code, name in PROVIDERS.items():
        accounts.add_department(db, code, name)
    db.commit()
    return "SCJG"


@pytest.fixture
def ingest(db: Session, dept: str) -> Callable[..., BatchSummary]:
    """Ingest and commit, as the CLI does; roll back on a refusal, as the CLI does."""

    def run(path: Path, item: str = "admin_penalty", dept_code: str | None = None,
            today: date = TODAY) -> BatchSummary:
        """Uploads as one of the item's providers unless dept_code says otherwise."""
        try:
            summary = ingest_file(db, path, item, dept_code or provider_of(item), today=today)
        except BaseException:
            db.rollback()
            raise
        db.commit()
        return summary

    return run
