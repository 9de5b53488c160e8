"""Scheduled work: daily jobs (end of publication, list expiry, overdue flags) and periodic ones (webhook delivery).

Domains register jobs at import; `xinyong jobs run-daily` runs the daily ones once, and `serve` runs a small
scheduler thread. Each job runs in its own transaction so one failure does not undo the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from xinyong.core import clock
from xinyong.core.db import session_scope

log = logging.getLogger("xinyong.jobs")

DailyJob = Callable[[Session, date], int]
PeriodicJob = Callable[[Session], int]


@dataclass(frozen=True)
class _Periodic:
    name: str
    seconds: float
    fn: PeriodicJob


_daily: dict[str, DailyJob] = {}
_periodic: dict[str, _Periodic] = {}


def register_daily(name: str, fn: DailyJob) -> None:
    _daily[name] = fn


def register_periodic(name: str, seconds: float, fn: PeriodicJob) -> None:
    _periodic[name] = _Periodic(name, seconds, fn)


def daily_jobs() -> dict[str, DailyJob]:
    return dict(_daily)


def periodic_jobs() -> dict[str, _Periodic]:
    return dict(_periodic)


def run_daily(today: date | None = None) -> dict[str, int | str]:
    """Run every daily job once; returns what each did (a count) or its error (in Chinese)."""
    today = today or clock.today()
    results: dict[str, int | str] = {}
    for name, fn in sorted(_daily.items()):
        try:
            with session_scope() as session:
                results[name] = fn(session, today)
        except Exception as exc:  # one broken job must not stop the others
            log.exception("daily job %s failed", name)
            results[name] = f"失败：{exc}"
    return results


def run_periodic_once(name: str) -> int:
    job = _periodic[name]
    with session_scope() as session:
        return job.fn(session)


class Scheduler:
    """A daemon thread: periodic jobs at their interval, daily jobs once per calendar day."""

    def __init__(self, tick: float = 1.0) -> None:
        self._stop = threading.Event()
        self._tick = tick
        self._thread = threading.Thread(target=self._loop, name="xinyong-scheduler", daemon=True)
        self._last_daily: date | None = None
        self._next: dict[str, float] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        import time

        while not self._stop.is_set():
            now = time.monotonic()
            for name, job in periodic_jobs().items():
                if now >= self._next.get(name, 0.0):
                    self._next[name] = now + job.seconds
                    try:
                        run_periodic_once(name)
                    except Exception:
                        log.exception("periodic job %s failed", name)
            today = clock.today()
            if self._last_daily != today:
                self._last_daily = today
                run_daily(today)
            self._stop.wait(self._tick)
