"""The CSRF token a page's forms carry (`{{ csrf_field() }}`); `web/security.py` checks it on the way in.

With a live login session the token is the session's own (its `web_sessions` row); without one it is a signed
double-submit token: a random value in the `xinyong_csrf` cookie and, in the form, its HMAC under the
platform key, which another site can neither read nor compute.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from markupsafe import Markup

from xinyong.accounts.sessions import SESSION_COOKIE, PendingCookie, current_session, pending_cookies
from xinyong.core import crypto
from xinyong.core.db import new_session

CSRF_COOKIE = "xinyong_csrf"
CSRF_FIELD = "csrf_token"
_CSRF_PURPOSE = "csrf"
_TOKEN_KEY = "xinyong.csrf_token"
_SESSION_KEY = "xinyong.web_session"  # where accounts.sessions keeps the request's session row


def sign_nonce(nonce: str) -> str:
    return crypto.keyed_hash(nonce, _CSRF_PURPOSE)


def nonce_ok(nonce: str | None) -> bool:
    return nonce is not None and 16 <= len(nonce) <= 64 and nonce.isascii()


def csrf_token_for(request: Request) -> str:
    """The token the forms of this response carry (the session's, else a signed double-submit token)."""
    cached: str | None = request.scope.get(_TOKEN_KEY)
    if cached:
        return cached
    token = _session_token(request)
    if token is None:
        nonce = request.cookies.get(CSRF_COOKIE)
        if not nonce_ok(nonce):
            nonce = secrets.token_urlsafe(24)
            pending_cookies(request).append(PendingCookie(CSRF_COOKIE, nonce))
        token = sign_nonce(nonce or "")
    request.scope[_TOKEN_KEY] = token
    return token


def _session_token(request: Request) -> str | None:
    if _SESSION_KEY in request.scope:  # the route already looked the session up
        row = request.scope[_SESSION_KEY]
        return row.csrf_token if row is not None else None
    if not request.cookies.get(SESSION_COOKIE):
        return None
    with new_session() as db:
        row = current_session(db, request)
        token = row.csrf_token if row is not None else None
        db.commit()
    request.scope.pop(_SESSION_KEY, None)  # the row belonged to a database session now closed
    return token


def csrf_field(request: Request) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token_for(request))
