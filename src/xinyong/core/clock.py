"""Legal time: the day from which deadlines, waiting periods and publication windows are counted.

In production this is the system clock, and nothing outside the code can move it. Tests and the demo install
another clock explicitly, for the current context only (a request, a CLI command, a test), with `use()`:

    with clock.use(FixedClock(date(2026, 4, 10))):
        ...  # every clock.today() in this context (and in the requests a TestClient sends from it) is 2026-04-10

A context variable, not a module global: concurrent requests and threads never see each other's clock, and a
thread started inside `use()` sees the system clock unless it copies the context.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from typing import Protocol, TypeVar


class Clock(Protocol):
    def today(self) -> date: ...


class SystemClock:
    def today(self) -> date:
        return date.today()


class FixedClock:
    """A clock standing on one day (tests, the demo); `set()` or `advance()` moves it."""

    def __init__(self, day: date) -> None:
        self.day = day

    def set(self, day: date) -> None:
        self.day = day

    def advance(self, days: int) -> date:
        self.day = self.day + timedelta(days=days)
        return self.day

    def today(self) -> date:
        return self.day


SYSTEM = SystemClock()
_current: ContextVar[Clock] = ContextVar("xinyong_clock", default=SYSTEM)


def today() -> date:
    return _current.get().today()


C = TypeVar("C", bound=Clock)


@contextmanager
def use(clock: C) -> Iterator[C]:
    """Install `clock` for the current context until the block ends."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)
