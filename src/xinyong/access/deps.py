"""The FastAPI dependencies of every route: one transaction per request, who is calling (`resolve_actor`), and
how a route declares its action.

    @router.get("/batches/{batch_id}")
    def read_batch(batch_id: BigIdPath, db: DbSession, dept: Annotated[Department, AllowDept("batch.read")]): ...

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
from xinyong.access.actors import ANONYMOUS, Actor, ActorKind
from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department, SubjectAccount, User
from xinyong.accounts.sessions import session_principal
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

def actor_for_dept(dept: Department) -> Actor:
    return Actor(ActorKind.DEPT_KEY, label=f"dept:{dept.code}", dept_id=dept.id, dept_code=dept.code,
                 is_credit_office=bool(dept.is_credit_office))


_ROLE_KINDS = {"operator": ActorKind.OPERATOR, "auditor": ActorKind.AUDITOR, "dept": ActorKind.DEPT_USER}


def actor_for_user(user: User, dept: Department | None) -> Actor:
    # an unknown role acts as nobody more than a department user
    kind = _ROLE_KINDS.get(user.role, ActorKind.DEPT_USER)
    return Actor(kind, label=f"user:{user.username}", dept_id=dept.id if dept else None,
                 dept_code=dept.code if dept else None, user_id=user.id,
                 is_credit_office=kind is ActorKind.OPERATOR or bool(dept is not None and dept.is_credit_office))


def actor_for_account(account: SubjectAccount) -> Actor:
    return Actor(ActorKind.SUBJECT, label=f"account:{account.uscc}", account_id=account.id,
                 subject_id=account.subject_id)


def actor_of(db: Session, request: Request) -> Actor:
    """Who is calling: an API key (a wrong or revoked one is a 401, never anonymous), else a staff user's or an
    organisation account's session, else the public."""
    key = bearer_key(request)
    if key is not None:
        actor = actor_for_dept(accounts.department_for_key(db, key))
    else:
        user, account = session_principal(db, request)
        if user is not None:
            actor = actor_for_user(user, db.get(Department, user.dept_id) if user.dept_id else None)
        elif account is not None:
            actor = actor_for_account(account)
        else:
            actor = ANONYMOUS
    request.state.actor = actor.label
    return actor


def resolve_actor(request: Request, db: DbSession) -> Actor:
    return actor_of(db, request)


CurrentActor = Annotated[Actor, Depends(resolve_actor)]


def actor_in_own_session(request: Request) -> Actor:
    """resolve_actor for async routes that must not hold the request's session (call it in a thread)."""
    db = new_session()
    try:
        return actor_of(db, request)
    finally:
        db.close()


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
