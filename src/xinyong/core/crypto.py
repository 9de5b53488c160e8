"""Keyed hashes for lookup, AES-GCM for the rare authorised read, masking for display."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from xinyong.core.settings import secret_key


@lru_cache(maxsize=8)
def _derived(purpose: str) -> bytes:
    return hmac.new(secret_key(), purpose.encode("utf-8"), hashlib.sha256).digest()


def clear_key_cache() -> None:
    _derived.cache_clear()
    _aead.cache_clear()


def keyed_hash(value: str, purpose: str = "lookup") -> str:
    """HMAC-SHA256 of a normalised value, hex; the same input gives the same hash (lookup key)."""
    return hmac.new(_derived("hmac:" + purpose), value.encode("utf-8"), hashlib.sha256).hexdigest()


def hasher(purpose: str = "lookup") -> Callable[[str], str]:
    """A fast closure for bulk paths: avoids re-deriving the key per row."""
    key = _derived("hmac:" + purpose)
    new = hmac.new
    sha = hashlib.sha256

    def _hash(value: str) -> str:
        return new(key, value.encode("utf-8"), sha).hexdigest()

    return _hash


@lru_cache(maxsize=1)
def _aead() -> AESGCM:
    return AESGCM(_derived("aes-gcm")[:32])


def encrypt(value: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead().encrypt(nonce, value.encode("utf-8"), None)
    return base64.b64encode(nonce + sealed).decode("ascii")


def decrypt(token: str) -> str:
    raw = base64.b64decode(token)
    return _aead().decrypt(raw[:12], raw[12:], None).decode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
