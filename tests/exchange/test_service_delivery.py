"""Delivery to a real receiving platform process (HTTP, signed), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from exchange_support import Receiver, service_target
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.core.db import utcnow
from xinyong.exchange import outbox, service
from xinyong.exchange.config import get_targets
from xinyong.exchange.models import OutboxEvent


def _queue(db: Session, n: int, target: str = "provincial", records: int = 3) -> None:
    for i in range(n):
        outbox.enqueue(db, target=target, event_type="penalty.insert", payload={"i": i}, key=f"k{i:04d}",
                       record_key=f"record:{i % records}", dept_id=None)
    db.commit()


def _states(db: Session) -> dict[str, int]:
    db.expire_all()
    out: dict[str, int] = {}
    for state in db.scalars(select(OutboxEvent.state)):
        out[state] = out.get(state, 0) + 1
    return out


def test_delivers_in_order_with_keys(db: Session, receiver: Receiver, targets: Callable[..., Any]) -> None:
    targets(**service_target(receiver, batch_size=7))
    _queue(db, 30)
    report = service.deliver_target(db, get_targets()["provincial"], owner="t1")
    assert (report.delivered, report.batches) == (30, 5)
    st = receiver.state()
    assert st["order"] == [f"k{i:04d}" for i in range(30)] and st["duplicates"] == 0
    for seqs in st["per_record"].values():
        assert seqs == sorted(seqs)
    assert _states(db) == {"delivered": 30}


def test_partial_rejects_are_kept_with_the_reason(db: Session, receiver: Receiver,
                                                  targets: Callable[..., Any]) -> None:
    targets(**service_target(receiver))
    _queue(db, 5)
    receiver.mode("ok", reject_keys=["k0001", "k0003"])
    service.deliver_target(db, get_targets()["provincial"], owner="t1")
    rejected = {e.key: e.feedback for e in db.scalars(select(OutboxEvent).where(OutboxEvent.state == "rejected"))}
    assert rejected == {"k0001": "统一社会信用代码校验位错误", "k0003": "统一社会信用代码校验位错误"}
    assert _states(db) == {"delivered": 3, "rejected": 2}


def test_errors_back_off_then_dead_then_replay(db: Session, receiver: Receiver,
                                               targets: Callable[..., Any]) -> None:
    targets(**service_target(receiver))
    _queue(db, 4)
    target = get_targets()["provincial"]
    for mode in ("fail", "garbage"):
        receiver.mode(mode)
        report = service.deliver_target(db, target, owner="t1")
        assert report.failed == 4 and report.delivered == 0
        db.expire_all()
        ev = db.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).first()
        assert ev is not None and ev.state == "queued" and ev.next_attempt_at > utcnow()
        assert ("HTTP 500" if mode == "fail" else "无法解析") in (ev.last_error or "")
        for e in db.scalars(select(OutboxEvent)):
            e.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.commit()
    status = {s["code"]: s for s in service.target_status(db, today=utcnow().date())}["provincial"]
    assert status["queued"] == 4 and "无法解析" in (status["last_problem"] or "")
    # past the dead-letter time: dead, visible, nothing sent
    for e in db.scalars(select(OutboxEvent)):
        e.created_at = utcnow() - timedelta(hours=2)
        e.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.commit()
    receiver.mode("fail")
    assert service.deliver_target(db, target, owner="t1").dead == 4
    assert _states(db) == {"dead": 4}
    receiver.mode("ok")
    assert service.replay(db, "provincial", actor="operator") == 4
    db.commit()
    service.deliver_target(db, target, owner="t1")
    assert _states(db) == {"delivered": 4}
    assert receiver.state()["count"] == 4


def test_unreachable_and_slow_receivers_are_retried(db: Session, receiver: Receiver,
                                                    targets: Callable[..., Any]) -> None:
    spec = service_target(receiver)
    spec["service"]["url"] = "http://127.0.0.1:9/exchange"  # nothing listens there
    targets(**spec)
    _queue(db, 2)
    report = service.deliver_target(db, get_targets()["provincial"], owner="t1")
    assert report.failed == 2
    db.expire_all()
    assert all("连接接收方失败" in (e.last_error or "") for e in db.scalars(select(OutboxEvent)))
    targets(**service_target(receiver))
    receiver.mode("slow", seconds=3)  # beyond the 2 s timeout: a failure, retried; the receiver may keep it
    for e in db.scalars(select(OutboxEvent)):
        e.next_attempt_at = utcnow()
    db.commit()
    assert service.deliver_target(db, get_targets()["provincial"], owner="t1").failed == 2
    receiver.mode("ok")
    for e in db.scalars(select(OutboxEvent)):
        e.next_attempt_at = utcnow()
    db.commit()
    assert service.deliver_target(db, get_targets()["provincial"], owner="t1").delivered == 2
    assert receiver.state()["count"] == 2  # the key: one copy, however often it arrived


def test_order_per_record_waits_behind_a_backed_off_event(db: Session, receiver: Receiver,
                                                          targets: Callable[..., Any]) -> None:
    targets(**service_target(receiver))
    _queue(db, 6, records=2)  # record:0 = k0,k2,k4; record:1 = k1,k3,k5
    first = db.scalars(select(OutboxEvent).where(OutboxEvent.key == "k0000")).one()
    first.next_attempt_at = utcnow() + timedelta(minutes=5)
    db.commit()
    service.deliver_target(db, get_targets()["provincial"], owner="t1")
    assert receiver.state()["order"] == ["k0001", "k0003", "k0005"]


def test_a_held_lease_keeps_a_second_worker_out(db: Session, receiver: Receiver,
                                                targets: Callable[..., Any]) -> None:
    targets(**service_target(receiver))
    _queue(db, 3)
    assert service.claim(db, "deliver:provincial", "other-worker", 60)
    assert service.deliver_target(db, get_targets()["provincial"], owner="t1").delivered == 0
    assert receiver.state()["posts"] == 0
    service.release(db, "deliver:provincial", "other-worker")
    assert service.deliver_target(db, get_targets()["provincial"], owner="t1").delivered == 3
