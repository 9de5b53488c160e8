"""The FastAPI dependencies of every route: one transaction per request, who is calling (`resolve_actor`), and
how a route declares its action.

    @router.get("/batches/{batch_id}")
    def read_batch(batch_id: IdPath, db: DbSession, dept: Annotated[Department, AllowDept("batch.read")]): ...

`Allow(action)` gives the Actor, `AllowDept(action)` the actor's Department, `AllowUser(action)` the logged-in
staff User; each refuses with 401 (no credentials; pages redirect to the login) or 403 (credentials, not allowed)
in Chinese. A route that cannot afford dependency solving (the single check) is marked with `declare(action)` and
calls `policy.require` itself. `route_action` tells which action a route declared (tests walk every route).
"""

# No `from __future__ import annotations`: the dependency functions built in closures below must have their
# annotations evaluated where they are defined, for FastAPI to see the Depends inside them.

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from xinyong.access import policy
from xinyong.access.actors import ANONYMOUS, Actor, actor_for_account, actor_for_dept, actor_for_user
from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department, User
from xinyong.accounts.sessions import current_session, session_principal
from xinyong.core.db import new_session
from xinyong.core.errors import Forbidden, Unauthorized

ACTION_ATTR = "__xinyong_action__"

# Path ids are checked against their column's range before any query: an Integer column holds up to 2**31-1, a
# BigInteger one (BigId: 64-bit on PostgreSQL, SQLite's integer) up to 2**63-1. Out of range is a 422 in Chinese.
MAX_INT = 2**31 - 1
MAX_BIGINT = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_INT, description="编号（正整数）")]
BigIdPath = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="编号（正整数）")]


def session() -> Iterator[Session]:
    db = new_session()
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()


# scope="function": commit before the response is sent, so a client never sees success for a rolled-back write.
DbSession = Annotated[Session, Depends(session, scope="function")]


def bearer_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# ---------------------------------------------------------------- actors

# Later domains whose parties hold API keys of their own (sharing partners, banks) register a resolver: given the
# presented key it returns that party's Actor, or None when the key is not of its kind (decided by its prefix, so
# that a department's key never costs a lookup in another table). A resolver raises Unauthorized for a key of
# its kind that is wrong, revoked or expired.
KeyResolver = Callable[[Session, str], "Actor | None"]
_key_resolvers: list[KeyResolver] = []


def register_key_resolver(resolver: KeyResolver) -> None:
    if resolver not in _key_resolvers:
        _key_resolvers.append(resolver)


def _actor_for_key(db: Session, key: str) -> Actor:
    for resolver in _key_resolvers:
        actor = resolver(db, key)
        if actor is not None:
            return actor
    return actor_for_dept(accounts.department_for_key(db, key))


# Later parties whose users log in to pages (bank users) keep a login session of `accounts/sessions.py` that
# names neither a staff user nor an account, and register a resolver: given the session row's id it returns
# that party's Actor, or None when the session is not one of theirs.
SessionResolver = Callable[[Session, int], "Actor | None"]
_session_resolvers: list[SessionResolver] = []


def register_session_resolver(resolver: SessionResolver) -> None:
    if resolver not in _session_resolvers:
        _session_resolvers.append(resolver)


def _actor_for_session(db: Session, request: Request) -> Actor:
    row = current_session(db, request) if _session_resolvers else None
    if row is not None and row.user_id is None and row.account_id is None:
        for resolver in _session_resolvers:
            actor = resolver(db, row.id)
            if actor is not None:
                return actor
    return ANONYMOUS


def actor_of(db: Session, request: Request) -> Actor:
    """Who is calling: an API key (a wrong or revoked one is a 401, never anonymous), else a staff user's or an
    organisation account's session, else the public."""
    key = bearer_key(request)
    if key is not None:
        actor = _actor_for_key(db, key)
    else:
        user, account = session_principal(db, request)
        if user is not None:
            actor = actor_for_user(user, db.get(Department, user.dept_id) if user.dept_id else None)
        elif account is not None:
            actor = actor_for_account(account)
        else:
            actor = _actor_for_session(db, request)
    request.state.actor = actor.label
    return actor


def resolve_actor(request: Request, db: DbSession) -> Actor:
    return actor_of(db, request)


CurrentActor = Annotated[Actor, Depends(resolve_actor)]


# ---------------------------------------------------------------- declaring a route's action

def _mark(fn: Callable[..., Any], action: str) -> Callable[..., Any]:
    setattr(fn, ACTION_ATTR, action)
    return fn


_checkers: dict[str, Callable[..., Actor]] = {}


def _checker(action: str) -> Callable[..., Actor]:
    """One function per action, so FastAPI's per-request cache resolves it once."""
    policy.action(action)  # an unknown action fails at import, not at the first request
    fn = _checkers.get(action)
    if fn is None:
        def check(actor: CurrentActor) -> Actor:
            return policy.require(actor, action)

        fn = _checkers[action] = _mark(check, action)
    return fn


def Allow(action: str) -> Any:
    return Depends(_checker(action))


def department_of(db: Session, actor: Actor) -> Department:
    dept = db.get(Department, actor.dept_id) if actor.dept_id is not None else None
    if dept is None:
        raise Forbidden("您的账号没有关联部门，不能办理此项业务；请联系信用办为账号设置所属部门")
    return dept


def user_of(db: Session, actor: Actor) -> User:
    user = db.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise Unauthorized("请先登录管理后台")
    return user


_dept_checkers: dict[str, Callable[..., Department]] = {}
_user_checkers: dict[str, Callable[..., User]] = {}


def AllowDept(action: str) -> Any:
    """The Department the allowed actor acts for (its key's, or its user's department)."""
    fn = _dept_checkers.get(action)
    if fn is None:
        check = _checker(action)

        def dept(db: DbSession, actor: Annotated[Actor, Depends(check)]) -> Department:
            return department_of(db, actor)

        fn = _dept_checkers[action] = dept
    return Depends(fn)


def AllowUser(action: str) -> Any:
    """The logged-in staff User allowed this action."""
    fn = _user_checkers.get(action)
    if fn is None:
        check = _checker(action)

        def user(db: DbSession, actor: Annotated[Actor, Depends(check)]) -> User:
            return user_of(db, actor)

        fn = _user_checkers[action] = user
    return Depends(fn)


def declare(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """For a route that checks its action itself (policy.require), without a dependency."""
    policy.action(action)

    def wrap(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        return _mark(endpoint, action)

    return wrap


# Routes the framework adds itself: the OpenAPI document and the static files.
FRAMEWORK_ACTIONS = {"/openapi.json": "public.read", "/static": "public.read"}


def route_action(route: Any) -> str | None:
    """The action a route declared: by `declare` on its endpoint or by an Allow* dependency."""
    endpoint = getattr(route, "endpoint", None)
    if getattr(endpoint, "__module__", "").split(".")[0] in ("fastapi", "starlette") or endpoint is None:
        return FRAMEWORK_ACTIONS.get(getattr(route, "path", ""))
    found = getattr(getattr(route, "endpoint", None), ACTION_ATTR, None)
    if found:
        return str(found)
    stack = list(getattr(getattr(route, "dependant", None), "dependencies", []))
    while stack:
        dep = stack.pop()
        found = getattr(dep.call, ACTION_ATTR, None)
        if found:
            return str(found)
        stack.extend(dep.dependencies)
    return None
