"""API key → department, cached in-process for the check endpoints.

A check must not spend a database round-trip on authentication. A valid key is remembered (by its SHA-256,
never in clear) for KEY_TTL_SECONDS; a revoked key therefore stops working within that many seconds in
every process (invalidate() drops the cache at once in this process, e.g. after `apikey revoke` in tests).
Wrong keys are not cached: each costs one query, and is refused with the usual Chinese 401.
"""

from __future__ import annotations

import hashlib
import threading
import time

from fastapi import Request

from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department
from xinyong.core.db import get_engine, new_session
from xinyong.core.errors import Unauthorized
from xinyong.web.deps import bearer_key

KEY_TTL_SECONDS = 10.0
MAX_KEYS = 10_000

_cache: dict[tuple[int, str], tuple[float, Department]] = {}
_lock = threading.Lock()


def invalidate() -> None:
    with _lock:
        _cache.clear()


def _slot(key: str) -> tuple[int, str]:
    # keyed by engine too: tests switch databases within one process
    return id(get_engine()), hashlib.sha256(key.encode("utf-8")).hexdigest()


def cached_dept(request: Request) -> Department | None:
    """The department of the request's key when the cache knows it (no I/O), else None."""
    key = bearer_key(request)
    if key is None:
        return None
    hit = _cache.get(_slot(key))
    if hit is None or hit[0] <= time.monotonic():
        return None
    request.state.actor = f"dept:{hit[1].code}"
    return hit[1]


def department_for_key(key: str) -> Department:
    slot = _slot(key)
    now = time.monotonic()
    hit = _cache.get(slot)
    if hit is not None and hit[0] > now:
        return hit[1]
    session = new_session()
    try:
        dept = accounts.department_for_key(session, key)
    finally:
        session.close()  # the Department stays usable detached (expire_on_commit=False, attributes loaded)
    with _lock:
        if len(_cache) >= MAX_KEYS:
            _cache.clear()
        _cache[slot] = (now + KEY_TTL_SECONDS, dept)
    return dept


def require_dept_cached(request: Request) -> Department:
    key = bearer_key(request)
    if key is None:
        raise Unauthorized("缺少 API 密钥：请在请求头中提供 Authorization: Bearer <密钥>")
    dept = department_for_key(key)
    request.state.actor = f"dept:{dept.code}"
    return dept
