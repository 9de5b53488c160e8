"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from xinyong import db_models
from xinyong.core.db import Base
from xinyong.core.migrate import is_managed, upgrade
from xinyong.core.settings import reset_settings

_ = db_models
PG_ADMIN_URL = os.environ.get("XINYONG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database that has never seen create_all: SQLite file or a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"xinyong_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _name(diff: object) -> str | None:
    entry = diff[0] if isinstance(diff, list) else diff
    obj = entry[1] if isinstance(entry, tuple) and len(entry) > 1 else None
    return getattr(obj, "name", None)


def test_upgrade_head_builds_the_schema_the_models_describe(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_DATABASE_URL", fresh_url)
    reset_settings()
    try:
        upgrade()
        engine = create_engine(fresh_url)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = [d for d in compare_metadata(ctx, Base.metadata) if is_managed(_name(d))]
            tables = set(inspect(conn).get_table_names())
        engine.dispose()
        assert diff == []
        assert {"subjects", "records", "batches", "list_entries", "objections", "audit_events"} <= tables
    finally:
        monkeypatch.undo()
        reset_settings()
