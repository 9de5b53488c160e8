"""The Actor of a request, from its API key or its login session (staff user or subject account)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from xinyong.access.actors import ANONYMOUS, Actor, ActorKind
from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department, SubjectAccount, User
from xinyong.accounts.sessions import session_principal

_ROLE_KINDS = {"operator": ActorKind.OPERATOR, "auditor": ActorKind.AUDITOR, "dept": ActorKind.DEPT_USER}


def actor_for_dept(dept: Department) -> Actor:
    return Actor(ActorKind.DEPT_KEY, label=f"dept:{dept.code}", dept_id=dept.id, dept_code=dept.code,
                 is_credit_office=bool(dept.is_credit_office))


def actor_for_user(user: User, dept: Department | None) -> Actor:
    kind = _ROLE_KINDS.get(user.role, ActorKind.DEPT_USER)
    return Actor(kind, label=f"user:{user.username}", dept_id=dept.id if dept else None,
                 dept_code=dept.code if dept else None, user_id=user.id,
                 is_credit_office=kind is ActorKind.OPERATOR or bool(dept is not None and dept.is_credit_office))


def actor_for_account(account: SubjectAccount) -> Actor:
    return Actor(ActorKind.SUBJECT, label=f"account:{account.uscc}", account_id=account.id,
                 subject_id=account.subject_id)


def request_actor(db: Session, request: Request) -> Actor:
    """An API key (a wrong or revoked one is a 401, never anonymous), else a login session, else the public."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return actor_for_dept(accounts.department_for_key(db, value.strip()))
    user, account = session_principal(db, request)
    if user is not None:
        return actor_for_user(user, db.get(Department, user.dept_id) if user.dept_id else None)
    if account is not None:
        return actor_for_account(account)
    return ANONYMOUS
