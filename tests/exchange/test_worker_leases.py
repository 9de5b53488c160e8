"""Several workers: each periodic job once per interval and the daily jobs once per day, by database leases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy.orm import Session

from xinyong.core import jobs
from xinyong.exchange.worker import Worker

calls: list[str] = []


@pytest.fixture
def counting_jobs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    calls.clear()

    def periodic(session: Session) -> int:
        calls.append("p")
        return 1

    def daily(session: Session, day: date) -> int:
        calls.append(f"d{day}")
        return 1

    monkeypatch.setattr(jobs, "_periodic", {"bench": jobs._Periodic("bench", 3600, periodic)})
    monkeypatch.setattr(jobs, "_daily", {"count": daily})
    yield


def test_periodic_and_daily_jobs_run_once_across_workers(db: Session, counting_jobs: None) -> None:
    one, two = Worker(interval=1, targets={}), Worker(interval=1, targets={})
    assert one.periodic() == {"bench": 1}
    assert two.periodic() == {} and one.periodic() == {}  # within the job's interval: nobody runs it again
    assert one.daily(date(2026, 12, 2)) == {"count": 1}
    assert two.daily(date(2026, 12, 2)) is None
    assert two.daily(date(2026, 12, 3)) == {"count": 1}
    assert calls == ["p", "d2026-12-02", "d2026-12-03"]


def test_a_failing_job_does_not_stop_the_worker(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(session: Session) -> int:
        raise RuntimeError("坏了")

    monkeypatch.setattr(jobs, "_periodic", {"broken": jobs._Periodic("broken", 3600, broken)})
    assert Worker(interval=1, targets={}).periodic() == {"broken": "失败：坏了"}


def test_a_later_domain_delivers_its_own_targets(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import select

    from xinyong.exchange import outbox
    from xinyong.exchange.models import OutboxEvent

    seen: list[tuple[str, str, list[str]]] = []

    def bank_webhook(target: str, batch: str, events: list[dict[str, object]]) -> dict[str, tuple[str, str]]:
        seen.append((target, batch, [str(e["key"]) for e in events]))
        if target == "bank:9":
            raise outbox.DeliveryFailed("银行接收地址不可用")
        return {"loan:2": ("rejected", "贷款编号不存在")}

    monkeypatch.setattr(outbox, "_deliverers", {"bank": bank_webhook})
    for target in ("bank:3", "bank:9"):
        for k in ("loan:1", "loan:2"):
            outbox.enqueue(db, target=target, event_type="loan.change", payload={"k": k}, key=k, record_key=k)
    outbox.enqueue(db, target="nobody", event_type="x", payload={}, key="z")  # no deliverer: stays queued
    db.commit()
    Worker(interval=1, targets={}).deliver()
    assert sorted(t for t, _, _ in seen) == ["bank:3", "bank:9"]
    db.expire_all()
    states = {(e.target, e.key): (e.state, e.feedback or e.last_error)
              for e in db.scalars(select(OutboxEvent))}
    assert states[("bank:3", "loan:1")] == ("delivered", None)
    assert states[("bank:3", "loan:2")] == ("rejected", "贷款编号不存在")
    assert states[("bank:9", "loan:1")] == ("queued", "银行接收地址不可用")
    assert states[("nobody", "z")] == ("queued", None)
