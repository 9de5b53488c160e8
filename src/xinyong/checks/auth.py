"""Who calls the check endpoints, cached in-process, through the one policy (access.policy).

A check must not spend a database round-trip on authentication. A valid key's department and actor are
remembered (by the key's SHA-256, never in clear) for KEY_TTL_SECONDS; a revoked key therefore stops working
within that many seconds in every process (invalidate() drops the cache at once in this process, e.g. after
`apikey revoke` in tests). Wrong keys are not cached: each costs one query, and is refused with the usual Chinese
401. A request without a key is resolved like every other route (access.deps.actor_of: a staff or account session,
else the public) and refused by the policy.
"""

from __future__ import annotations

import hashlib
import threading
import time

from fastapi import Request

from xinyong.access import policy
from xinyong.access.actors import Actor
from xinyong.access.deps import actor_for_dept, actor_of, bearer_key, department_of
from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department
from xinyong.core.db import get_engine, new_session

KEY_TTL_SECONDS = 10.0
MAX_KEYS = 10_000

_cache: dict[tuple[int, str], tuple[float, Department, Actor]] = {}
_lock = threading.Lock()


def invalidate() -> None:
    with _lock:
        _cache.clear()


def _slot(key: str) -> tuple[int, str]:
    # keyed by engine too: tests switch databases within one process
    return id(get_engine()), hashlib.sha256(key.encode("utf-8")).hexdigest()


def cached(request: Request, action: str) -> Department | None:
    """The department of the request's key when the cache knows it (no I/O), checked against `action`; else None."""
    key = bearer_key(request)
    if key is None:
        return None
    hit = _cache.get(_slot(key))
    if hit is None or hit[0] <= time.monotonic():
        return None
    policy.require(hit[2], action)
    request.state.actor = hit[2].label
    return hit[1]


def _department_for_key(key: str) -> tuple[Department, Actor]:
    slot = _slot(key)
    now = time.monotonic()
    hit = _cache.get(slot)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    session = new_session()
    try:
        dept = accounts.department_for_key(session, key)
    finally:
        session.close()  # the Department stays usable detached (expire_on_commit=False, attributes loaded)
    actor = actor_for_dept(dept)
    with _lock:
        if len(_cache) >= MAX_KEYS:
            _cache.clear()
        _cache[slot] = (now + KEY_TTL_SECONDS, dept, actor)
    return dept, actor


def department_for_key(key: str) -> Department:
    return _department_for_key(key)[0]


def require(request: Request, action: str) -> Department:
    """The calling department, allowed `action` by the policy (blocking: run it in a thread)."""
    key = bearer_key(request)
    if key is None:
        session = new_session()
        try:
            actor = policy.require(actor_of(session, request), action)
            return department_of(session, actor)
        finally:
            session.close()
    dept, actor = _department_for_key(key)
    policy.require(actor, action)
    request.state.actor = actor.label
    return dept
