"""Records are looked up by key64 (64 bits of the record key), which two decisions may share: the full record key
keeps them apart, on the bulk path and the request path. Here every record key is given the same key64."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from ingest_helpers import ORG_A, ORG_B, PENALTY_HEADERS, penalty_row, write_csv
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.ingest import recordset, service
from xinyong.records import rules
from xinyong.records import service as records
from xinyong.records.models import Record
from xinyong.subjects.models import Subject

SHARED = -(2**63)  # the smallest BIGINT: the literal must survive both databases' list binding
RATING_HEADERS = ["纳税人名称", "统一社会信用代码", "评价年度", "纳税信用级别", "评价日期"]


@pytest.fixture(autouse=True)
def colliding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every record key gets the key64 SHARED: ingest's vectorised column, and rules.key64 for the rest."""
    monkeypatch.setattr(rules, "key64", lambda record_key: SHARED)
    monkeypatch.setattr(recordset, "key64", lambda record_key: SHARED)
    real = recordset.record_keys

    def shared(*args: object) -> pl.DataFrame:
        return real(*args).with_columns(pl.lit(SHARED, pl.Int64).alias("key64"))  # type: ignore[arg-type]

    monkeypatch.setattr(recordset, "record_keys", shared)


def _chain(db: Session) -> dict[tuple[str | None, int], tuple[str, int | None, int]]:
    """(decision number, version) -> (state, id of the version it supersedes, id)."""
    db.expire_all()
    return {(r.decision_no, r.version): (r.state, r.supersedes_id, r.id) for r in db.scalars(select(Record))}


@pytest.mark.parametrize("chunk_rows", [1, 1000])
@pytest.mark.parametrize("memory", ["remembered", "forgotten"])
def test_decisions_sharing_a_key64_stay_apart_and_a_correction_supersedes_only_its_own(
        db: Session, ingest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_rows: int, memory: str) -> None:
    monkeypatch.setattr(service, "CHUNK_ROWS", chunk_rows)
    if memory == "forgotten":  # the batch reads its own rows back by key64 instead of remembering them
        monkeypatch.setattr(recordset, "RECORD_MEMORY", 1)
    first = ingest(write_csv(tmp_path / "a.csv", PENALTY_HEADERS, [
        penalty_row(no="N1"), penalty_row(no="N2", uscc=ORG_B), penalty_row(no="N1", amount="2")]))
    assert (first.accepted, first.duplicates, first.superseded) == (3, 0, 1)
    stored = db.scalars(select(Record)).all()
    assert {r.key64 for r in stored} == {SHARED} and len({r.record_key for r in stored}) == 2
    chain = _chain(db)
    assert chain[("N1", 1)][0] == "superseded"
    assert chain[("N1", 2)][:2] == ("active", chain[("N1", 1)][2])
    assert chain[("N2", 1)][:2] == ("active", None)

    later = ingest(write_csv(tmp_path / "b.csv", PENALTY_HEADERS, [
        penalty_row(no="N2", uscc=ORG_B, amount="3"), penalty_row(no="N2", uscc=ORG_B, amount="4"),
        penalty_row(no="N1", amount="2")]))
    assert (later.accepted, later.duplicates, later.superseded) == (2, 1, 2)
    chain = _chain(db)
    assert [chain[("N2", v)][0] for v in (1, 2, 3)] == ["superseded", "superseded", "active"]
    assert chain[("N2", 2)][1] == chain[("N2", 1)][2] and chain[("N2", 3)][1] == chain[("N2", 2)][2]
    assert chain[("N1", 2)][0] == "active" and ("N1", 3) not in chain

    # the request path: a correction of N1 supersedes N1's version in force, not N2's (the newest of the key64)
    subject = db.scalars(select(Subject).where(Subject.uscc == ORG_A)).one()
    dept_id = db.scalars(select(Record.dept_id)).first()
    assert dept_id is not None
    corrected = records.add_record(db, subject=subject, item_code="admin_penalty", dept_id=dept_id, values={
        "subject_name": "德州甲有限公司", "uscc": ORG_A, "decision_no": "N1", "penalty_type": "警告"},
        decision_no="N1", decision_date=date(2026, 3, 16))
    db.commit()
    chain = _chain(db)
    assert (corrected.version, corrected.supersedes_id) == (3, chain[("N1", 2)][2])
    assert chain[("N1", 2)][0] == "superseded" and chain[("N2", 3)][0] == "active"


def test_rows_without_a_decision_number_are_not_taken_for_another_record_sharing_the_key64(
        db: Session, ingest, tmp_path: Path, catalog_with_field: Callable[..., None]) -> None:
    """After a catalog change such rows are looked for under their earlier keys: another record found by the
    same key64 does not make a new content a duplicate."""
    path = write_csv(tmp_path / "t.csv", RATING_HEADERS, [
        ["德州甲有限公司", ORG_A, "2025", "A", "2026-03-01"], ["德州乙有限公司", ORG_B, "2025", "D", "2026-03-01"]])
    assert ingest(path, item="tax_credit_rating").accepted == 2
    catalog_with_field("middle", "tax_credit_rating")
    again = ingest(path, item="tax_credit_rating")
    assert (again.accepted, again.duplicates) == (0, 2)
    other = ingest(write_csv(tmp_path / "u.csv", RATING_HEADERS, [["德州甲有限公司", ORG_A, "2025", "B", "2026-03-01"]]),
                   item="tax_credit_rating")
    assert (other.accepted, other.duplicates) == (1, 0)
    subject = db.scalars(select(Subject).where(Subject.uscc == ORG_B)).one()
    stored = db.scalars(select(Record).where(Record.subject_id == subject.id)).one()
    fresh = records.add_record(db, subject=subject, item_code="tax_credit_rating", dept_id=stored.dept_id, values={
        "subject_name": "德州乙有限公司", "uscc": ORG_B, "rating_year": "2025", "rating": "C",
        "rating_date": "2026-03-01"})  # another content on the request path: a record of its own
    same = records.add_record(db, subject=subject, item_code="tax_credit_rating", dept_id=stored.dept_id, values={
        "subject_name": "德州乙有限公司", "uscc": ORG_B, "rating_year": "2025", "rating": "D",
        "rating_date": "2026-03-01"})
    assert fresh.id != stored.id and fresh.supersedes_id is None
    assert same.id == stored.id
