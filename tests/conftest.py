"""Fixtures: every storage test runs on SQLite and on PostgreSQL, each run in its own database."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

os.environ.setdefault("XINYONG_SECRET_KEY", "test-secret-key-0123456789abcdef")
os.environ.setdefault("TZ", "Asia/Shanghai")

from xinyong import db_models
from xinyong.core import crypto
from xinyong.core.clock import FixedClock
from xinyong.core.db import Base, new_session, reset_engine
from xinyong.core.settings import reset_settings
from xinyong.web.app import load_domains

PG_ADMIN_URL = os.environ.get("XINYONG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_ = db_models
load_domains()  # every domain's listeners and jobs, as the app and the CLI have them


def _pg_available() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


def _ensure_pg() -> bool:
    if _pg_available():
        return True
    try:
        versions = os.listdir("/etc/postgresql")
        for version in versions:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                           check=False, timeout=60)
    except (OSError, subprocess.SubprocessError):
        pass
    return _pg_available()


def truncate_all(engine: Engine) -> None:
    from xinyong.records.service import forget_layouts

    forget_layouts()  # the ids of payload layouts are handed out again from 1
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp(f"sqlite-{worker}") / "xinyong.db"
        url = f"sqlite:///{path}"
        drop = None
    else:
        if not _ensure_pg():
            if CI:
                pytest.fail("PostgreSQL 不可用（127.0.0.1:5432）：CI 中不允许跳过 PostgreSQL 测试，请启动数据库")
            pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (set CI=true to make this a failure)")
        name = f"xinyong_test_{worker}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        drop = (admin, name)
    os.environ["XINYONG_DATABASE_URL"] = url
    os.environ["XINYONG_VAR_DIR"] = str(tmp_path_factory.mktemp(f"var-{request.param}"))
    reset_settings()
    crypto.clear_key_cache()
    reset_engine()
    from xinyong.core.db import get_engine

    Base.metadata.create_all(get_engine())
    yield request.param
    reset_engine()
    if drop is not None:
        admin, name = drop
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(autouse=True)
def witness_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test its own audit witness directory: the witness follows one database, and tests empty theirs."""
    path = tmp_path_factory.mktemp("witness")
    monkeypatch.setenv("XINYONG_AUDIT_WITNESS_DIR", str(path))
    reset_settings()
    yield path
    reset_settings()


@pytest.fixture(autouse=True)
def _fresh_login_throttle() -> Iterator[None]:
    """Login failures are counted in process memory: every test starts with none."""
    from xinyong.subject_accounts import throttle

    throttle.reset()
    yield
    throttle.reset()


@pytest.fixture
def engine(backend: str) -> Iterator[Engine]:
    from xinyong.core.db import get_engine

    eng = get_engine()
    yield eng
    truncate_all(eng)


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session on a clean database (SQLite, then PostgreSQL). Tests commit freely; tables are emptied after."""
    session = new_session()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    """Rate-limit counts (login failures, downloads) do not carry from one test to the next."""
    from xinyong.core.throttle import reset_throttles

    reset_throttles()
    yield


@pytest.fixture
def client(engine: Engine) -> Iterator[object]:
    from web_support import browser_like_client
    from xinyong.web.app import create_app

    with browser_like_client(create_app()) as c:  # type: ignore[attr-defined]
        yield c


@pytest.fixture
def bare_client(engine: Engine) -> Iterator[object]:
    """A client that sends exactly what the test gives it: no CSRF token added."""
    from fastapi.testclient import TestClient

    from xinyong.web.app import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def clock() -> Iterator[FixedClock]:
    """Legal time for this test and the requests its TestClient sends: today until the test moves it
    (`clock.set(date(2026, 4, 10))`). Production has no such hook; see xinyong.core.clock."""
    from xinyong.core import clock as legal_time

    with legal_time.use(FixedClock(date.today())) as fixed:
        yield fixed


@pytest.fixture
def dept_key(db: Session) -> tuple[str, str]:
    """A providing department 'SCJG' with an API key: (code, key)."""
    from xinyong.accounts import service as accounts

    accounts.add_department(db, "SCJG", "德州市市场监督管理局")
    key = accounts.create_api_key(db, "SCJG")
    db.commit()
    return "SCJG", key


FIXTURES = Path(__file__).parent / "fixtures"

# The field catalog_with_field adds to an item.
ADDED_FIELD = """  - name: case_source
    label: 案件来源
    type: string
"""


@pytest.fixture
def catalog_with_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Switches to a copy of the configuration where an item has one more field: second ("middle": the values
    after it move one place) or last ("end")."""
    from xinyong.catalog.service import reset_catalog_cache
    from xinyong.core.settings import REPO_ROOT

    def change(where: str = "middle", item: str = "admin_penalty") -> None:
        config = tmp_path / f"config-{where}-{item}"
        shutil.copytree(REPO_ROOT / "config", config)
        path = config / "catalog" / f"{item}.yaml"
        text = path.read_text(encoding="utf-8")
        if where == "middle":
            second = text.index("\n  - name: ", text.index("\n  - name: ") + 1) + 1
            text = text[:second] + ADDED_FIELD + text[second:]
        else:
            text = text.rstrip("\n") + "\n" + ADDED_FIELD
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("XINYONG_CONFIG_DIR", str(config))
        reset_catalog_cache()

    yield change
    monkeypatch.delenv("XINYONG_CONFIG_DIR", raising=False)
    reset_catalog_cache()
