"""Login sessions of staff users and subject accounts: start, find, end.

Every login path goes through these functions, so how a session is kept is decided here alone. The
cookie carries only a random token; the `web_sessions` row holds its keyed hash, expiry, last use and the
session's CSRF token. Logout revokes the row, a password change or disabling a user revokes all of that
user's rows, and the daily job deletes rows that ended. The cookie itself is written by the web layer's
middleware from what these functions leave in the request (`pending_cookies`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi import Request
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from xinyong.accounts.models import SubjectAccount, User, WebSession
from xinyong.core import crypto
from xinyong.core.db import utcnow
from xinyong.core.jobs import register_daily

SESSION_COOKIE = "xinyong_session"
LIFETIME = timedelta(hours=8)       # a session ends 8 hours after login at the latest
IDLE_LIMIT = timedelta(hours=2)     # or after 2 hours without a request
_TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most once a minute per session
_HASH_PURPOSE = "web_session"
_STATE_KEY = "xinyong.web_session"
_COOKIES_KEY = "xinyong.set_cookies"


@dataclass(frozen=True, slots=True)
class PendingCookie:
    name: str
    value: str | None  # None: delete the cookie
    max_age: int | None = None


def token_hash(token: str) -> str:
    return crypto.keyed_hash(token, _HASH_PURPOSE)


def pending_cookies(request: Request) -> list[PendingCookie]:
    """Cookies this request wants set on its response (read by the web layer's middleware)."""
    cookies: list[PendingCookie] = request.scope.setdefault(_COOKIES_KEY, [])
    return cookies


def _is_live(row: WebSession, now: datetime) -> bool:
    return row.revoked_at is None and row.expires_at > now and row.last_seen_at + IDLE_LIMIT > now


def find_session(db: Session, token: str | None, *, touch: bool = True) -> WebSession | None:
    """The live session of a cookie token, else None (unknown, revoked, expired or idle too long)."""
    if not token or len(token) > 128:
        return None
    row = db.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    now = utcnow()
    if row is None or not _is_live(row, now):
        return None
    if touch and now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
    return row


def current_session(db: Session, request: Request) -> WebSession | None:
    """The request's live session row (looked up once per request)."""
    if _STATE_KEY in request.scope:
        cached: WebSession | None = request.scope[_STATE_KEY]
        return cached
    row = find_session(db, request.cookies.get(SESSION_COOKIE))
    request.scope[_STATE_KEY] = row
    return row


def session_principal(db: Session, request: Request) -> tuple[User | None, SubjectAccount | None]:
    """The logged-in staff user or subject account of this request (at most one of them), else (None, None)."""
    row = current_session(db, request)
    if row is None:
        return None, None
    if row.user_id is not None:
        user = db.get(User, row.user_id)
        return (user if user is not None and user.active else None), None
    if row.account_id is not None:
        account = db.get(SubjectAccount, row.account_id)
        return None, (account if account is not None and account.status == "active" else None)
    return None, None


def start_session(db: Session, request: Request, *, user: User | None = None,
                  account: SubjectAccount | None = None) -> None:
    """Begin a new session (a fresh token, never the one the browser brought: no session fixation)."""
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        _revoke_token(db, old)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    client = request.client.host if request.client else None
    row = WebSession(token_hash=token_hash(token), user_id=user.id if user is not None else None,
                     account_id=account.id if account is not None and user is None else None,
                     csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now,
                     expires_at=now + LIFETIME, ip=(client or "")[:64] or None)
    db.add(row)
    db.flush()
    request.scope[_STATE_KEY] = row
    pending_cookies(request).append(PendingCookie(SESSION_COOKIE, token, int(LIFETIME.total_seconds())))


def end_session(db: Session, request: Request) -> None:
    """Logout: the session's row is revoked, so the old cookie is worthless even if kept."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        _revoke_token(db, token)
    request.scope[_STATE_KEY] = None
    pending_cookies(request).append(PendingCookie(SESSION_COOKIE, None))


def _revoke_token(db: Session, token: str) -> None:
    if len(token) > 128:
        return
    db.execute(update(WebSession).where(WebSession.token_hash == token_hash(token), WebSession.revoked_at.is_(None))
               .values(revoked_at=utcnow()))


def end_sessions_of(db: Session, *, user: User | None = None, account: SubjectAccount | None = None,
                    keep: WebSession | None = None) -> int:
    """End every live session of a user or an account (password change, disabling); `keep` survives."""
    if user is None and account is None:
        return 0
    query = update(WebSession).where(WebSession.revoked_at.is_(None))
    if user is not None:
        query = query.where(WebSession.user_id == user.id)
    elif account is not None:
        query = query.where(WebSession.account_id == account.id)
    if keep is not None:
        query = query.where(WebSession.id != keep.id)
    result = db.execute(query.values(revoked_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def sweep_sessions(db: Session, today: date | None = None) -> int:
    """Daily: delete sessions that ended (revoked, expired or idle past the limit)."""
    now = utcnow()
    result = db.execute(delete(WebSession).where(or_(WebSession.revoked_at.is_not(None), WebSession.expires_at <= now,
                                                     WebSession.last_seen_at <= now - IDLE_LIMIT)))
    return int(getattr(result, "rowcount", 0) or 0)


register_daily("sessions.sweep", sweep_sessions)
