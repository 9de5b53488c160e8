"""Objections through the HTTP API, on SQLite and PostgreSQL: the whole path and every refusal."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from due_process_support import JPG, PDF, PNG, World, b64, count_rows, listed, org, penalty, sign_in, world
from xinyong.cases.models import CaseAttachment
from xinyong.core.audit import AuditEvent, verify_chain
from xinyong.joint.models import JointTask
from xinyong.lists.models import ListEntry
from xinyong.objections.models import Objection
from xinyong.records import service as records
from xinyong.records.models import Record

TODAY = date(2026, 3, 2)


def _setup(db: Session, client: Any) -> tuple[World, Any, Record]:
    """A firm with a penalty, and the test client logged in as the firm's own account (it files in its name)."""
    w = world(db)
    subject = org(db)
    rec = penalty(db, subject, w.scjg, decided=date(2026, 1, 5))
    db.commit()
    sign_in(client, db, subject)
    return w, subject, rec


def _body(subject: Any, rec: Record, **extra: Any) -> dict[str, Any]:
    return {"applicant_name": "德州某某食品有限公司", "contact": "0534-1234567", "subject_code": subject.uscc,
            "record_id": rec.id, "reason": "处罚决定已被复议机关撤销，信息不应公示", **extra}


def _submit(client: Any, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/objections", json=body, headers=headers)


def test_submit_returns_case_number_and_query_code(client: Any, db: Session) -> None:
    _w, subject, rec = _setup(db, client)
    r = _submit(client, _body(subject, rec, attachments=[{"filename": "复议决定书.pdf", "content_base64": b64(PDF)},
                                                         {"filename": "照片.jpg", "content_base64": b64(JPG)}]))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["case_no"].startswith("YY") and len(out["query_code"]) == 10 and out["state"] == "submitted"
    # the applicant follows the case with the code; a wrong code tells nothing
    ok = client.get(f"/api/v1/objections/{out['case_no']}", params={"code": out["query_code"]})
    assert ok.status_code == 200 and ok.json()["state_label"] == "已提交，待受理"
    assert "applicant" not in ok.json()
    bad = client.get(f"/api/v1/objections/{out['case_no']}", params={"code": "WRONGCODE2"})
    unknown = client.get("/api/v1/objections/YY20990101999999", params={"code": out["query_code"]})
    assert bad.status_code == unknown.status_code == 404 and bad.json()["detail"] == unknown.json()["detail"]
    assert db.scalar(select(Objection.applicant_enc)) != "德州某某食品有限公司"
    assert count_rows(db, CaseAttachment) == 2


def test_the_whole_path_marks_suspends_forwards_answers_and_decides(client: Any, db: Session) -> None:
    w, subject, rec = _setup(db, client)
    entry = listed(db, w.scjg, subject, rec, TODAY)
    db.commit()
    tasks_before = db.scalar(select(JointTask.state).limit(1))
    case = _submit(client, _body(subject, rec)).json()
    no = case["case_no"]
    # the providing department cannot accept; the office can
    assert client.post(f"/api/v1/objections/{no}/accept", json={}, headers=w.auth("scjg")).status_code == 403
    r = client.post(f"/api/v1/objections/{no}/accept", json={"note": "材料齐全"}, headers=w.auth("office"))
    assert r.status_code == 200, r.text
    db.expire_all()
    assert db.get(Record, rec.id).state == "objection"
    assert db.get(ListEntry, entry.id).state == "suspended"
    if tasks_before is not None:
        assert {t.state for t in db.scalars(select(JointTask).where(JointTask.entry_id == entry.id))} == {"suspended"}
    # the subject API shows it under objection
    recs = client.get(f"/api/v1/subjects/{subject.uscc}").json()["records"]
    assert [x["state_label"] for x in recs if x["id"] == rec.id] == ["异议中"]

    r = client.post(f"/api/v1/objections/{no}/forward", json={}, headers=w.auth("office"))
    assert r.json()["answer_due"] is not None
    # another department may not answer
    r = client.post(f"/api/v1/objections/{no}/answer", json={"suggestion": "revoke", "text": "经核实处罚已撤销"},
                    headers=w.auth("sw"))
    assert r.status_code == 403 and "数据提供部门" in r.json()["detail"]
    r = client.post(f"/api/v1/objections/{no}/answer", json={"suggestion": "revoke", "text": "经核实处罚已撤销"},
                    headers=w.auth("scjg"))
    assert r.status_code == 200 and r.json()["state"] == "answered"
    r = client.post(f"/api/v1/objections/{no}/decide", json={"outcome": "revoked", "note": "处罚决定已被撤销"},
                    headers=w.auth("office"))
    assert r.status_code == 200, r.text
    db.expire_all()
    assert db.get(Record, rec.id).state == "revoked"
    assert db.get(ListEntry, entry.id).state == "revoked"
    public = client.get(f"/api/v1/objections/{no}", params={"code": case["query_code"]}).json()
    assert [e["action"] for e in public["timeline"]] == ["submitted", "accepted", "forwarded", "answered", "revoked"]
    assert public["outcome_note"] == "处罚决定已被撤销"
    assert verify_chain(db).ok
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.entity == "objection")))
    assert {"objection.submit", "objection.accepted", "objection.revoked"} <= actions


