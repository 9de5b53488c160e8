"""Credit repair through the API on SQLite and PostgreSQL; the daily end of publication."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from due_process_support import PDF, World, b64, count_rows, listed, org, penalty, sign_in, world
from xinyong.cases.models import OutboundSync
from xinyong.commitments.models import Commitment
from xinyong.core.audit import verify_chain
from xinyong.core.clock import FixedClock
from xinyong.lists.models import ListEntry
from xinyong.records import service as records
from xinyong.records.models import Record, RecordEvent
from xinyong.repair import service
from xinyong.repair.models import RepairApplication

DECIDED = date(2026, 1, 5)  # 一般: minimum period ends 2026-04-05


@pytest.fixture
def setup(db: Session, client: Any, clock: FixedClock) -> tuple[World, Any, Record]:
    """A firm with a penalty, and the test client logged in as the firm's own account (it applies in its name)."""
    clock.set(date(2026, 3, 2))
    w = world(db)
    subject = org(db)
    rec = penalty(db, subject, w.scjg, decided=DECIDED)
    db.commit()
    sign_in(client, db, subject)
    return w, subject, rec


def _body(subject: Any, rec: Record, **extra: Any) -> dict[str, Any]:
    return {"record_id": rec.id, "subject_code": subject.uscc, "applicant_name": "德州某某食品有限公司",
            "contact": "0534-7654321", "statement": "已于2026年1月20日缴清罚款，完成整改并通过复查",
            "obligations_fulfilled": True, "sign_commitment_as": "王某某",
            "attachments": [{"filename": "缴款凭证.pdf", "content_base64": b64(PDF)}], **extra}


def test_eligibility_says_what_is_missing_and_when(client: Any, setup: Any) -> None:
    w, _subject, rec = setup
    r = client.get(f"/api/v1/records/{rec.id}/repair-eligibility")
    assert r.status_code == 200
    e = r.json()
    assert e["applicable"] and not e["eligible"] and not e["may_apply"] and e["earliest"] == "2026-04-05"
    assert [m["code"] for m in e["missing"]] == ["min_period", "obligations", "commitment"]
    assert e["deciding_dept"] == w.scjg.name
    assert client.get("/api/v1/records/999999/repair-eligibility").status_code == 404


def test_an_application_before_eligibility_is_refused_with_the_reasons(client: Any, db: Session, setup: Any) -> None:
    _w, subject, rec = setup
    r = client.post("/api/v1/repair-applications", json=_body(subject, rec))
    assert r.status_code == 409
    assert "最短公示期" in r.json()["detail"] and "2026-04-05" in r.json()["detail"]
    assert r.json()["rule"] == "repair_eligibility" and r.json()["missing"][0]["code"] == "min_period"
    assert count_rows(db, RepairApplication) == 0 and count_rows(db, Commitment) == 0


def test_an_application_without_evidence_is_refused(client: Any, db: Session, setup: Any,
                                                    clock: FixedClock) -> None:
    _w, subject, rec = setup
    clock.set(date(2026, 4, 10))
    r = client.post("/api/v1/repair-applications", json=_body(subject, rec, attachments=[], sign_commitment_as=None))
    assert r.status_code == 409 and "证明材料" in r.json()["detail"] and "信用修复承诺书" in r.json()["detail"]
    assert count_rows(db, RepairApplication) == 0


def test_approval_ends_publication_exits_lists_and_queues_sync(client: Any, db: Session, setup: Any,
                                                              clock: FixedClock) -> None:
    w, subject, rec = setup
    entry = listed(db, w.scjg, subject, rec, date(2026, 3, 2))
    db.commit()
    clock.set(date(2026, 4, 10))
    r = client.post("/api/v1/repair-applications", json=_body(subject, rec), headers={"Idempotency-Key": "rp-1"})
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["case_no"].startswith("XF") and case["decide_due"] == "2026-04-24"
    again = client.post("/api/v1/repair-applications", json=_body(subject, rec), headers={"Idempotency-Key": "rp-1"})
    assert again.status_code == 200 and again.json() == case and count_rows(db, RepairApplication) == 1
    assert db.scalar(select(Commitment.type_code)) == "repair"

    # 谁认定谁修复: the tax bureau and the credit office cannot decide; nothing changes
    for who in ("sw", "office"):
        bad = client.post(f"/api/v1/repair-applications/{case['case_no']}/approve", json={"note": "同意"},
                          headers=w.auth(who))
        assert bad.status_code == 403 and "谁认定谁修复" in bad.json()["detail"]
    db.expire_all()
    assert db.get(Record, rec.id).state == "active"

    ok = client.post(f"/api/v1/repair-applications/{case['case_no']}/approve", json={"note": "材料齐全"},
                     headers=w.auth("scjg"))
    assert ok.status_code == 200, ok.text
    db.expire_all()
    repaired = db.get(Record, rec.id)
    assert repaired.state == "repaired" and repaired.publish_until == date(2026, 4, 10)
    assert db.get(ListEntry, entry.id).state == "exited"
    assert sorted(db.scalars(select(OutboundSync.target))) == ["national", "provincial"]
    assert set(db.scalars(select(OutboundSync.event_type))) == {"record.repaired"}
    assert rec.id not in [x["id"] for x in client.get(f"/api/v1/subjects/{subject.uscc}").json()["records"]]
    assert "repaired" in [e.to_state for e in records.history(db, rec.id)]
    public = client.get(f"/api/v1/repair-applications/{case['case_no']}", params={"code": case["query_code"]}).json()
    assert public["state"] == "approved" and [e["action"] for e in public["timeline"]] == ["submitted", "approved"]
    assert verify_chain(db).ok


