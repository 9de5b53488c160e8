"""Server errors and schema mismatches the API fuzzer (test_schemathesis.py) found, each pinned down on SQLite
and PostgreSQL through the HTTP API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from due_process_support import PNG, b64, org, penalty, world
from xinyong.joint.models import Webhook
from xinyong.objections.models import Objection
from xinyong.repair.models import RepairApplication

TODAY = date.today()


@pytest.mark.parametrize("month", ["0000-01", "0001-01", "9999-12", "1899-12", "3000-01"])
@pytest.mark.parametrize("path", ["/api/v1/stats/joint", "/api/v1/stats/joint.xlsx"])
def test_joint_stats_for_a_month_outside_the_calendar_is_refused_in_chinese(client, db: Session, path: str,
                                                                           month: str) -> None:
    w = world(db)
    r = client.get(path, params={"month": month}, headers=w.auth("scjg"))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "month" in r.json()["detail"] or "月" in r.json()["detail"]


def test_joint_stats_for_the_first_and_last_documented_months_answer(client, db: Session) -> None:
    w = world(db)
    for month in ("1900-01", "2999-12"):
        assert client.get("/api/v1/stats/joint", params={"month": month}, headers=w.auth("scjg")).status_code == 200


@pytest.mark.parametrize("url", ["http://[", "https://[::1", "http://[zz]/hook"])
def test_webhook_with_a_broken_address_is_refused_and_nothing_is_written(client, db: Session, url: str) -> None:
    w = world(db)
    r = client.post("/api/v1/webhooks", json={"url": url, "secret": "s" * 16}, headers=w.auth("scjg"))
    assert r.status_code == 422
    assert "url" in r.json()["detail"] or "地址" in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(Webhook)) == 0


def _objection(record_id: int, code: str) -> dict[str, object]:
    return {"applicant_name": "张三", "contact": "13800000000", "subject_code": code, "record_id": record_id,
            "reason": "处罚内容记载有误，请核实"}


def test_objection_to_another_subjects_record_answers_as_if_the_record_did_not_exist(client, db: Session) -> None:
    w = world(db)
    mine, theirs = org(db), org(db)
    rec = penalty(db, theirs, w.scjg, decided=TODAY - timedelta(days=20))
    db.commit()
    counter = w.auth("office")  # an organisation files through its account or the office's counter
    foreign = client.post("/api/v1/objections", json=_objection(rec.id, mine.uscc or ""), headers=counter)
    missing = client.post("/api/v1/objections", json=_objection(rec.id + 1000, mine.uscc or ""), headers=counter)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"] == missing.json()["detail"].replace(str(rec.id + 1000), str(rec.id))
    assert db.scalar(select(func.count()).select_from(Objection)) == 0
    own = client.post("/api/v1/objections", json=_objection(rec.id, theirs.uscc or ""), headers=counter)
    assert own.status_code == 201


def test_repair_for_another_subjects_record_answers_as_if_the_record_did_not_exist(client, db: Session) -> None:
    w = world(db)
    mine, theirs = org(db), org(db)
    rec = penalty(db, theirs, w.scjg, decided=TODAY - timedelta(days=200))
    db.commit()

    def apply(record_id: int, code: str) -> object:
        return client.post("/api/v1/repair-applications", headers=w.auth("office"), json={
            "record_id": record_id, "subject_code": code, "applicant_name": "李四", "contact": "13900000000",
            "statement": "已缴清罚款并完成整改", "obligations_fulfilled": True, "sign_commitment_as": "李四",
            "attachments": [{"filename": "凭证.png", "content_base64": b64(PNG)}]})

    foreign, missing = apply(rec.id, mine.uscc or ""), apply(rec.id + 1000, mine.uscc or "")
    assert foreign.status_code == missing.status_code == 404  # type: ignore[attr-defined]
    assert foreign.json()["detail"] == missing.json()["detail"].replace(  # type: ignore[attr-defined]
        str(rec.id + 1000), str(rec.id))
    assert db.scalar(select(func.count()).select_from(RepairApplication)) == 0
    assert apply(rec.id, theirs.uscc or "").status_code == 201  # type: ignore[attr-defined]


@pytest.mark.parametrize("month", ["0000-01", "0001-01", "9999-12"])
def test_joint_stats_service_refuses_months_whose_neighbours_are_not_dates(db: Session, month: str) -> None:
    from xinyong.core.errors import Refused
    from xinyong.joint import stats

    with pytest.raises(Refused, match="1900 至 2999"):
        stats.joint_stats(db, month, today=TODAY)


def test_webhook_service_refuses_an_unparsable_address(db: Session) -> None:
    from xinyong.core.errors import Refused
    from xinyong.joint import webhooks

    w = world(db)
    with pytest.raises(Refused, match="不是有效的地址"):
        webhooks.register_webhook(db, w.scjg, url="http://[", secret="s" * 16)
    assert db.scalar(select(func.count()).select_from(Webhook)) == 0


HUGE = 2**64  # past every integer column (SQLite INTEGER and PostgreSQL bigint)


@pytest.mark.parametrize("path,body", [
    ("/api/v1/objections", {"applicant_name": "张三", "contact": "13800000000", "subject_code": "91371402MA3C5X0Q3H",
                            "record_id": HUGE, "reason": "处罚内容记载有误，请核实"}),
    ("/api/v1/objections", {"applicant_name": "张三", "contact": "13800000000", "subject_code": "91371402MA3C5X0Q3H",
                            "entry_id": HUGE, "reason": "名单信息记载有误，请核实"}),
    ("/api/v1/repair-applications", {"record_id": HUGE, "subject_code": "91371402MA3C5X0Q3H", "applicant_name": "李四",
                                     "contact": "13900000000", "statement": "已缴清罚款并完成整改",
                                     "obligations_fulfilled": True}),
    ("/api/v1/commitments", {"type": "repair", "uscc": "91371402MA3C5X0Q3H", "signer_uscc": "91371402MA3C5X0Q3H",
                             "signer_name": "王五", "record_id": HUGE}),
])
def test_a_body_id_past_the_column_range_is_refused_not_a_server_error(client, db: Session, path: str,
                                                                      body: dict[str, object]) -> None:
    r = client.post(path, json=body)
    assert r.status_code == 422
    assert "过大" in r.json()["detail"]


def test_a_list_entry_citing_a_record_id_past_the_column_range_is_refused(client, db: Session) -> None:
    w = world(db)
    subject = org(db)
    db.commit()
    r = client.post("/api/v1/list-entries", headers=w.auth("scjg"), json={
        "subject": subject.uscc, "list_type": "scjg_serious_illegal", "decision_no": "德市监严失〔2026〕1号",
        "decision_date": TODAY.isoformat(), "facts": "生产销售不符合食品安全标准的食品", "basis": "第九条",
        "record_id": HUGE})
    assert r.status_code == 422 and "record_id" in r.json()["detail"]


def test_assigning_a_complaint_to_an_unknown_department_is_422_and_the_case_stays(client, db: Session) -> None:
    from xinyong.complaints import service as complaints
    from xinyong.core import clock

    w = world(db)
    done = complaints.submit(db, {"category": "环境污染", "target_name": "德州某公司",  # STHJ: not registered
                                  "content": "该单位长期拖欠货款，拒不履行合同约定"}, [], idempotency_key=None,
                             today=clock.today())
    db.commit()
    case_no = done.complaint.case_no
    r = client.post(f"/api/v1/complaints/{case_no}/assign", json={"dept": "NOPE"}, headers=w.auth("office"))
    assert r.status_code == 422 and "NOPE" in r.json()["detail"] and "部门代码" in r.json()["detail"], r.text
    assert client.post(f"/api/v1/complaints/{case_no}/assign", json={"dept": "SW"},
                       headers=w.auth("office")).status_code == 200


def test_a_commitment_naming_an_unknown_accepting_department_is_422(client, db: Session) -> None:
    subject = org(db)
    db.commit()
    r = client.post("/api/v1/commitments", json={"type": "notice", "uscc": subject.uscc, "signer_uscc": subject.uscc,
                                                 "signer_name": "王五", "matter": "食品经营许可", "acceptor": "NOPE"})
    assert r.status_code == 422 and "NOPE" in r.json()["detail"]


def test_a_refused_submission_does_not_keep_its_idempotency_key(client, db: Session) -> None:
    """On SQLite a SAVEPOINT opened before any write used to start (and its release commit) a transaction of
    its own: the key claimed for a refused submission stayed, and the corrected retry with the same key (the
    portal forms keep their token) was answered “正在处理中” for good."""
    w = world(db)
    subject = org(db)
    rec = penalty(db, subject, w.scjg, decided=TODAY - timedelta(days=20))
    db.commit()
    key = {"Idempotency-Key": "form-token-1", **w.auth("office")}
    wrong = client.post("/api/v1/objections", json=_objection(rec.id + 1000, subject.uscc or ""), headers=key)
    assert wrong.status_code == 404
    again = client.post("/api/v1/objections", json=_objection(rec.id + 1000, subject.uscc or ""), headers=key)
    assert again.status_code == 404  # the same refusal, not “相同的申请正在处理中”
    fixed = client.post("/api/v1/objections", json=_objection(rec.id, subject.uscc or ""), headers=key)
    assert fixed.status_code == 201


def test_writes_inside_a_savepoint_roll_back_with_the_request(engine) -> None:
    from xinyong.accounts import service as accounts
    from xinyong.accounts.models import Department
    from xinyong.core.db import new_session

    session = new_session()
    try:
        session.scalar(select(func.count()).select_from(Department))  # a read first, as a request does
        with session.begin_nested():
            accounts.add_department(session, "TMP", "临时部门")
        session.rollback()
    finally:
        session.close()
    check = new_session()
    try:
        assert check.scalar(select(func.count()).select_from(Department).where(Department.code == "TMP")) == 0
    finally:
        check.close()
