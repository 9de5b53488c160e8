from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.core import crypto, keyring
from xinyong.core.keyring import ensure_key_file
from xinyong.core.settings import SecretKeyMissing, Settings


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


def test_key_file_is_generated_once_outside_the_data_directory_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", key_file=tmp_path / "keys" / "secret.key", secret_key=None)
    assert ensure_key_file(settings) == "created"
    path = settings.key_file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not (tmp_path / "var").exists()  # nothing in the data directory
    first = path.read_text()
    ring = keyring.parse(first, path)
    assert ring.lookup_scheme == "hkdf" and ring.current == 1 and len(ring.masters[1]) == 32
    assert ensure_key_file(settings) is None
    assert path.read_text() == first


def test_key_file_beside_the_database_is_moved_out_and_keeps_its_meaning(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", key_file=tmp_path / "keys" / "secret.key", secret_key=None)
    settings.legacy_key_path.parent.mkdir(parents=True)
    settings.legacy_key_path.write_text("ab" * 32 + "\n")
    assert ensure_key_file(settings) == "moved"
    assert not settings.legacy_key_path.exists()
    ring = keyring.parse(settings.key_file.read_text(), settings.key_file)
    assert ring.lookup_scheme == "legacy" and ring.current == keyring.LEGACY
    assert stat.S_IMODE(os.stat(settings.key_file).st_mode) == 0o600


def test_key_file_round_trips_every_generation() -> None:
    ring = keyring.with_new_master(keyring.parse("cd" * 32))
    again = keyring.parse(keyring.render(ring))
    assert again == ring and again.current == 1 and set(again.masters) == {0, 1}


def test_a_damaged_key_file_is_refused_in_chinese() -> None:
    with pytest.raises(SecretKeyMissing, match="格式不正确"):
        keyring.parse("lookup hkdf zz\nkey one ab\n")
    with pytest.raises(SecretKeyMissing, match="不完整"):
        keyring.parse("key 1 " + "ab" * 32 + "\n")


def test_configured_secret_key_means_no_file(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", key_file=tmp_path / "k" / "secret.key", secret_key="from-env")
    assert ensure_key_file(settings) is None
    assert not settings.key_file.exists()


def test_default_key_file_is_not_in_the_data_directory() -> None:
    settings = Settings()
    assert settings.var_dir.resolve() not in settings.key_file.resolve().parents


def test_encrypt_round_trips_and_never_repeats_ciphertext() -> None:
    a, b = crypto.encrypt("11010519491231002X", "t.c|1"), crypto.encrypt("11010519491231002X", "t.c|1")
    assert a != b
    assert "11010519491231002X" not in a
    assert crypto.decrypt(a, "t.c|1") == crypto.decrypt(b, "t.c|1") == "11010519491231002X"


def test_a_ciphertext_moved_to_another_row_or_column_does_not_decrypt() -> None:
    sealed = crypto.encrypt("11010519491231002X", "subjects.id_enc|aaa")
    for other in ("subjects.id_enc|bbb", "records.secrets|aaa", ""):
        with pytest.raises(crypto.DecryptionFailed, match="无法解密"):
            crypto.decrypt(sealed, other)
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(tampered, "subjects.id_enc|aaa")


def test_purpose_keys_differ_and_session_is_not_the_data_key() -> None:
    keys = {p: crypto.purpose_key(p) for p in crypto.PURPOSES}
    assert len(set(keys.values())) == len(keys) and all(len(k) == 32 for k in keys.values())
    with pytest.raises(ValueError):
        crypto.purpose_key("anything")


def test_encrypted_files_are_bound_to_their_identity() -> None:
    blob = crypto.encrypt_bytes(b"%PDF-1.4 scan", "case_attachments|x")
    assert b"scan" not in blob and crypto.is_sealed_bytes(blob)
    assert crypto.decrypt_bytes(blob, "case_attachments|x") == b"%PDF-1.4 scan"
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt_bytes(blob, "case_attachments|y")


def test_keyed_hash_is_stable_and_purpose_bound() -> None:
    h = crypto.keyed_hash("11010519491231002X", "citizen_id")
    assert h == crypto.hasher("citizen_id")("11010519491231002X")
    assert h != crypto.keyed_hash("11010519491231002X", "other")
    assert len(h) == 64


def test_a_key_from_the_environment_keeps_the_lookup_hashes_it_always_had() -> None:
    import hashlib
    import hmac

    secret = os.environ["XINYONG_SECRET_KEY"].encode()
    before = hmac.new(hmac.new(secret, b"hmac:citizen_id", hashlib.sha256).digest(), b"11010519491231002X",
                      hashlib.sha256).hexdigest()
    assert crypto.keyed_hash("11010519491231002X", "citizen_id") == before
    # ... while the data key is derived with HKDF and is not the old HMAC-derived one
    assert crypto.purpose_key("encryption") != hmac.new(secret, b"aes-gcm", hashlib.sha256).digest()[:32]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=80), st.text(min_size=1, max_size=40)), max_size=12))
def test_seal_many_tokens_open_like_encrypt_and_stay_bound_to_their_row(pairs: list[tuple[str, str]]) -> None:
    """The bulk sealer's tokens (prefix + base64(nonce) + base64(sealed), built by columns) are ordinary
    encrypt() tokens: they open with decrypt under their own associated data only, and never repeat."""
    prefix, nonces, sealed = crypto.seal_many([v.encode() for v, _ in pairs], [a.encode() for _, a in pairs])
    tokens = [prefix + base64.b64encode(n).decode() + base64.b64encode(s).decode() for n, s in zip(nonces, sealed, strict=True)]
    assert len(set(nonces)) == len(nonces)
    for (value, aad), token in zip(pairs, tokens, strict=True):
        assert crypto.generation_of(token) == crypto.current_generation()
        assert crypto.decrypt(token, aad) == value
        with pytest.raises(crypto.DecryptionFailed):
            crypto.decrypt(token, aad + "|another row")
