"""The demo city through the real ingestion, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.demo.cli import run_demo, setup_accounts
from xinyong.demo.files import demo_items, write_files

ingest = pytest.importorskip("xinyong.ingest.service")


def test_manifest_counts_match_ingestion(db: Session, tmp_path: Path) -> None:
    setup_accounts(db)
    db.commit()
    today = date.today()
    manifest = write_files(tmp_path, subjects=150, seed=21, today=today, dirty=0.3)
    assert manifest["expected_rejected"] > 0
    for entry in manifest["files"]:
        result = ingest.ingest_file(db, tmp_path / entry["file"], entry["item"], entry["dept"],
                                    file_name=entry["file"], today=today)  # fmt: skip
        db.commit()
        got = (result.rows, result.rejected, result.accepted + result.duplicates)
        want = (entry["rows"], entry["expected_rejected"], entry["rows"] - entry["expected_rejected"])
        assert got == want, (entry, [r.model_dump() for r in result.rejects[:5]])
        assert result.duplicates == 0, entry


def test_load_small_city_has_every_kind_and_item(db: Session) -> None:
    from rich.console import Console

    from xinyong.accounts.models import Department, User
    from xinyong.records.models import Record
    from xinyong.subjects.models import Subject

    console = Console(stderr=True, quiet=True)
    first = run_demo(subjects=120, seed=3, console=console, today=date.today())
    assert first["loaded"]["rejected"] == 0
    kinds = set(db.scalars(select(Subject.kind).distinct()))
    assert kinds == {"legal_person", "individual_business", "other_org", "natural_person"}
    items = set(db.scalars(select(Record.item_code).distinct()))
    assert items == demo_items()
    assert db.scalar(select(func.count()).select_from(Department)) >= 25
    assert {"admin", "scjg"} <= set(db.scalars(select(User.username)))
    records = db.scalar(select(func.count()).select_from(Record))
    db.rollback()
    # A second run must not crash and adds no records.
    second = run_demo(subjects=120, seed=3, console=console, today=date.today())
    assert second["loaded"]["accepted"] == 0
    assert db.scalar(select(func.count()).select_from(Record)) == records
