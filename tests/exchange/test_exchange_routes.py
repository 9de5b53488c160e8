"""/admin/exchange for the credit office, rejected rows for their department (API and page), replay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exchange_support import Receiver, service_target
from sqlalchemy import select
from sqlalchemy.orm import Session

from due_process_support import world
from xinyong.accounts import service as accounts
from xinyong.exchange import outbox, service
from xinyong.exchange.config import get_targets
from xinyong.exchange.models import OutboxEvent


def _rejected_world(db: Session, receiver: Receiver, targets: Callable[..., Any]) -> Any:
    w = world(db)
    targets(**service_target(receiver))
    for i, dept in enumerate([w.scjg, w.scjg, w.sw]):
        outbox.enqueue(db, target="provincial", event_type="penalty.insert",
                       payload={"decision_no": f"罚〔2026〕{i}号"}, key=f"record:{i}", dept_id=dept.id)
    db.commit()
    receiver.mode("ok", reject_keys=["record:0", "record:2"])
    service.deliver_target(db, get_targets()["provincial"], owner="t")
    return w


def test_department_sees_its_rejections_and_resends(client: Any, db: Session, receiver: Receiver,
                                                    targets: Callable[..., Any]) -> None:
    w = _rejected_world(db, receiver, targets)
    got = client.get("/api/v1/exchange/rejections", headers=w.auth("scjg"))
    assert got.status_code == 200
    rows = got.json()
    assert [(r["key"], r["reason"]) for r in rows] == [("record:0", "统一社会信用代码校验位错误")]
    other = db.scalars(select(OutboxEvent).where(OutboxEvent.key == "record:2")).one()
    assert client.post(f"/api/v1/exchange/rejections/{other.id}/resend", headers=w.auth("scjg")).status_code == 404
    delivered = db.scalars(select(OutboxEvent).where(OutboxEvent.key == "record:1")).one()
    r = client.post(f"/api/v1/exchange/rejections/{delivered.id}/resend", headers=w.auth("scjg"))
    assert r.status_code == 422 and "被退回" in r.json()["detail"]
    r = client.post(f"/api/v1/exchange/rejections/{rows[0]['id']}/resend", headers=w.auth("scjg"))
    assert r.json() == {"id": rows[0]["id"], "state": "queued"}
    receiver.mode("ok")
    service.deliver_target(db, get_targets()["provincial"], owner="t")
    assert "record:0" in receiver.state()["order"]
    assert client.get("/api/v1/exchange/rejections", headers=w.auth("scjg")).json() == []


def test_admin_page_counts_and_replay(client: Any, db: Session, receiver: Receiver,
                                      targets: Callable[..., Any]) -> None:
    _rejected_world(db, receiver, targets)
    outbox.enqueue(db, target="provincial", event_type="list.entry", payload={}, key="list:1")
    db.commit()
    for ev in db.scalars(select(OutboxEvent).where(OutboxEvent.key == "list:1")):
        ev.state, ev.last_error = "dead", "接收方返回 HTTP 500"
    db.commit()
    accounts.create_user(db, "boss", "boss1234567", dept_code="XYB", role="operator")
    accounts.create_user(db, "scjg1", "scjg1234567", dept_code="SCJG")
    db.commit()
    client.post("/admin/login", data={"username": "scjg1", "password": "scjg1234567"})
    assert client.get("/admin/exchange").status_code == 403
    page = client.get("/admin/exchange/rejections")
    assert page.status_code == 200 and "罚〔2026〕0号" in page.text and "罚〔2026〕2号" not in page.text
    client.post("/admin/logout")
    client.post("/admin/login", data={"username": "boss", "password": "boss1234567"})
    page = client.get("/admin/exchange")
    assert page.status_code == 200
    row = page.text.split('id="target-provincial"')[1].split("</tr>")[0]
    assert 'state=delivered">1<' in row and 'state=rejected">2<' in row and 'state=dead">1<' in row
    dead = client.get("/admin/exchange?target=provincial&state=dead")
    assert "接收方返回 HTTP 500" in dead.text
    r = client.post("/admin/exchange/replay", data={"target": "provincial"}, follow_redirects=False)
    assert r.status_code == 303
    db.expire_all()
    assert db.scalars(select(OutboxEvent.state).where(OutboxEvent.key == "list:1")).one() == "queued"
    assert client.post("/admin/exchange/replay", data={"target": "nowhere"}).status_code == 404
