"""Browser-test helpers: a live xinyong server on a temporary SQLite database, and a Playwright page.

Use from a test module:

    from browser_support import browser_page, live_server, live_server_seed  # noqa: F401  (fixtures)

    @pytest.fixture(scope="module")
    def live_server_seed():
        def seed(session):            # called once, before the server starts, in one transaction
            ...add departments, subjects, records...
        return seed

    @pytest.mark.browser
    def test_something(live_server, browser_page):
        browser_page.goto(live_server + "/search")

The server runs in a subprocess (`uvicorn xinyong.web.app:create_app --factory`) so it has its own
settings and engine; it is stopped (by its process id) when the module's tests are done.
Chromium is Debian's /usr/bin/chromium: missing, the tests skip — or fail when CI=true.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("XINYONG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PHONE = {"width": 390, "height": 844}
REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"服务进程已退出（返回码 {proc.returncode}）")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"服务在 {timeout:.0f} 秒内没有启动：{url}")


def _prepare_database(url: str, seed: Callable[[Any], None] | None) -> None:
    from sqlalchemy.orm import Session

    from xinyong import db_models  # noqa: F401  (every table)
    from xinyong.core.db import Base, make_engine

    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        if seed is not None:
            with Session(engine, expire_on_commit=False) as session:
                seed(session)
                session.commit()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live_server_seed() -> Callable[[Any], None] | None:
    """Override in a test module to put data into the live server's database (receives a Session)."""
    return None


# The database URL behind each running live server, for tests that read what a page wrote (e.g. the code
# printed on a downloaded report, which a person would read off the paper).
live_databases: dict[str, str] = {}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory,
                live_server_seed: Callable[[Any], None] | None) -> Iterator[str]:
    """Base URL of a running server on a fresh, seeded SQLite database."""
    work = tmp_path_factory.mktemp("live-server")
    url = f"sqlite:///{work / 'xinyong.db'}"
    env = {**os.environ, "XINYONG_DATABASE_URL": url, "XINYONG_VAR_DIR": str(work / "var"),
           "XINYONG_AUDIT_WITNESS_DIR": str(work / "audit-witness"),
           "XINYONG_SECRET_KEY": os.environ.get("XINYONG_SECRET_KEY", "test-secret-key-0123456789abcdef")}
    # Seed in this process with the same settings the server will see (keys, catalog).
    saved = {k: os.environ.get(k) for k in ("XINYONG_DATABASE_URL", "XINYONG_VAR_DIR", "XINYONG_AUDIT_WITNESS_DIR")}
    os.environ.update({k: env[k] for k in saved})
    from xinyong.core import crypto
    from xinyong.core.settings import reset_settings

    reset_settings()
    crypto.clear_key_cache()
    try:
        _prepare_database(url, live_server_seed)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()
        crypto.clear_key_cache()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    live_databases[base] = url
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "xinyong.web.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(base, proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


_shared: dict[str, Any] = {}


def shared_browser(config: pytest.Config) -> Any:
    """One Chromium for the whole test session, closed when pytest ends."""
    if "browser" not in _shared:
        if not os.path.exists(CHROMIUM):
            message = f"找不到 Chromium（{CHROMIUM}）：请运行 make system-deps 或 apt-get install chromium"
            if CI:
                pytest.fail(message)
            pytest.skip(message + "（设置 CI=true 时此项为失败）")
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        _shared["pw"] = pw
        _shared["browser"] = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def close() -> None:
            _shared.pop("browser").close()
            _shared.pop("pw").stop()

        config.add_cleanup(close)
    return _shared["browser"]


@pytest.fixture(scope="session")
def _browser(pytestconfig: pytest.Config) -> Any:
    """The shared Chromium (kept for modules that import it; browser_page no longer needs it)."""
    return shared_browser(pytestconfig)


@pytest.fixture
def browser_page(pytestconfig: pytest.Config) -> Iterator[Any]:
    """A fresh page (its own context: cookies, storage) in a desktop-sized window; use
    page.set_viewport_size(PHONE) for a phone."""
    context = shared_browser(pytestconfig).new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()
