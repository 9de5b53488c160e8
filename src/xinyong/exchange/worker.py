"""`xinyong worker`: upstream scan and delivery, the webhooks and every other periodic job of `core/jobs`, and
the daily jobs — each once per interval across all workers and servers, by database leases (worker_leases:
`UPDATE … SET lease_until … WHERE lease_until < now`), never by a flag in memory. Start as many as you like."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from xinyong.core import clock, jobs
from xinyong.core.db import new_session, utcnow
from xinyong.exchange import outbox, service, upstream
from xinyong.exchange.adapters.base import RegisteredAdapter
from xinyong.exchange.config import Target, get_targets
from xinyong.exchange.models import OutboxEvent

log = logging.getLogger("xinyong.worker")
DEFAULT_INTERVAL = 60.0
JOB_LEASE = 600.0  # longest a periodic job may run before another worker may start it again


def new_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _registered_targets(configured: dict[str, Target]) -> dict[str, Target]:
    """Targets in the outbox that other domains deliver (outbox.register_deliverer), as plain targets."""
    with new_session() as session:
        names = list(session.scalars(select(OutboxEvent.target).where(OutboxEvent.state == "queued").distinct()))
    out = {}
    for name in names:
        if name not in configured and outbox.deliverer_for(name) is not None:
            out[name] = Target.model_construct(code=name, name=name, adapter="service", receives=[], enabled=True,
                                               batch_size=200, dead_after_hours=72.0, backoff_seconds=30.0,
                                               backoff_max_seconds=3600.0, lease_seconds=120.0)
    return out


class Worker:
    def __init__(self, *, interval: float = DEFAULT_INTERVAL, owner: str | None = None,
                 run_jobs: bool = True, targets: dict[str, Target] | None = None) -> None:
        self.interval = interval
        self.owner = owner or new_owner()
        self.run_jobs = run_jobs
        self._targets = targets
        self._next: dict[str, float] = {}
        self.stop_event = threading.Event()

    def targets(self) -> dict[str, Target]:
        return self._targets if self._targets is not None else get_targets()

    # ------------------------------------------------------------ one pass of each kind of work

    def scan(self) -> dict[str, int]:
        with new_session() as session:
            if not service.claim(session, "scan:upstream", self.owner, max(self.interval * 2, 30)):
                return {}
            try:
                queued = upstream.scan(session, targets=self.targets())
                session.commit()
            except Exception as exc:
                session.rollback()
                log.exception("upstream scan failed")
                service.release(session, "scan:upstream", self.owner, note=f"扫描出错：{exc}"[:1000])
                return {}
            service.release(session, "scan:upstream", self.owner, success=True)
            return queued

    def deliver(self, budget: float | None = None) -> list[service.DeliveryReport]:
        reports = []
        configured = {c: t for c, t in self.targets().items() if t.enabled}
        for target in configured.values():
            with new_session() as session:
                reports.append(service.deliver_target(session, target, owner=self.owner,
                                                      budget_seconds=budget or self.interval * 0.9))
        for name, target in _registered_targets(configured).items():
            fn = outbox.deliverer_for(name)
            if fn is None:  # pragma: no cover - filtered above
                continue
            with new_session() as session:
                reports.append(service.deliver_target(session, target, owner=self.owner,
                                                      adapter=RegisteredAdapter(target, fn),
                                                      budget_seconds=budget or self.interval * 0.9))
        return reports

    def periodic(self) -> dict[str, Any]:
        """Every job of core/jobs once per its interval across all workers: the lease is held while the job
        runs (up to JOB_LEASE seconds), then kept until the job's interval has passed since it started."""
        done: dict[str, Any] = {}
        for name, job in jobs.periodic_jobs().items():
            owner = f"{self.owner}:{time.monotonic_ns()}"
            started = utcnow()
            with new_session() as session:
                if not service.claim(session, f"job:{name}", owner, max(job.seconds, JOB_LEASE)):
                    continue
            try:
                done[name] = jobs.run_periodic_once(name)
            except Exception as exc:
                log.exception("periodic job %s failed", name)
                done[name] = f"失败：{exc}"
            with new_session() as session:
                service.hold_until(session, f"job:{name}", owner, started + timedelta(seconds=job.seconds))
        return done

    def daily(self, today: date | None = None) -> dict[str, int | str] | None:
        today = today or clock.today()
        with new_session() as session:
            if not service.claim_daily(session, self.owner, today):
                return None
        return jobs.run_daily(today)

    def run_once(self) -> dict[str, Any]:
        result: dict[str, Any] = {"queued": self.scan()}
        result["delivered"] = {r.target: {"delivered": r.delivered, "rejected": r.rejected, "failed": r.failed,
                                          "dead": r.dead} for r in self.deliver()}
        if self.run_jobs:
            result["jobs"] = self.periodic()
            result["daily"] = self.daily()
        return result

    # ------------------------------------------------------------ the loop

    def _due(self, name: str, every: float) -> bool:
        now = time.monotonic()
        if now >= self._next.get(name, 0.0):
            self._next[name] = now + every
            return True
        return False

    def run_forever(self, tick: float = 1.0) -> None:
        log.info("worker %s started (interval %ss)", self.owner, self.interval)
        while not self.stop_event.is_set():
            try:
                if self._due("exchange", self.interval):
                    self.scan()
                    self.deliver()
                if self.run_jobs:
                    self.periodic()
                    if self._due("daily", 60.0):
                        self.daily()
            except Exception:  # a broken database connection, say: log, wait, try again
                log.exception("worker pass failed")
            self.stop_event.wait(tick)
        log.info("worker %s stopped", self.owner)