def test_refusal_carries_reasons(client: Any, db: Session, setup: Any, clock: FixedClock) -> None:
    w, subject, rec = setup
    clock.set(date(2026, 4, 10))
    case = client.post("/api/v1/repair-applications", json=_body(subject, rec)).json()
    r = client.post(f"/api/v1/repair-applications/{case['case_no']}/refuse", json={"note": "罚款缴纳凭证与决定书不符"},
                    headers=w.auth("scjg"))
    assert r.status_code == 200 and r.json()["decision_note"] == "罚款缴纳凭证与决定书不符"
    db.expire_all()
    assert db.get(Record, rec.id).state == "active"
    r = client.post(f"/api/v1/repair-applications/{case['case_no']}/approve", json={"note": "改为同意"},
                    headers=w.auth("scjg"))
    assert r.status_code == 409


def test_unknown_record_and_wrong_subject(client: Any, db: Session, setup: Any,
                                          clock: FixedClock) -> None:
    _w, subject, rec = setup
    clock.set(date(2026, 4, 10))
    assert client.post("/api/v1/repair-applications", json=_body(subject, rec, record_id=999999)).status_code == 404
    other = org(db)
    db.commit()
    r = client.post("/api/v1/repair-applications", json=_body(subject, rec, subject_code=other.uscc))
    assert r.status_code == 404 and "不存在或不属于该主体" in r.json()["detail"]  # as if the record were missing
    assert count_rows(db, RepairApplication) == 0


def test_overdue_decisions_are_flagged(client: Any, db: Session, setup: Any, clock: FixedClock) -> None:
    w, subject, rec = setup
    clock.set(date(2026, 4, 10))
    client.post("/api/v1/repair-applications", json=_body(subject, rec))
    assert service.flag_overdue(db, date(2026, 4, 24)) == 0
    assert service.flag_overdue(db, date(2026, 4, 27)) == 1
    db.commit()
    assert client.get("/api/v1/repair-applications", headers=w.auth("scjg")).json()[0]["overdue"] is True


def test_daily_job_ends_publication_at_the_maximum_period(db: Session, setup: Any) -> None:
    w, subject, rec = setup  # 一般, decided 2026-01-05: publish_until 2027-01-05 (exclusive)
    other = penalty(db, subject, w.scjg, decided=DECIDED)
    records.set_state(db, other.id, "objection", actor="test")
    db.commit()
    assert service.expire_publication(db, date(2027, 1, 4)) == 0
    assert service.expire_publication(db, date(2027, 1, 5)) == 1
    db.commit()
    db.expire_all()
    assert db.get(Record, rec.id).state == "expired"
    assert db.get(Record, other.id).state == "objection"  # the objection's outcome decides first
    assert db.scalar(select(RecordEvent.note).where(RecordEvent.record_id == rec.id, RecordEvent.to_state == "expired"))
    assert service.expire_publication(db, date(2027, 1, 6)) == 0
    assert verify_chain(db).ok


def test_the_daily_job_is_registered_and_needs_no_index_on_records(db: Session, setup: Any) -> None:
    """The job finds due records through the small due-date table (no index every bulk load maintains); a record
    under objection on its due day is put back and ended by the first run after it is in force again."""
    from sqlalchemy import inspect

    from xinyong.core.jobs import daily_jobs
    from xinyong.records.models import RecordDue

    assert {"records.expire", "repair.overdue", "objections.overdue"} <= set(daily_jobs())
    indexed = {c for ix in inspect(db.get_bind()).get_indexes("records") for c in ix["column_names"]}
    assert "publish_until" not in indexed
    w, subject, _rec = setup
    other = penalty(db, subject, w.scjg, decided=DECIDED)
    records.set_state(db, other.id, "objection", actor="test")
    db.commit()
    assert service.expire_publication(db, date(2027, 1, 5)) == 1
    db.commit()
    assert db.scalars(select(RecordDue.ids)).all() == [f"[{other.id}]"]  # kept for later, the rest taken
    records.set_state(db, other.id, "active", actor="test")
    db.commit()
    assert service.expire_publication(db, date(2027, 1, 6)) == 1
    db.commit()
    db.expire_all()
    assert db.get(Record, other.id).state == "expired" and db.scalars(select(RecordDue)).all() == []