def test_upheld_restores_the_record_and_resumes_the_entry(client: Any, db: Session) -> None:
    w, subject, rec = _setup(db, client)
    entry = listed(db, w.scjg, subject, rec, TODAY)
    db.commit()
    no = _submit(client, _body(subject, rec)).json()["case_no"]
    for step, who, body in [("accept", "office", {}), ("forward", "office", {}),
                            ("answer", "scjg", {"suggestion": "uphold", "text": "处罚事实清楚"}),
                            ("decide", "office", {"outcome": "upheld", "note": "原信息无误，予以维持"})]:
        assert client.post(f"/api/v1/objections/{no}/{step}", json=body, headers=w.auth(who)).status_code == 200
    db.expire_all()
    assert db.get(Record, rec.id).state == "active"
    assert db.get(ListEntry, entry.id).state == "published"


def test_correction_makes_a_new_version_and_supersedes_the_old(client: Any, db: Session) -> None:
    w, subject, rec = _setup(db, client)
    no = _submit(client, _body(subject, rec)).json()["case_no"]
    for step, who, body in [("accept", "office", {}), ("forward", "office", {}),
                            ("answer", "scjg", {"suggestion": "correct", "text": "罚款金额录入有误"})]:
        client.post(f"/api/v1/objections/{no}/{step}", json=body, headers=w.auth(who))
    bad = client.post(f"/api/v1/objections/{no}/decide", headers=w.auth("office"),
                      json={"outcome": "corrected", "note": "金额有误", "corrections": {"no_such_field": "1"}})
    assert bad.status_code == 422 and "不在信息项" in bad.json()["detail"]
    r = client.post(f"/api/v1/objections/{no}/decide", headers=w.auth("office"),
                    json={"outcome": "corrected", "note": "罚款金额更正为1万元",
                          "corrections": {"fine_amount": "1", "penalty_content": "罚款人民币壹万元"}})
    assert r.status_code == 200, r.text
    new_id = r.json()["new_record_id"]
    db.expire_all()
    assert db.get(Record, rec.id).state == "superseded"
    new = db.get(Record, new_id)
    assert new.state == "active" and new.version == 2 and new.decision_no == rec.decision_no
    assert records.record_values(new)["fine_amount"] == "1"


def test_correction_carries_the_sealed_secrets_over_with_an_audited_read(client: Any, db: Session) -> None:
    w, subject, old = _setup(db, client)
    rep_id = "11010519491231002X"
    values = {**records.record_values(old), "legal_rep_id_no": rep_id, "decision_no": "德市监罚〔2026〕900号"}
    rec = records.add_record(db, subject=subject, item_code="admin_penalty", dept_id=w.scjg.id, values=values,
                             decision_no="德市监罚〔2026〕900号", decision_date=old.decision_date, severity="一般",
                             publish_from=old.publish_from, publish_until=old.publish_until)
    db.commit()
    no = _submit(client, _body(subject, rec)).json()["case_no"]
    for step, who, body in [("accept", "office", {}), ("forward", "office", {}),
                            ("answer", "scjg", {"suggestion": "correct", "text": "罚款金额录入有误"})]:
        client.post(f"/api/v1/objections/{no}/{step}", json=body, headers=w.auth(who))
    r = client.post(f"/api/v1/objections/{no}/decide", headers=w.auth("office"),
                    json={"outcome": "corrected", "note": "罚款金额更正", "corrections": {"fine_amount": "1"}})
    assert r.status_code == 200, r.text
    db.expire_all()
    new = db.get(Record, r.json()["new_record_id"])
    assert new is not None and new.version == 2
    assert records.record_secrets(new) == {"legal_rep_id_no": rep_id} and rep_id not in new.payload
    assert [x.id for x in records.find_records_by_secret(db, rep_id)] == [rec.id, new.id]
    read = db.scalars(select(AuditEvent).where(AuditEvent.action == "record.secret_read")).one()
    assert read.entity_id == str(rec.id)
    assert "legal_rep_id_no" in (read.after or "") and rep_id not in (read.after or "")


def test_repeated_submission_with_the_same_key_creates_nothing(client: Any, db: Session) -> None:
    _w, subject, rec = _setup(db, client)
    first = _submit(client, _body(subject, rec), key="k-123")
    again = _submit(client, _body(subject, rec), key="k-123")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(db, Objection) == 1
    other = _submit(client, _body(subject, rec, reason="另一份不同的异议内容"), key="k-123")
    assert other.status_code == 422 and "幂等键" in other.json()["detail"]
    assert count_rows(db, Objection) == 1


