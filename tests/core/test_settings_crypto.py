from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from xinyong.core import crypto
from xinyong.core.settings import Settings, ensure_secret_key


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://postgres@127.0.0.1:5432/x", "postgresql+psycopg://postgres@127.0.0.1:5432/x"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h:1/db", "postgresql+psycopg://u@h:1/db"),
        ("sqlite:///./var/x.db", "sqlite:///./var/x.db"),
    ],
)
def test_database_url_accepts_plain_and_driver_forms(given: str, expected: str) -> None:
    assert Settings(database_url=given).database_url == expected


def test_secret_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", secret_key=None)
    assert ensure_secret_key(settings) is True
    path = settings.secret_key_path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = path.read_text()
    assert len(first.strip()) == 64
    assert ensure_secret_key(settings) is False
    assert path.read_text() == first


def test_configured_secret_key_means_no_file(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", secret_key="from-env")
    assert ensure_secret_key(settings) is False
    assert not settings.secret_key_path.exists()


def test_encrypt_round_trips_and_never_repeats_ciphertext() -> None:
    a, b = crypto.encrypt("11010519491231002X"), crypto.encrypt("11010519491231002X")
    assert a != b
    assert "11010519491231002X" not in a
    assert crypto.decrypt(a) == crypto.decrypt(b) == "11010519491231002X"


def test_keyed_hash_is_stable_and_purpose_bound() -> None:
    h = crypto.keyed_hash("11010519491231002X", "citizen_id")
    assert h == crypto.hasher("citizen_id")("11010519491231002X")
    assert h != crypto.keyed_hash("11010519491231002X", "other")
    assert len(h) == 64
