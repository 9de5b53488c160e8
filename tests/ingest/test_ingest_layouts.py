"""Ingest after a catalog change: stored records keep their layout, the same rows are still duplicates."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from ingest_helpers import ORG_A, ORG_B, PENALTY_HEADERS, PERSON_ID, penalty_row, write_csv
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.catalog.service import get_catalog
from xinyong.records import service as records
from xinyong.records.models import Record
from xinyong.subjects.models import Subject

RATING_HEADERS = ["纳税人名称", "统一社会信用代码", "评价年度", "纳税信用级别", "评价日期"]


def _values(db: Session) -> dict[tuple[str | None, int], tuple[int, dict[str, str]]]:
    return {(r.decision_no, r.version): (r.layout_id, records.record_values(r)) for r in db.scalars(select(Record))}


def test_payload_is_positional_and_decodes_to_the_values(db: Session, ingest, tmp_path: Path) -> None:
    ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row(rep_id=PERSON_ID, amount="")]))
    rec = db.scalars(select(Record)).one()
    fields = [f.name for f in get_catalog().get("admin_penalty").fields]
    assert isinstance(json.loads(rec.payload), list) and '"subject_name"' not in rec.payload
    values = records.record_values(rec)
    assert values["legal_rep_id_no"] == "110105********002X" and "fine_amount" not in values
    assert json.loads(rec.payload) == [values.get(n) for n in fields][:len(json.loads(rec.payload))]
    assert not rec.payload.endswith("null]")


@pytest.mark.parametrize("where", ["middle", "end"])
def test_resending_a_file_after_a_field_was_added_counts_duplicates(
        db: Session, ingest, tmp_path: Path, catalog_with_field: Callable[..., None], where: str) -> None:
    path = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [
        penalty_row(rep_id=PERSON_ID), penalty_row(no="N2", amount="2"), penalty_row(no="N3", uscc=ORG_B)])
    assert ingest(path).accepted == 3
    before = _values(db)
    catalog_with_field(where)
    again = ingest(path)
    assert (again.accepted, again.duplicates, again.superseded) == (0, 3, 0)
    changed = ingest(write_csv(tmp_path / "c.csv", PENALTY_HEADERS, [
        penalty_row(rep_id=PERSON_ID, amount="9"), penalty_row(no="N2", amount="2")]))
    assert (changed.accepted, changed.duplicates, changed.superseded) == (1, 1, 1)
    after = _values(db)
    assert {k: v for k, v in after.items() if k in before} == before  # decoded through the layouts they were written in
    layout, values = after[("德市监罚〔2026〕1号", 2)]
    assert layout != before[("德市监罚〔2026〕1号", 1)][0]
    assert values == {**before[("德市监罚〔2026〕1号", 1)][1], "fine_amount": "9"}


@pytest.mark.parametrize("where", ["middle", "end"])
def test_rows_without_a_decision_number_stay_duplicates_after_a_catalog_change(
        db: Session, ingest, tmp_path: Path, catalog_with_field: Callable[..., None], where: str) -> None:
    """Their record key is made of the content hash, which moves with the positions of the values."""
    path = write_csv(tmp_path / "t.csv", RATING_HEADERS, [
        ["德州甲有限公司", ORG_A, "2025", "A", "2026-03-01"], ["德州乙有限公司", ORG_B, "2025", "D", "2026-03-01"]])
    assert ingest(path, item="tax_credit_rating").accepted == 2
    catalog_with_field(where, "tax_credit_rating")
    again = ingest(path, item="tax_credit_rating")
    assert (again.accepted, again.duplicates) == (0, 2)
    other = ingest(write_csv(tmp_path / "u.csv", RATING_HEADERS, [["德州甲有限公司", ORG_A, "2025", "B", "2026-03-01"]]),
                   item="tax_credit_rating")
    assert (other.accepted, other.duplicates) == (1, 0)  # another content is another record, as before
    subject = db.scalars(select(Subject).where(Subject.uscc == ORG_B)).one()
    stored = db.scalars(select(Record).where(Record.subject_id == subject.id)).one()
    same = records.add_record(db, subject=subject, item_code="tax_credit_rating", dept_id=stored.dept_id, values={
        "subject_name": "德州乙有限公司", "uscc": ORG_B, "rating_year": "2025", "rating": "D",
        "rating_date": "2026-03-01"})  # the request path finds it as well
    assert same.id == stored.id


def test_chunk_payloads_equal_the_request_path_for_absent_and_empty_columns() -> None:
    from xinyong.ingest.payload import LAST_VALUE, escape_columns, last_value_expr, payload_expr

    item = get_catalog().get("admin_penalty")
    frame = pl.DataFrame({"subject_name": ["甲", None, ""], "uscc": [None, None, None], "note": ["x\"y", None, None]},
                         schema={"subject_name": pl.String, "uscc": pl.String, "note": pl.String})
    present = set(frame.columns)
    out = escape_columns(frame, list(frame.columns)).with_columns(last_value_expr(item, present).alias(LAST_VALUE))
    got = out.with_columns(payload_expr(item, present).alias("payload")).get_column("payload").to_list()
    fields = [f.name for f in item.fields]
    assert got == [records.payload_text(fields, row) for row in frame.to_dicts()]
    assert got[1] == got[2] == "[]"
