from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.records import rules
from xinyong.records import service as records
from xinyong.records.models import Record, RecordSecret
from xinyong.subjects import service as subjects

USCC = "91440300708461136T"


def _penalty(db: Session, **over: object) -> Record:
    dept = accounts.add_department(db, "SCJG", "市场监管局")
    subject = subjects.upsert_organisation(db, uscc=USCC, name="深圳测试有限公司")
    values = {"subject_name": "深圳测试有限公司", "uscc": USCC, "decision_no": "德市监处罚〔2026〕1号",
              "penalty_type": "罚款", "decision_date": "2026-03-05", "legal_rep_id_no": "11010519491231002X"}
    values.update(over)  # type: ignore[arg-type]
    return records.add_record(db, subject=subject, item_code="admin_penalty", dept_id=dept.id, values=values,
                              decision_no=str(values["decision_no"]), decision_date=date(2026, 3, 5),
                              severity="一般", publish_from=date(2026, 3, 5), publish_until=date(2027, 3, 5))


def test_same_content_is_not_added_twice(db: Session) -> None:
    first = _penalty(db)
    again = _penalty(db)
    assert first.id == again.id
    assert db.scalar(select(Record.id).where(Record.id != first.id)) is None


def test_changed_content_supersedes_and_keeps_history(db: Session) -> None:
    first = _penalty(db)
    second = _penalty(db, penalty_type="警告")
    assert second.version == 2 and second.supersedes_id == first.id
    db.refresh(first)
    assert first.state == "superseded"
    assert [e.to_state for e in records.history(db, first.id)] == ["superseded"]


def test_sensitive_field_is_masked_in_payload_and_encrypted_aside(db: Session) -> None:
    rec = _penalty(db)
    assert "11010519491231002X" not in rec.payload
    assert "110105********002X" in rec.payload
    secret = db.scalars(select(RecordSecret).where(RecordSecret.record_id == rec.id)).one()
    assert "11010519491231002X" not in secret.value_enc


def test_public_sees_only_records_inside_their_window(db: Session) -> None:
    rec = _penalty(db)
    assert [r.id for r in records.visible_records(db, rec.subject_id, "public", date(2026, 6, 1))] == [rec.id]
    assert [r.id for r in records.visible_records(db, rec.subject_id, "public", date(2027, 3, 4))] == [rec.id]
    assert records.visible_records(db, rec.subject_id, "public", date(2027, 3, 5)) == []  # until is exclusive
    assert records.visible_records(db, rec.subject_id, "public", date(2026, 3, 4)) == []


def test_record_under_objection_stays_visible_and_is_marked(db: Session) -> None:
    rec = _penalty(db)
    records.set_state(db, rec.id, "objection", actor="tester", note="异议受理")
    out = records.record_out(records.visible_records(db, rec.subject_id, "public", date(2026, 6, 1))[0])
    assert out["under_objection"] and out["state_label"] == "异议中"


def test_visibility_rules_by_audience() -> None:
    today = date(2026, 6, 1)
    assert rules.visible("active", "shared", None, None, "department", today)
    assert not rules.visible("active", "shared", None, None, "public", today)
    assert not rules.visible("active", "authorised", None, None, "department", today)
    assert not rules.visible("repaired", "public", date(2026, 1, 1), None, "department", today)
    assert not rules.visible("active", "public", None, None, "public", today)  # 轻微: not published
