"""Complaints and tip-offs: the state machine, routing, deadlines, and the reporter's identity."""

from __future__ import annotations

from datetime import date
from itertools import product
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from due_process_support import count_rows, org, world
from xinyong.complaints import rules, service
from xinyong.complaints.models import Complaint
from xinyong.complaints.rules import Role, State
from xinyong.core.audit import AuditEvent
from xinyong.core.clock import FixedClock
from xinyong.core.errors import Forbidden, RuleViolation


@pytest.mark.parametrize(("current", "to"), list(product(State, State)))
def test_every_pair_of_states(current: State, to: State) -> None:
    if to in rules.TRANSITIONS[current]:
        rules.check_transition(current, to, frozenset({rules.ACTOR_OF[to]}))
        for other in set(Role) - {rules.ACTOR_OF[to]}:
            with pytest.raises(Forbidden):
                rules.check_transition(current, to, frozenset({other}))
    else:
        with pytest.raises(RuleViolation):
            rules.check_transition(current, to, frozenset(Role))


def test_identity_is_shown_only_with_consent() -> None:
    assert rules.shows_identity(False, Role.REPORTER)
    assert not rules.shows_identity(False, Role.HANDLER) and not rules.shows_identity(False, Role.OFFICE)
    assert rules.shows_identity(True, Role.HANDLER)


def test_deadlines_across_national_day() -> None:
    assert rules.due_date(date(2026, 9, 30), 3) == date(2026, 10, 10)  # the Saturday make-up day counts
    assert rules.is_overdue(State.SUBMITTED, date(2026, 10, 10), None, date(2026, 10, 11))
    assert not rules.is_overdue(State.CONCLUDED, date(2026, 10, 10), None, date(2026, 12, 1))
    assert rules.is_overdue(State.HANDLING, None, date(2026, 10, 20), date(2026, 10, 21))


def _body(**extra: Any) -> dict[str, Any]:
    return {"category": "食品药品安全", "target_name": "德州某某超市", "content": "2026年3月1日在该超市购买到过期牛奶，已拍照留存",
            "reporter_name": "赵某某", "reporter_contact": "13800000000", **extra}


def test_routed_by_category_and_identity_hidden_from_the_department(client: Any, db: Session,
                                                                    clock: FixedClock) -> None:
    clock.set(date(2026, 3, 2))
    w = world(db)
    r = client.post("/api/v1/complaints", json=_body())
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["case_no"].startswith("TS") and case["state"] == "assigned"
    stored = db.scalar(select(Complaint))
    assert "赵某某" not in (stored.reporter_enc or "") and "13800000000" not in (stored.reporter_enc or "")
    rows = client.get("/api/v1/complaints", headers=w.auth("scjg")).json()
    assert rows[0]["reporter"] == "匿名/已隐藏" and rows[0]["reporter_contact"] == "匿名/已隐藏"
    assert "赵某某" not in str(rows)
    assert client.get("/api/v1/complaints", headers=w.auth("sw")).json() == []
    # the tax bureau cannot act on it; the market regulator accepts and concludes
    assert client.post(f"/api/v1/complaints/{case['case_no']}/accept", json={}, headers=w.auth("sw")).status_code == 403
    assert client.post(f"/api/v1/complaints/{case['case_no']}/accept", json={}, headers=w.auth("scjg")).status_code == 200
    bad = client.post(f"/api/v1/complaints/{case['case_no']}/conclude", json={"note": ""}, headers=w.auth("scjg"))
    assert bad.status_code == 422 and "处理结果" in bad.json()["detail"]
    done = client.post(f"/api/v1/complaints/{case['case_no']}/conclude",
                       json={"note": "经查属实，已立案处罚"}, headers=w.auth("scjg"))
    assert done.status_code == 200
    public = client.get(f"/api/v1/complaints/{case['case_no']}", params={"code": case["query_code"]}).json()
    assert public["result"] == "经查属实，已立案处罚" and "reporter" not in public
    assert "赵某某" not in str(list(db.scalars(select(AuditEvent.after))))


def test_with_consent_the_department_sees_who_and_the_read_is_audited(client: Any, db: Session) -> None:
    w = world(db)
    client.post("/api/v1/complaints", json=_body(consent_to_disclose=True))
    rows = client.get("/api/v1/complaints", headers=w.auth("scjg")).json()
    assert rows[0]["reporter"] == "赵某某"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "complaint.reporter_read")) is not None


def test_office_routes_unmapped_categories_and_a_wrong_department_returns_it(client: Any, db: Session) -> None:
    w = world(db)
    subject = org(db)
    db.commit()
    case = client.post("/api/v1/complaints", json=_body(category="其他", target_code=subject.uscc,
                                                        reporter_name=None, reporter_contact=None)).json()
    assert case["state"] == "submitted"
    assert client.post(f"/api/v1/complaints/{case['case_no']}/assign", json={"dept": "SW"},
                       headers=w.auth("scjg")).status_code == 403
    r = client.post(f"/api/v1/complaints/{case['case_no']}/assign", json={"dept": "SW"}, headers=w.auth("office"))
    assert r.status_code == 200 and r.json()["reporter"] == "匿名"
    r = client.post(f"/api/v1/complaints/{case['case_no']}/return", json={"note": "不属于税务职责"}, headers=w.auth("sw"))
    assert r.status_code == 200 and r.json()["state"] == "returned"
    r = client.post(f"/api/v1/complaints/{case['case_no']}/assign", json={"dept": "SCJG"}, headers=w.auth("office"))
    assert r.json()["dept"] == w.scjg.name


def test_refusals_and_idempotency(client: Any, db: Session) -> None:
    world(db)
    r = client.post("/api/v1/complaints", json=_body(category="不存在的类别"))
    assert r.status_code == 422 and "类别" in r.json()["detail"]
    r = client.post("/api/v1/complaints", json=_body(target_code="91371402XXXXXXXXXX"))
    assert r.status_code == 422 and "统一社会信用代码无效" in r.json()["detail"]
    assert count_rows(db, Complaint) == 0
    a = client.post("/api/v1/complaints", json=_body(), headers={"Idempotency-Key": "c-1"})
    b = client.post("/api/v1/complaints", json=_body(), headers={"Idempotency-Key": "c-1"})
    assert a.json() == b.json() and count_rows(db, Complaint) == 1
    other = client.post("/api/v1/complaints", json=_body(category="其他"), headers={"Idempotency-Key": "c-1"})
    assert other.status_code == 422 and "新的幂等键" in other.json()["detail"]
    assert count_rows(db, Complaint) == 1


def test_overdue_flagging(client: Any, db: Session, clock: FixedClock) -> None:
    clock.set(date(2026, 3, 2))
    world(db)
    client.post("/api/v1/complaints", json=_body(category="其他"))
    assert service.flag_overdue(db, date(2026, 3, 5)) == 0
    assert service.flag_overdue(db, date(2026, 3, 6)) == 1


def test_a_nul_character_in_free_text_is_stored_as_a_replacement(client: Any, db: Session,
                                                                 clock: FixedClock) -> None:
    """PostgreSQL text cannot hold NUL (JSON can carry one as \\u0000): no 500, the same on both databases."""
    clock.set(date(2026, 3, 2))
    world(db)
    body = {**_body(), "content": "2026年3月1日，某公司\u0000在门店销售过期食品，有照片为证。"}
    r = client.post("/api/v1/complaints", json=body)
    assert r.status_code == 201, r.text
    stored = db.scalar(select(Complaint))
    assert "\x00" not in stored.content and "某公司\ufffd在门店" in stored.content
