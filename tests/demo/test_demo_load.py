"""The demo city through the real ingestion, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.demo.cli import run_demo, setup_accounts
from xinyong.demo.files import demo_items, write_files

ingest = pytest.importorskip("xinyong.ingest.service")


@pytest.fixture(autouse=True)
def _two_demo_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the operator and one department login: each user costs an argon2 hash, slow on purpose."""
    from xinyong.demo import cli

    monkeypatch.setattr(cli, "DEMO_USERS", cli.DEMO_USERS[:2])


def test_manifest_counts_match_ingestion_and_every_kind_and_item_loads(db: Session, tmp_path: Path) -> None:
    from xinyong.records.models import Record
    from xinyong.subjects.models import Subject

    setup_accounts(db)
    db.commit()
    today = date.today()
    manifest = write_files(tmp_path, subjects=150, seed=5, today=today, dirty=0.3)
    assert manifest["expected_rejected"] > 0
    assert any(f["format"] == "xlsx" for f in manifest["files"])
    for entry in manifest["files"]:
        result = ingest.ingest_file(db, tmp_path / entry["file"], entry["item"], entry["dept"],
                                    file_name=entry["file"], today=today)  # fmt: skip
        db.commit()
        got = (result.rows, result.rejected, result.accepted + result.duplicates)
        want = (entry["rows"], entry["expected_rejected"], entry["rows"] - entry["expected_rejected"])
        assert got == want, (entry, [r.model_dump() for r in result.rejects[:5]])
        assert result.duplicates == 0, entry
    kinds = set(db.scalars(select(Subject.kind).distinct()))
    assert kinds == {"legal_person", "individual_business", "other_org", "natural_person"}
    assert set(db.scalars(select(Record.item_code).distinct())) == demo_items()


def test_run_demo_loads_and_a_second_run_adds_nothing(db: Session) -> None:
    from xinyong.accounts.models import Department, User
    from xinyong.records.models import Record

    console = Console(stderr=True, quiet=True)
    # A small city: the run's own path (accounts, load, summary) and idempotency, not volume.
    first = run_demo(subjects=12, seed=3, console=console, today=date.today())
    assert first["loaded"]["rejected"] == 0 and first["loaded"]["accepted"] > 0
    assert db.scalar(select(func.count()).select_from(Department)) >= 25
    assert {"admin", "scjg"} <= set(db.scalars(select(User.username)))
    records = db.scalar(select(func.count()).select_from(Record))
    assert records == first["summary"]["records"] > 0
    # the demo firm's account: registered against its registration record, approved, and able to log in
    from xinyong.accounts.models import SubjectAccount
    from xinyong.demo.departments import DEMO_FIRM_PASSWORD
    from xinyong.subject_accounts import service as subject_accounts

    firm = db.scalars(select(SubjectAccount).order_by(SubjectAccount.id)).first()  # then the financing firms
    assert firm is not None
    accounts = db.scalar(select(func.count()).select_from(SubjectAccount))
    assert firm.status == "active" and firm.activated_by == "demo"
    assert subject_accounts.authenticate(db, firm.uscc, DEMO_FIRM_PASSWORD, address="127.0.0.1").id == firm.id
    db.rollback()
    second = run_demo(subjects=12, seed=3, console=console, today=date.today())
    assert second["loaded"]["accepted"] == 0
    assert db.scalar(select(func.count()).select_from(Record)) == records
    assert db.scalar(select(func.count()).select_from(SubjectAccount)) == accounts
