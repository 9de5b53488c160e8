"""`xinyong init` on a fresh database (SQLite file, new PostgreSQL database): the key file is made outside the
data directory and named with the advice to back it up; the first anchor is witnessed, so `audit verify`
passes at once; on PostgreSQL the migrated audit table refuses UPDATE, DELETE and TRUNCATE."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.core import crypto
from xinyong.core.db import reset_engine
from xinyong.core.settings import reset_settings

runner = CliRunner()
PG_ADMIN_URL = os.environ.get("XINYONG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def fresh(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'var' / 'xinyong.db'}", None
        (tmp_path / "var").mkdir()
    else:
        name = f"xinyong_init_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url, drop = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name, (admin, name)
    monkeypatch.setenv("XINYONG_DATABASE_URL", url)
    monkeypatch.delenv("XINYONG_SECRET_KEY", raising=False)
    monkeypatch.setenv("XINYONG_KEY_FILE", str(tmp_path / "keys" / "secret.key"))
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path / "var"))
    reset_settings()
    reset_engine()
    crypto.clear_key_cache()
    try:
        yield url, tmp_path
    finally:
        reset_engine()
        monkeypatch.undo()
        reset_settings()
        reset_engine()
        crypto.clear_key_cache()
        if drop is not None:
            admin, name = drop
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_init_makes_the_key_file_outside_the_data_directory_and_says_to_back_it_up(
        fresh: tuple[str, Path], backend: str) -> None:
    url, root = fresh
    result = runner.invoke(app, ["init"])
    out = result.output.replace("\n", "")
    assert result.exit_code == 0, result.output
    key = root / "keys" / "secret.key"
    assert key.exists() and stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert not (root / "var" / "secret.key").exists()
    assert "已生成密钥文件" in out and "secret.key" in out and "备份" in out and "分开保存" in out
    assert "审计见证目录" in out
    again = runner.invoke(app, ["init"])  # a second run keeps the key
    assert again.exit_code == 0 and "已生成密钥文件" not in again.output
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    if backend == "postgresql":
        engine = create_engine(url)
        try:
            for sql in ("DELETE FROM audit_events", "TRUNCATE audit_events",
                        "UPDATE audit_events SET actor = 'x'"):
                with engine.connect() as conn, pytest.raises(DBAPIError, match="审计事件只能追加"):
                    conn.execute(text(sql))
        finally:
            engine.dispose()


def test_init_moves_a_key_file_found_beside_the_database(fresh: tuple[str, Path]) -> None:
    _, root = fresh
    (root / "var" ).mkdir(exist_ok=True)
    (root / "var" / "secret.key").write_text("ab" * 32 + "\n")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert "已把密钥文件从数据目录移到" in result.output.replace("\n", "")
    assert (root / "keys" / "secret.key").read_text().strip() == "ab" * 32
    assert not (root / "var" / "secret.key").exists()
