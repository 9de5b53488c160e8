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


def test_secrets_move_from_their_own_table_into_the_record(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upgrading a database that has record_secrets rows (revision 405aa4a2b032) keeps every value."""
    from xinyong.core import crypto
    from xinyong.records.service import record_secrets

    monkeypatch.setenv("XINYONG_DATABASE_URL", fresh_url)
    reset_settings()
    try:
        upgrade("405aa4a2b032")
        engine = create_engine(fresh_url)
        hash_of = crypto.hasher("record_secret")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO records (id, subject_id, item_code, dept_id, record_key, content_hash, state, version, "
                "late, payload, created_at) VALUES (:id, 1, 'admin_penalty', 1, :key, 'h', 'active', 1, false, "
                "'{}', CURRENT_TIMESTAMP)"), [{"id": 1, "key": "k1"}, {"id": 2, "key": "k2"}])
            # stored in the old order (id_no before legal_rep_id_no); the catalog order puts the representative first
            conn.execute(text("INSERT INTO record_secrets (record_id, field, value_hash, value_enc) "
                              "VALUES (:r, :f, :h, :e)"), [
                {"r": 1, "f": "id_no", "h": hash_of("11010519491231002X"), "e": crypto.encrypt("11010519491231002X")},
                {"r": 1, "f": "legal_rep_id_no", "h": hash_of("371402195710099968"),
                 "e": crypto.encrypt("371402195710099968")}])
        upgrade()
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, secrets, secret_hashes FROM records ORDER BY id")).all()
            tables = set(inspect(conn).get_table_names())
        engine.dispose()
        assert "record_secrets" not in tables
        (_, sealed, hashes), (_, none_sealed, none_hashes) = rows
        assert (none_sealed, none_hashes) == (None, None)
        assert "11010519491231002X" not in sealed
        values = record_secrets(type("R", (), {"secrets": sealed})())  # type: ignore[arg-type]
        assert values == {"legal_rep_id_no": "371402195710099968", "id_no": "11010519491231002X"}
        assert list(values) == ["legal_rep_id_no", "id_no"]
        assert hashes == (f"legal_rep_id_no:{hash_of('371402195710099968')} "
                          f"id_no:{hash_of('11010519491231002X')}")
    finally:
        monkeypatch.undo()
        reset_settings()
