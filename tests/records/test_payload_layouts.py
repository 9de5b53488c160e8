"""Positional payloads: written under the item's catalog field list (a layout), read back through it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department
from xinyong.catalog.service import get_catalog
from xinyong.core.db import new_session
from xinyong.records import service as records
from xinyong.records.models import PayloadLayout, Record
from xinyong.subjects import service as subjects

USCC = "91440300708461136T"
VALUES = {"subject_name": "深圳测试有限公司", "uscc": USCC, "decision_no": "德市监处罚〔2026〕1号",
          "penalty_type": "罚款", "decision_date": "2026-03-05", "legal_rep_id_no": "11010519491231002X",
          "note": "含\"引号\"、反斜杠\\与换行\n"}


def _penalty(db: Session, **over: str) -> Record:
    dept = db.scalar(select(Department).where(Department.code == "SCJG")) or accounts.add_department(
        db, "SCJG", "市场监管局")
    subject = subjects.upsert_organisation(db, uscc=USCC, name="深圳测试有限公司")
    values = {**VALUES, **over}
    return records.add_record(db, subject=subject, item_code="admin_penalty", dept_id=dept.id, values=values,
                              decision_no=values["decision_no"], decision_date=date(2026, 3, 5))


def _layouts(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(PayloadLayout)) or 0)


def test_payload_is_the_values_in_catalog_order_without_names(db: Session) -> None:
    rec = _penalty(db)
    fields = [f.name for f in get_catalog().get("admin_penalty").fields]
    masked = {**VALUES, "legal_rep_id_no": "110105********002X"}
    expected = [masked.get(n) for n in fields]
    while expected[-1] is None:
        expected.pop()
    assert rec.payload == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    assert '"subject_name"' not in rec.payload
    layout = db.get(PayloadLayout, rec.layout_id)
    assert layout is not None and layout.item_code == "admin_penalty"
    assert layout.fields == json.dumps(fields, separators=(",", ":"))
    assert records.record_values(rec) == {n: masked[n] for n in fields if n in masked}
    assert list(records.record_values(rec)) == [n for n in fields if n in masked]  # layout order


def test_empty_values_are_null_and_trailing_ones_left_out() -> None:
    assert records.payload_text(["a", "b", "c", "d"], {"b": "x", "c": "", "d": None}) == '[null,"x"]'
    assert records.payload_text(["a", "b"], {}) == "[]"
    assert records.decode_payload(["a", "b", "c"], '[null,"x"]') == {"b": "x"}


def test_records_of_an_item_share_one_layout(db: Session) -> None:
    first = _penalty(db)
    second = _penalty(db, decision_no="德市监处罚〔2026〕2号")
    db.commit()
    assert first.layout_id == second.layout_id and _layouts(db) == 1
    with new_session() as other:  # another session finds it (cached or read), never makes a second one
        assert records.layout_for(other, get_catalog().get("admin_penalty")) == first.layout_id
        other.commit()
    assert _layouts(db) == 1


def test_a_layout_rolled_back_is_not_remembered(db: Session) -> None:
    item = get_catalog().get("admin_penalty")
    records.layout_for(db, item)
    db.rollback()
    assert _layouts(db) == 0
    accounts.add_department(db, "XYB", "信用办", credit_office=True)
    db.commit()
    with new_session() as other:  # another item's layout first: SQLite would hand out the rolled-back id again
        records.layout_for(other, get_catalog().get("tax_credit_rating"))
        layout_id = records.layout_for(other, item)
        other.commit()
    layout = db.get(PayloadLayout, layout_id)
    assert layout is not None and layout.item_code == "admin_penalty"


def test_two_transactions_creating_the_same_layout_agree(db: Session) -> None:
    item = get_catalog().get("admin_penalty")
    first = records.layout_for(db, item)  # inserted, not committed yet
    got: list[int] = []

    def other() -> None:
        with new_session() as session:
            got.append(records.layout_for(session, item))
            session.commit()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(0.5)  # waits for this transaction (PostgreSQL: the unique key; SQLite: the write lock)
    db.commit()
    thread.join(30)
    assert got == [first] and _layouts(db) == 1


def test_the_same_values_after_a_catalog_change_are_a_duplicate(db: Session, catalog_with_field: Callable[..., None]
                                                                 ) -> None:
    before = _penalty(db)
    db.commit()
    catalog_with_field("middle")
    again = _penalty(db)
    assert again.id == before.id  # the payload text differs (one more place), the values do not
    changed = _penalty(db, penalty_type="警告")
    assert changed.version == 2 and changed.supersedes_id == before.id and changed.layout_id != before.layout_id
    db.commit()
    assert _layouts(db) == 2
    assert records.record_values(before)["penalty_type"] == "罚款"  # decoded through the layout it was written in
    assert records.record_values(changed)["penalty_type"] == "警告"
    assert records.record_out(before)["values"]["subject_name"] == "深圳测试有限公司"


def test_an_appended_field_keeps_the_text_and_the_content(db: Session, catalog_with_field: Callable[..., None]
                                                          ) -> None:
    before = _penalty(db)
    db.commit()
    catalog_with_field("end")
    again = _penalty(db)
    assert again.id == before.id
    changed = _penalty(db, case_source="举报")
    assert changed.version == 2 and records.record_values(changed)["case_source"] == "举报"
