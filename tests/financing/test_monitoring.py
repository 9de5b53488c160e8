"""Post-loan monitoring on SQLite and PostgreSQL: a bank with a monitoring grant in force hears of the firm's new
penalties and grade changes through the exchange outbox, once; without a grant (or after revocation) it does not."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from fi_support import _dept, bank, firm
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.evaluation.grades import emit_changes
from xinyong.exchange.models import OutboxEvent
from xinyong.financing import monitoring, service
from xinyong.records import service as records

TODAY = date(2026, 6, 15)


def _events(db: Session) -> list[OutboxEvent]:
    return list(db.scalars(select(OutboxEvent).where(OutboxEvent.target.like("fi:%")).order_by(OutboxEvent.id)))


def _penalty(db: Session, subject: Any, n: int) -> None:
    dept = _dept(db, "SCJG", "德州市市场监督管理局")
    records.add_record(db, subject=subject, item_code="admin_penalty", dept_id=dept.id, severity="一般",
                       decision_no=f"德市监罚〔2026〕9{n}号",
                       values={"subject_name": subject.name, "uscc": subject.uscc, "decision_no": f"德市监罚〔2026〕9{n}号",
                               "violation_type": "未按规定公示", "penalty_type": "警告", "penalty_content": "警告",
                               "authority": "德州市市场监督管理局", "decision_date": TODAY.isoformat()},
                       decision_date=TODAY, publish_from=TODAY, publish_until=date(2099, 1, 1))


def test_new_penalties_and_grade_changes_reach_the_monitoring_bank_once(db: Session, clock: Any) -> None:
    clock.set(TODAY)
    watched, other = firm(db, 1), firm(db, 2)
    b = bank(db, 1)
    monitoring.scan(db, TODAY)  # the cursor starts after what exists
    grant = service.create_grant(db, watched.actor, institution_id=b.institution.id, items=["admin_penalty"],
                                 purpose="monitoring", expires_on=TODAY + timedelta(days=365), need_id=None,
                                 today=TODAY)
    _penalty(db, watched.subject, 1)
    _penalty(db, other.subject, 2)
    db.commit()
    assert monitoring.scan(db, TODAY) == 1
    assert monitoring.scan(db, TODAY) == 0  # the cursor moved: nothing read twice
    events = _events(db)
    assert [(e.target, e.event_type) for e in events] == [(f"fi:{b.institution.id}", "penalty.new")]
    payload = json.loads(events[0].payload)
    assert payload["uscc"] == watched.subject.uscc and payload["decision_no"] == "德市监罚〔2026〕91号"
    emit_changes(db, "city_comprehensive", [(watched.subject.id, "A", "B"), (other.subject.id, "B", "C")])
    emit_changes(db, "city_comprehensive", [(watched.subject.id, "A", "B")])  # same change again: same key
    db.commit()
    grades = [e for e in _events(db) if e.event_type == "grade.changed"]
    assert len(grades) == 1 and json.loads(grades[0].payload)["new"] == "B"
    # revoked: nothing more
    service.revoke_grant(db, watched.actor, grant.id, TODAY)
    _penalty(db, watched.subject, 3)
    db.commit()
    assert monitoring.scan(db, TODAY + timedelta(days=1)) == 0
    assert len(_events(db)) == 2


def test_a_grant_for_a_need_is_not_a_monitoring_subscription(db: Session, clock: Any) -> None:
    clock.set(TODAY)
    f = firm(db, 1)
    b = bank(db, 1)
    monitoring.scan(db, TODAY)
    need = service.create_need(db, f.actor, amount=500_000, term=12, purpose="x", product_id=None, today=TODAY)
    service.create_grant(db, f.actor, institution_id=b.institution.id, items=["admin_penalty"], purpose="need",
                         expires_on=TODAY + timedelta(days=30), need_id=need.id, today=TODAY)
    _penalty(db, f.subject, 1)
    db.commit()
    assert monitoring.scan(db, TODAY) == 0 and _events(db) == []


def test_a_webhook_must_be_a_public_address(db: Session) -> None:
    import pytest

    from xinyong.core.errors import DomainError

    b = bank(db, 1)
    with pytest.raises(DomainError, match=r"内网|回环"):
        service.set_webhook(db, b.institution, "http://127.0.0.1:8080/hook")
    assert b.institution.webhook_url is None


def test_a_city_wide_grade_change_is_matched_without_a_huge_parameter_list(db: Session) -> None:
    """A full evaluation run reports every subject as changed: the listener must not bind them all at once
    (PostgreSQL refuses more than 65,535 parameters)."""
    many = list(range(1, 100_001))
    assert monitoring.watchers(db, date(2026, 12, 4), many) == {}
    monitoring.on_grades(db, "city_comprehensive", [(sid, "B", "C") for sid in many])