def test_bad_attachments_are_refused_in_chinese_and_nothing_is_stored(client: Any, db: Session) -> None:
    _w, subject, rec = _setup(db, client)
    fake = _submit(client, _body(subject, rec, attachments=[{"filename": "决定书.pdf",
                                                             "content_base64": b64(b"just text, not a pdf")}]))
    assert fake.status_code == 422 and "不是 PDF、JPG、PNG 文件" in fake.json()["detail"]
    big = _submit(client, _body(subject, rec, attachments=[{"filename": "扫描件.pdf",
                                                            "content_base64": b64(PDF + b"0" * (11 * 1024 * 1024))}]))
    assert big.status_code == 413 and "超过" in big.json()["detail"]
    garbage = _submit(client, _body(subject, rec, attachments=[{"filename": "a.png", "content_base64": "@@@"}]))
    assert garbage.status_code == 422 and "Base64" in garbage.json()["detail"]
    assert count_rows(db, Objection) == 0 and count_rows(db, CaseAttachment) == 0
    # a PNG named .pdf is fine: the content decides
    ok = _submit(client, _body(subject, rec, attachments=[{"filename": "截图.pdf", "content_base64": b64(PNG)}]))
    assert ok.status_code == 201
    assert db.scalar(select(CaseAttachment.media_type)) == "image/png"


def test_unknown_record_or_wrong_subject_is_refused(client: Any, db: Session) -> None:
    _w, subject, rec = _setup(db, client)
    other = org(db)
    db.commit()
    r = _submit(client, _body(subject, rec, record_id=999999))
    assert r.status_code == 404 and "不存在" in r.json()["detail"]
    r = _submit(client, _body(subject, rec, subject_code=other.uscc))  # another subject's record: as if missing
    assert r.status_code == 404 and "不存在或不属于该主体" in r.json()["detail"]
    r = _submit(client, _body(subject, rec, entry_id=1))
    assert r.status_code == 422 and "二者选一" in r.json()["detail"]
    assert count_rows(db, Objection) == 0


def test_a_second_objection_on_the_same_record_cannot_be_accepted_while_one_is_open(client: Any, db: Session) -> None:
    w, subject, rec = _setup(db, client)
    one = _submit(client, _body(subject, rec)).json()["case_no"]
    two = _submit(client, _body(subject, rec, reason="同一信息的另一份异议")).json()["case_no"]
    client.post(f"/api/v1/objections/{one}/accept", json={}, headers=w.auth("office"))
    r = client.post(f"/api/v1/objections/{two}/accept", json={}, headers=w.auth("office"))
    assert r.status_code == 409 and "已有异议正在处理" in r.json()["detail"]
    r = client.post(f"/api/v1/objections/{two}/reject", json={"note": "同一信息已有异议在办"}, headers=w.auth("office"))
    assert r.json()["state"] == "rejected"


def test_decisions_out_of_order_are_refused_and_nothing_changes(client: Any, db: Session) -> None:
    w, subject, rec = _setup(db, client)
    no = _submit(client, _body(subject, rec)).json()["case_no"]
    audits = count_rows(db, AuditEvent)
    r = client.post(f"/api/v1/objections/{no}/decide", json={"outcome": "revoked", "note": "直接撤销"},
                    headers=w.auth("office"))
    assert r.status_code == 409 and "不能变为" in r.json()["detail"]
    db.expire_all()
    assert db.get(Record, rec.id).state == "active" and count_rows(db, AuditEvent) == audits


def test_withdrawal_while_under_review_restores_the_record(client: Any, db: Session) -> None:
    w, subject, rec = _setup(db, client)
    case = _submit(client, _body(subject, rec)).json()
    client.post(f"/api/v1/objections/{case['case_no']}/accept", json={}, headers=w.auth("office"))
    r = client.post(f"/api/v1/objections/{case['case_no']}/withdraw", headers={"X-Query-Code": case["query_code"]})
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"
    db.expire_all()
    assert db.get(Record, rec.id).state == "active"


def test_overdue_answers_are_flagged_by_the_daily_job(client: Any, db: Session) -> None:
    from xinyong.objections import service

    w, subject, rec = _setup(db, client)
    no = _submit(client, _body(subject, rec)).json()["case_no"]
    client.post(f"/api/v1/objections/{no}/accept", json={}, headers=w.auth("office"))
    client.post(f"/api/v1/objections/{no}/forward", json={}, headers=w.auth("office"))
    db.expire_all()
    obj = db.scalar(select(Objection))
    assert service.flag_overdue(db, obj.answer_due) == 0
    assert service.flag_overdue(db, date.fromordinal(obj.answer_due.toordinal() + 1)) == 1
    db.commit()
    assert service.flag_overdue(db, date.fromordinal(obj.answer_due.toordinal() + 2)) == 0  # flagged once
    queue = client.get("/api/v1/objections", headers=w.auth("office")).json()
    assert queue[0]["overdue"] is True
