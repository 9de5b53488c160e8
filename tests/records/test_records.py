from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.catalog.service import get_catalog
from xinyong.core import crypto
from xinyong.records import rules
from xinyong.records import service as records
from xinyong.records.models import Record
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


def test_decisions_sharing_a_key64_stay_apart(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lookups go through key64, 64 bits of the record key: the full key decides (here every key64 is equal)."""
    monkeypatch.setattr(rules, "key64", lambda record_key: -42)
    one = _penalty(db)
    two = _penalty(db, decision_no="德市监处罚〔2026〕2号")
    assert (two.version, two.supersedes_id) == (1, None)
    assert one.key64 == two.key64 == -42 and one.record_key != two.record_key
    corrected = _penalty(db, decision_no="德市监处罚〔2026〕2号", penalty_type="警告")
    assert (corrected.version, corrected.supersedes_id) == (2, two.id)
    db.refresh(one)
    db.refresh(two)
    assert (one.state, two.state) == ("active", "superseded")
    assert _penalty(db).id == one.id  # the first decision again: a duplicate of itself, not of the newer one


def test_key64_is_written_from_the_record_key(db: Session) -> None:
    rec = _penalty(db)
    assert rec.key64 == rules.key64(rec.record_key) == int(rec.record_key[:16], 16) - (
        2**64 if int(rec.record_key[:16], 16) >= 2**63 else 0)


def test_sensitive_field_is_masked_in_payload_and_encrypted_aside(db: Session) -> None:
    rec = _penalty(db)
    assert "11010519491231002X" not in rec.payload
    assert "110105********002X" in rec.payload
    assert rec.secrets and "11010519491231002X" not in rec.secrets
    assert records.record_secrets(rec) == {"legal_rep_id_no": "11010519491231002X"}
    digest = crypto.keyed_hash("11010519491231002X", records.SECRET_PURPOSE)[:32]  # 128 bits are kept
    assert rec.secret_hashes == "legal_rep_id_no:" + digest
    assert "11010519491231002X" not in rec.secret_hashes


def test_record_without_sensitive_values_has_no_secrets(db: Session) -> None:
    rec = _penalty(db, legal_rep_id_no="")
    assert rec.secrets is None and rec.secret_hashes is None
    assert records.record_secrets(rec) == {}


def test_secrets_keep_catalog_order_and_only_non_empty_values(db: Session) -> None:
    rec = _penalty(db, id_no="11010519491231002X", legal_rep_id_no="110105194912310021")
    fields = [f.name for f in get_catalog().get("admin_penalty").sensitive_fields()]
    assert list(records.record_secrets(rec)) == fields
    assert crypto.decrypt(rec.secrets or "", records.secrets_aad(rec.record_key, rec.version)) == records.secrets_json(
        [(n, records.record_secrets(rec)[n]) for n in fields])
    assert [pair.split(":")[0] for pair in (rec.secret_hashes or "").split(" ")] == fields


def test_find_records_by_secret_matches_the_keyed_hash(db: Session) -> None:
    rec = _penalty(db)
    other = _penalty(db, decision_no="德市监处罚〔2026〕2号", legal_rep_id_no="", id_no="11010519491231002X")
    third = _penalty(db, decision_no="德市监处罚〔2026〕3号", legal_rep_id_no="110105194912310021")
    found = records.find_records_by_secret(db, "11010519491231002X")
    assert [r.id for r in found] == [rec.id, other.id]
    assert [r.id for r in records.find_records_by_secret(db, " 110105 19491231002x")] == [rec.id, other.id]
    assert [r.id for r in records.find_records_by_secret(db, "11010519491231002X", "legal_rep_id_no")] == [rec.id]
    assert [r.id for r in records.find_records_by_secret(db, "11010519491231002X", "id_no")] == [other.id]
    assert [r.id for r in records.find_records_by_secret(db, "110105194912310021")] == [third.id]
    assert records.find_records_by_secret(db, "110105194912310021", "id_no") == []
    assert records.find_records_by_secret(db, "11010519491231002X", "legal%") == []
    assert records.find_records_by_secret(db, "110105199001010023") == []
    assert records.find_records_by_secret(db, "  ") == []


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
