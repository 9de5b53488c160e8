"""Login sessions of staff users and subject accounts: start, find, end.

Every login path goes through these four functions, so how a session is kept (cookie, server-side row)
is decided here alone.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from xinyong.accounts.models import SubjectAccount, User


def session_principal(db: Session, request: Request) -> tuple[User | None, SubjectAccount | None]:
    """The logged-in staff user or subject account of this request (at most one of them), else (None, None)."""
    if "session" not in request.scope:
        return None, None
    user_id = request.session.get("user_id")
    if user_id:
        user = db.get(User, user_id)
        return (user if user is not None and user.active else None), None
    account_id = request.session.get("account_id")
    if account_id:
        account = db.get(SubjectAccount, account_id)
        return None, (account if account is not None and account.status == "active" else None)
    return None, None


def start_session(db: Session, request: Request, *, user: User | None = None,
                  account: SubjectAccount | None = None) -> None:
    request.session.clear()
    if user is not None:
        request.session["user_id"] = user.id
    elif account is not None:
        request.session["account_id"] = account.id


def end_session(db: Session, request: Request) -> None:
    request.session.clear()
