"""A NUL inside a value (PostgreSQL text cannot hold one): a CSV holding one is refused as binary; a JSON
file can carry one as an escape (\\u0000), which must neither be stored nor make the batch fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ingest_helpers import ORG_A, PENALTY_HEADERS, counts, penalty_row, write_csv
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.core.errors import Refused
from xinyong.ingest.models import BatchReject
from xinyong.records.models import Record


def test_a_csv_with_a_nul_byte_is_refused_as_binary(db: Session, ingest, tmp_path: Path) -> None:
    with pytest.raises(Refused, match="二进制"):
        ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row(name="德州\x00甲有限公司")]))
    assert counts(db)["records"] == 0


def test_nul_escapes_in_json_accepted_and_rejected_rows(db: Session, ingest, tmp_path: Path) -> None:
    good = dict(zip(PENALTY_HEADERS, penalty_row(name="德州\x00甲有限公司", no="N1"), strict=True))
    bad = dict(zip(PENALTY_HEADERS, penalty_row(name="德州\x00乙有限公司", uscc=ORG_A[:-1] + "\x00", no="N2"),
                   strict=True))
    path = tmp_path / "p.json"
    path.write_text(json.dumps([good, bad], ensure_ascii=False), encoding="utf-8")
    summary = ingest(path)
    assert (summary.accepted, summary.rejected) == (1, 1)
    payload = db.scalar(select(Record.payload))
    assert payload is not None and "\x00" not in payload and "德州甲有限公司" in payload
    rejects = db.scalars(select(BatchReject)).all()
    assert rejects and all("\x00" not in (r.value or "") + (r.raw or "") for r in rejects)
