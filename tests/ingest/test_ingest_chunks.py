"""A file read in many chunks gives the same subjects, identifiers, names and versions as one chunk.

The loader's reads see only what was committed before the batch, so what a batch wrote in an earlier
chunk must be remembered by the matcher and the record writer: these rows cross chunk borders on purpose.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_helpers import ORG_A, ORG_B, expected_grams, stored_grams, write_csv
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.catalog.schemas import CatalogItem
from xinyong.ingest import matching, recordset, service
from xinyong.records.models import Record
from xinyong.subjects.models import Subject, SubjectIdentifier, SubjectName

ITEM = "dishonest_judgment_debtor"  # takes organisations known only by an older code
HEADERS = ["被执行人姓名/名称", "被执行人类型", "统一社会信用代码", "组织机构代码", "案号", "执行法院", "发布时间",
           "被执行人的履行情况"]
ORG_CODE = "123456788"


def row(name: str, uscc: str, org: str, no: str, performance: str = "全部未履行") -> list[str]:
    return [name, "法人及非法人组织", uscc, org, no, "德州市中级人民法院", "2026-03-16", performance]


ROWS = [
    row("德州甲有限公司", ORG_A, "", "C1"),
    row("德州甲乙有限公司", ORG_A, ORG_CODE, "C2"),     # renamed; its organisation code is linked
    row("德州甲乙有限公司", ORG_A, "", "C1", "部分履行"),  # corrects C1 written chunks ago: a second version
    row("德州丙有限公司", ORG_A, "", "C3"),              # renamed again
    row("德州乙有限公司", ORG_B, "", "C5"),
    row("德州乙有限公司", ORG_B, "", "C5"),              # the same record again: a duplicate
]


@pytest.fixture(autouse=True)
def renaming(monkeypatch: pytest.MonkeyPatch) -> None:
    """These rows rename subjects across chunk borders on purpose: the court's item is made to rename here, so the
    matcher's memory of renames is tested (that only the registration item renames: test_ingest_providers.py)."""
    monkeypatch.setattr(CatalogItem, "renames_subjects", property(lambda self: True))


@pytest.fixture(params=["remembered", "forgotten"])
def memory(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """remembered: the batch remembers what it wrote; forgotten: it overflows its memory at once and reads
    its own rows back from the database instead (what a file of millions of rows does)."""
    if request.param == "forgotten":
        monkeypatch.setattr(matching, "SUBJECT_MEMORY", 1)
        monkeypatch.setattr(recordset, "RECORD_MEMORY", 1)
    return str(request.param)


@pytest.mark.parametrize("chunk_rows", [1, 3, 1000])
def test_chunk_borders_change_nothing(db: Session, ingest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      chunk_rows: int, memory: str) -> None:
    monkeypatch.setattr(service, "CHUNK_ROWS", chunk_rows)
    summary = ingest(write_csv(tmp_path / "p.csv", HEADERS, ROWS), item=ITEM)
    assert summary.rejects == []
    assert (summary.accepted, summary.duplicates, summary.superseded) == (5, 1, 1)

    subjects = db.scalars(select(Subject).order_by(Subject.id)).all()
    assert [(s.uscc, s.name) for s in subjects] == [(ORG_A, "德州丙有限公司"), (ORG_B, "德州乙有限公司")]
    first = subjects[0]
    # the search side table follows every rename, whichever chunk it happened in
    assert stored_grams(db) == expected_grams(db)
    assert ("丙有", first.id) in stored_grams(db) and ("甲乙", first.id) not in stored_grams(db)
    names = db.scalars(select(SubjectName.name).where(SubjectName.subject_id == first.id)
                       .order_by(SubjectName.id)).all()
    # A subject new to the database is created under its last name in its first chunk (the history
    # starts there), so how many earlier names it keeps depends on where the chunk ends.
    expected = {1: ["德州甲有限公司", "德州甲乙有限公司", "德州丙有限公司"], 3: ["德州甲乙有限公司", "德州丙有限公司"],
                1000: ["德州丙有限公司"]}
    assert names == expected[chunk_rows]
    ids = db.execute(select(SubjectIdentifier.scheme, SubjectIdentifier.value, SubjectIdentifier.subject_id)).all()
    assert [tuple(i) for i in ids] == [("org_code", ORG_CODE, first.id)]
    records = db.execute(select(Record.decision_no, Record.version, Record.state, Record.subject_id)
                         .order_by(Record.id)).all()
    assert [tuple(r) for r in records] == [
        ("C1", 1, "superseded", first.id), ("C2", 1, "active", first.id), ("C1", 2, "active", first.id),
        ("C3", 1, "active", first.id), ("C5", 1, "active", subjects[1].id)]


def test_an_older_code_linked_in_an_earlier_chunk_finds_its_subject(db: Session, ingest, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    memory: str) -> None:
    monkeypatch.setattr(service, "CHUNK_ROWS", 1)
    rows = [row("德州甲有限公司", "", ORG_CODE, "C1"),     # known only by its organisation code
            row("德州甲有限公司", ORG_A, ORG_CODE, "C2"),  # a USCC not stored yet: found by the code, and learned
            row("德州丙有限公司", "", ORG_CODE, "C3"),      # found by the code again; renamed
            row("德州丙有限公司", ORG_A, "", "C4")]         # found by the USCC it learned two chunks ago
    summary = ingest(write_csv(tmp_path / "p.csv", HEADERS, rows), item=ITEM)
    assert summary.rejects == [] and summary.accepted == 4
    subjects = db.scalars(select(Subject)).all()
    assert [(s.uscc, s.name) for s in subjects] == [(ORG_A, "德州丙有限公司")]
    assert set(db.scalars(select(Record.subject_id)).all()) == {subjects[0].id}
    later = ingest(write_csv(tmp_path / "q.csv", HEADERS, [row("德州丙有限公司", ORG_A, "", "C9")]), item=ITEM)
    assert later.accepted == 1 and len(db.scalars(select(Subject)).all()) == 1
    assert stored_grams(db) == expected_grams(db)


def test_a_later_batch_sees_what_an_earlier_one_committed(db: Session, ingest, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "CHUNK_ROWS", 2)
    ingest(write_csv(tmp_path / "a.csv", HEADERS, ROWS[:3]), item=ITEM)
    summary = ingest(write_csv(tmp_path / "b.csv", HEADERS, ROWS), item=ITEM)
    # C1 twice more, each time with other content than the version before it: two new versions.
    assert (summary.accepted, summary.duplicates, summary.superseded) == (4, 2, 2)
    assert len(db.scalars(select(Subject)).all()) == 2
    assert len(db.scalars(select(SubjectIdentifier)).all()) == 1
    assert stored_grams(db) == expected_grams(db)
