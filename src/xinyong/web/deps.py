"""Typed FastAPI dependencies: one transaction per request, the calling department, the logged-in user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department, User
from xinyong.accounts.sessions import session_principal
from xinyong.core.db import new_session
from xinyong.core.errors import Unauthorized


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


def require_dept(request: Request, db: DbSession) -> Department:
    key = bearer_key(request)
    if key is None:
        raise Unauthorized("缺少 API 密钥：请在请求头中提供 Authorization: Bearer <密钥>")
    dept = accounts.department_for_key(db, key)
    request.state.actor = f"dept:{dept.code}"
    return dept


def optional_dept(request: Request, db: DbSession) -> Department | None:
    key = bearer_key(request)
    if key is None:
        return None
    return require_dept(request, db)


CurrentDept = Annotated[Department, Depends(require_dept)]
OptionalDept = Annotated[Department | None, Depends(optional_dept)]


def current_user(request: Request, db: DbSession) -> User:
    user, _ = session_principal(db, request)
    if user is None:
        raise LoginRequired("请先登录管理后台")
    request.state.actor = f"user:{user.username}"
    return user


class LoginRequired(Unauthorized):
    """Raised for pages: the handler redirects to /admin/login instead of answering JSON."""


CurrentUser = Annotated[User, Depends(current_user)]
