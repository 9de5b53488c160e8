"""Checks with the lists and joint domains: a published black-list entry makes a subject dishonest."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from check_data import CLEAN, city, dept
from sqlalchemy.orm import Session

lists = pytest.importorskip("xinyong.lists.service")
BODY = {"matter": "2026年政府采购项目", "matter_type": "procurement", "purpose": "投标人资格审查"}


def _blacklist(db: Session, uscc: str) -> int:
    from xinyong.lists.schemas import ListEntryIn

    scjg = dept(db)
    today = date.today()
    entry = lists.propose(db, ListEntryIn(subject=uscc, list_type="scjg_serious_illegal", decision_no="德市监严列〔2026〕1号",
                                          decision_date=today - timedelta(days=5), facts="销售假冒伪劣食品，情节严重",
                                          basis="《市场监督管理严重违法失信名单管理办法》第九条"), dept=scjg, today=today)
    lists.notify(db, entry.id, dept=scjg, notified_at=today - timedelta(days=3), channel="直接送达", today=today)
    lists.publish(db, entry.id, dept=scjg, today=today)
    db.commit()
    return entry.id


def test_published_black_list_entry_makes_a_subject_dishonest(client, db: Session, dept_key) -> None:  # type: ignore[no-untyped-def]
    city(db)
    _, key = dept_key
    _blacklist(db, CLEAN)
    out = client.post("/api/v1/checks", json={"subject": CLEAN, **BODY}, headers={"Authorization": f"Bearer {key}"}).json()
    assert out["result"] == "dishonest" and out["lists"][0]["kind"] == "black"
    assert any("严重失信主体名单" in r for r in out["reasons"])
    assert isinstance(out["measures"], list)
    batch = client.post("/api/v1/checks/batch", json={"subjects": [CLEAN], **BODY},
                        headers={"Authorization": f"Bearer {key}"}).json()
    assert batch["results"][0]["result"] == "dishonest" and batch["results"][0]["lists"] == 1


def test_suspended_entry_only_asks_for_attention(db: Session) -> None:
    from xinyong.checks import service

    city(db)
    entry_id = _blacklist(db, CLEAN)
    lists.suspend_entry(db, entry_id, actor="test", reason="异议核实中")
    db.commit()
    out = service.check_one(db, dept=dept(db), subject=CLEAN, **BODY)
    assert out["result"] == "attention"
