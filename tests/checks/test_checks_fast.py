"""The hot path (checks/fast.py) against the regular one, and the bulk log writer."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import date, timedelta

from check_data import CLEAN, DEBTOR, PENALISED, city, dept
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.checks import batch, fast, service
from xinyong.checks.logbuffer import buffer
from xinyong.checks.models import CheckLog
from xinyong.records import rules as record_rules
from xinyong.records import service as records

TODAY = date.today()


def test_dept_visible_is_records_visible_on_iso_text() -> None:
    days = [None, TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=1)]
    for state, disclosure, start, until in itertools.product(
            ("active", "objection", "revoked", "expired"), ("public", "shared", "authorised"), days, days):
        expected = record_rules.visible(state, disclosure, start, until, "department", TODAY)
        got = fast.dept_visible(state, disclosure, start and start.isoformat(), until and until.isoformat(),
                                TODAY.isoformat())
        assert got == expected, (state, disclosure, start, until)


def test_fast_json_is_the_regular_answer_under_objection_too(db: Session) -> None:
    subjects = city(db)
    d = dept(db)
    rec = db.scalars(select(records.Record).where(records.Record.subject_id == subjects["debtor"].id)).first()
    assert rec is not None
    records.set_state(db, rec.id, "objection", actor="test", note="异议")
    db.commit()
    for code in (CLEAN, PENALISED, DEBTOR):
        data = fast.check_json(d, code, "采购", "procurement", "")
        assert data is not None
        quick = json.loads(data)
        full = json.loads(json.dumps(service.check_one(db, dept=d, subject=code, matter="采购",
                                                       matter_type="procurement"), default=str))
        db.rollback()
        assert {k: v for k, v in quick.items() if k != "check_id"} == {k: v for k, v in full.items() if k != "check_id"}
    assert json.loads(fast.check_json(d, DEBTOR, "采购", "procurement", "") or b"")["records"][0]["under_objection"]


def test_async_path_answers_on_the_event_loop(db: Session) -> None:
    city(db)
    d = dept(db)
    db.commit()

    async def both() -> list[bytes | None]:
        return [await fast.check_json_async(d, code, "采购", "procurement", "") for code in (PENALISED, PENALISED)]

    answers = asyncio.run(both())
    assert all(a is not None for a in answers)
    first, second = (json.loads(a or b"") for a in answers)
    assert first["result"] == "attention" and first["check_id"] != second["check_id"]
    assert asyncio.run(fast.check_json_async(d, "德州市同名商店", "采购", "procurement", "")) is None


def test_log_rows_keep_awkward_text(db: Session) -> None:
    city(db)
    d = dept(db)
    db.commit()
    purpose = "含\t制表符、\n换行、反斜杠\\N 与 'quote'"
    out = batch.check_batch(db, dept=d, queries=[CLEAN, "不存在\\的公司"], matter="采购\\事项", matter_type="procurement",
                            purpose=purpose)
    db.commit()
    rows = db.scalars(select(CheckLog).where(CheckLog.batch_id == out["batch_check_id"]).order_by(CheckLog.seq)).all()
    assert [(r.purpose, r.matter, r.query_ref, r.result) for r in rows] == [
        (purpose, "采购\\事项", CLEAN, "clean"), (purpose, "采购\\事项", "不存在\\的公司", "not_found")]
    assert rows[0].at.tzinfo is not None and rows[1].user_id is None
    fast.check_json(d, CLEAN, "采购", "procurement", purpose)
    buffer.flush()
    single = db.scalars(select(CheckLog).where(CheckLog.batch_id.is_(None))).all()
    assert [r.purpose for r in single] == [purpose]
