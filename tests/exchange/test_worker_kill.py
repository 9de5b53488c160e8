"""kill -9 of a worker in the middle of a delivery: nothing lost, no second copy at the receiver, order per
record kept; two workers side by side deliver nothing twice. Real processes, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from exchange_support import Receiver, service_target, wait_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.exchange import outbox
from xinyong.exchange.models import OutboxEvent

SRC = str(Path(__file__).resolve().parents[2] / "src")
N, RECORDS, BATCH = 1200, 40, 40


def _worker() -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", "from xinyong.cli import app; app()", "worker", "--interval", "1",
                             "--no-jobs"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _delivered(db: Session) -> int:
    db.expire_all()
    db.rollback()
    return int(db.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.state == "delivered")) or 0)


@pytest.mark.slow
def test_kill_9_mid_delivery_loses_and_duplicates_nothing(db: Session, receiver: Receiver,
                                                          targets: Callable[..., Any]) -> None:
    targets(**service_target(receiver, batch_size=BATCH, lease_seconds=2))
    for i in range(N):
        outbox.enqueue(db, target="provincial", event_type="penalty.insert", payload={"n": i}, key=f"ev-{i:05d}",
                       record_key=f"record:{i % RECORDS}")
    db.commit()
    receiver.mode("slow", seconds=0.15)
    first = _worker()
    try:
        wait_for(lambda: receiver.state()["count"] >= N // 4, timeout=120)
        first.send_signal(signal.SIGKILL)  # in the middle: a batch is on the wire or being answered
        first.wait()
        at_kill = receiver.state()["count"]
        assert 0 < at_kill < N
        receiver.mode("ok")
        others = [_worker(), _worker()]  # two successors side by side
        try:
            wait_for(lambda: _delivered(db) == N, timeout=240)
        finally:
            for p in others:
                p.send_signal(signal.SIGTERM)
            for p in others:
                p.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    st = receiver.state()
    assert st["count"] == N  # nothing lost
    assert len(st["order"]) == len(set(st["order"])) == N  # one copy per key at the receiver
    assert st["duplicates"] <= BATCH  # only the batch that was in flight at the kill was sent again
    for seqs in st["per_record"].values():
        assert seqs == sorted(seqs)  # order per record
    db.expire_all()
    assert set(db.scalars(select(OutboxEvent.state))) == {"delivered"}
