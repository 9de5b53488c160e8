"""The outbox contract: enqueue is idempotent on (target, key), in the caller's transaction."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.exchange import outbox
from xinyong.exchange.models import OutboxEvent


def test_enqueue_is_idempotent_on_key(db: Session) -> None:
    outbox.enqueue(db, target="provincial", event_type="record.revoked", payload={"record_id": 7}, key="k1",
                   record_key="record:7")
    outbox.enqueue(db, target="provincial", event_type="record.revoked", payload={"record_id": 7}, key="k1",
                   record_key="record:7")
    db.commit()
    outbox.enqueue(db, target="provincial", event_type="record.revoked", payload={"record_id": 8}, key="k1")
    outbox.enqueue(db, target="national", event_type="record.revoked", payload={"record_id": 7}, key="k1")
    db.commit()
    rows = list(db.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
    assert [(r.target, r.key, r.state) for r in rows] == [("provincial", "k1", "queued"), ("national", "k1", "queued")]
    assert json.loads(rows[0].payload) == {"record_id": 7}
    assert rows[0].record_key == "record:7"


def test_enqueue_rolls_back_with_the_caller(db: Session) -> None:
    outbox.enqueue(db, target="provincial", event_type="x", payload={}, key="gone")
    db.rollback()
    assert db.scalar(select(func.count()).select_from(OutboxEvent)) == 0


def test_enqueue_many_skips_known_keys(db: Session) -> None:
    outbox.enqueue(db, target="provincial", event_type="x", payload={}, key="a")
    db.flush()
    n = outbox.enqueue_many(db, [
        {"target": "provincial", "event_type": "x", "key": k, "record_key": None, "payload": "{}"}
        for k in ("a", "b", "b", "c")])
    db.commit()
    assert n == 2
    assert sorted(db.scalars(select(OutboxEvent.key))) == ["a", "b", "c"]
