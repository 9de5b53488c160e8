"""Legal time: the system clock in production, a fixed clock only where a test or the demo installs one."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from xinyong.core import clock
from xinyong.core.clock import FixedClock

SRC = Path(__file__).resolve().parents[2] / "src" / "xinyong"


def test_without_an_installed_clock_today_is_the_system_date() -> None:
    assert clock.today() == date.today()


def test_an_environment_variable_does_not_move_legal_time(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XINYONG_TODAY", "XINYONG_DEMO_TODAY"):
        monkeypatch.setenv(name, "2030-01-01")
    assert clock.today() == date.today()


def test_no_module_reads_a_date_from_the_environment() -> None:
    readers = re.compile(r"(environ|getenv)[^\n]*TODAY")
    found = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if readers.search(p.read_text(encoding="utf-8"))]
    assert found == []


def test_every_today_in_the_code_reads_the_clock() -> None:
    system_today = re.compile(r"(?<![\w.])(date|datetime)\.today\(\)")
    found = [f"{p.relative_to(SRC)}:{i}" for p in sorted(SRC.rglob("*.py")) if p.name != "clock.py"
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if system_today.search(line)]
    assert found == [], "use xinyong.core.clock.today(), so tests and the demo can move legal time"


def test_use_installs_a_clock_for_the_block_and_restores_the_previous_one() -> None:
    outer, inner = FixedClock(date(2026, 3, 2)), FixedClock(date(2027, 1, 1))
    with clock.use(outer) as installed:
        assert installed is outer and clock.today() == date(2026, 3, 2)
        with clock.use(inner):
            assert clock.today() == date(2027, 1, 1)
        assert clock.today() == date(2026, 3, 2)
    assert clock.today() == date.today()


def test_use_restores_the_clock_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), clock.use(FixedClock(date(2026, 3, 2))):
        raise RuntimeError("boom")
    assert clock.today() == date.today()


def test_a_fixed_clock_moves_only_when_told() -> None:
    fixed = FixedClock(date(2026, 2, 27))
    with clock.use(fixed):
        assert clock.today() == date(2026, 2, 27)
        assert fixed.advance(2) == date(2026, 3, 1) == clock.today()
        fixed.set(date(2026, 4, 10))
        assert clock.today() == date(2026, 4, 10)


def test_another_thread_keeps_the_system_clock() -> None:
    seen: list[date] = []
    with clock.use(FixedClock(date(2001, 1, 1))):
        worker = threading.Thread(target=lambda: seen.append(clock.today()))
        worker.start()
        worker.join()
    assert seen == [date.today()]


def test_the_fixture_moves_the_clock_of_requests_sent_from_the_test(clock: FixedClock) -> None:
    from xinyong.core import clock as legal_time

    app = FastAPI()

    @app.get("/today")
    def sync_today() -> str:  # run in the thread pool
        return legal_time.today().isoformat()

    @app.get("/today-async")
    async def async_today() -> str:  # run on the event loop
        return legal_time.today().isoformat()

    with TestClient(app) as client:
        assert client.get("/today").json() == date.today().isoformat()
        clock.set(date(2026, 4, 10))
        assert client.get("/today").json() == "2026-04-10" == client.get("/today-async").json()
        clock.set(clock.today() + timedelta(days=1))
        assert client.get("/today").json() == "2026-04-11"
