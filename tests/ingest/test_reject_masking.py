"""Clear citizen ID numbers never reach stored reject reasons or the logs, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import PENALTY_HEADERS, TODAY, penalty_row, write_csv
from sqlalchemy import select
from sqlalchemy.orm import Session

from upload_support import CLEAR_ID, MASKED_ID
from xinyong.core.identifiers import mask_id_numbers
from xinyong.core.logging import install_masking
from xinyong.ingest.models import BatchReject
from xinyong.ingest.service import ingest_file


def test_an_id_number_in_a_date_or_amount_column_is_masked_in_the_stored_reject(db: Session,
                                                                                 dept_key: tuple[str, str],
                                                                                 tmp_path: Path) -> None:
    rows = [penalty_row(decided=CLEAR_ID, no="N1"), penalty_row(amount=CLEAR_ID, no="N2"),
            penalty_row(decided=f"见{CLEAR_ID}号", no="N3")]
    path = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, rows)
    summary = ingest_file(db, path, "admin_penalty", "SCJG", today=TODAY)
    db.commit()
    assert summary.rejected == 3
    stored = db.execute(select(BatchReject.field, BatchReject.reason, BatchReject.value, BatchReject.raw)).all()
    assert len(stored) == 3
    for field, reason, value, raw in stored:
        for text in (field, reason, value, raw or ""):
            assert CLEAR_ID not in text
        assert MASKED_ID in reason, reason
        assert MASKED_ID in (value or "")
    raws = [json.loads(r.raw) for r in stored if r.raw]
    assert any(MASKED_ID in v for r in raws for v in r.values() if v)
    shown = [r.reason for r in summary.rejects]
    assert all(CLEAR_ID not in r for r in shown) and any(MASKED_ID in r for r in shown)


def test_a_refused_request_logs_its_detail_masked(client: Any, dept_key: tuple[str, str],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    headers = {"Authorization": f"Bearer {dept_key[1]}"}
    with caplog.at_level(logging.INFO, logger="xinyong"):
        resp = client.post("/api/v1/batches", headers=headers, data={"item": CLEAR_ID},
                           files={"file": ("a.csv", ",".join(PENALTY_HEADERS).encode(), "text/csv")})
        missing = client.get(f"/api/v1/objections/{CLEAR_ID}", headers=headers)
    assert resp.status_code == 404 and missing.status_code in (401, 403, 404, 405)
    assert "refused" in caplog.text and MASKED_ID in caplog.text
    assert CLEAR_ID not in caplog.text


def test_every_log_record_is_masked_with_its_arguments_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    install_masking()
    log = logging.getLogger("xinyong.test")
    with caplog.at_level(logging.INFO, logger="xinyong.test"):
        log.info("查询 %s 与 %s", CLEAR_ID, CLEAR_ID.lower())
        try:
            raise ValueError(f"bad {CLEAR_ID}")
        except ValueError:
            log.exception("failed for %s", "x")
    assert CLEAR_ID not in caplog.text and CLEAR_ID.lower() not in caplog.text
    assert caplog.text.count(MASKED_ID) >= 3
    assert "91371402MA3C5X0Q3H" == mask_id_numbers("91371402MA3C5X0Q3H")  # unified codes stay as they are
    assert mask_id_numbers(f"1{CLEAR_ID}") == f"1{CLEAR_ID}"  # part of a longer number: not an ID number
