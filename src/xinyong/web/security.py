"""Browser-facing guards: security headers on every response, session cookies, and the CSRF check.

CSRF: every state-changing request to a page (not the Bearer-key JSON API) carries a token, in the form
field `csrf_token` or the header `X-CSRF-Token` (`ui/csrf.py` says which token a page's forms carry). With a
live login session it must be the session's own; without one, the signed double-submit token of the
`xinyong_csrf` cookie. A request without a valid token is refused (403) before its route runs, so nothing
is written.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import HTTPConnection
from starlette.responses import Response

from xinyong.accounts.sessions import SESSION_COOKIE, PendingCookie, find_session
from xinyong.core.db import new_session
from xinyong.core.errors import Forbidden
from xinyong.core.settings import get_settings
from xinyong.ui.csrf import CSRF_COOKIE, CSRF_FIELD, nonce_ok, sign_nonce

CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class CsrfRefused(Forbidden):
    title = "安全校验失败"


def security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if secure:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


def cookie_header(cookie: PendingCookie, secure: bool) -> bytes:
    if cookie.value is None:
        text = f"{cookie.name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
    else:
        text = f"{cookie.name}={cookie.value}; Path=/; HttpOnly; SameSite=Lax"
        if cookie.max_age is not None:
            text += f"; Max-Age={cookie.max_age}"
    if secure:
        text += "; Secure"
    return text.encode("latin-1")


class SecurityMiddleware:
    """Adds the security headers to every HTTP response and writes the cookies a request asked for."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.secure = get_settings().cookies_secure
        self.headers = security_headers(self.secure)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.extend(self.headers)
                for cookie in scope.get("xinyong.set_cookies", ()):
                    headers.append((b"set-cookie", cookie_header(cookie, self.secure)))
                message["headers"] = headers
            await send(message)

        if scope["method"] not in SAFE_METHODS and scope["path"].startswith("/api/"):
            refusal = await api_csrf_refusal(scope)
            if refusal is not None:
                body = json.dumps({"type": "about:blank", "title": CsrfRefused.title, "status": 403,
                                   "detail": refusal}, ensure_ascii=False).encode("utf-8")
                response = Response(body, status_code=403, media_type="application/problem+json")
                await response(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


def _live_session_token(cookie: str | None) -> str | None:
    if not cookie:
        return None
    with new_session() as db:
        row = find_session(db, cookie, touch=False)
        return row.csrf_token if row is not None else None


async def api_csrf_refusal(scope: Scope) -> str | None:
    """For the JSON API (checked in the middleware, so the hot paths solve no extra dependency): Bearer keys
    are never sent by a browser on its own, so only a state-changing request riding on a login cookie needs
    the token, in the header. Returns the Chinese refusal, or None."""
    connection = HTTPConnection(scope)
    cookie = connection.cookies.get(SESSION_COOKIE)
    if not cookie or connection.headers.get("authorization"):
        return None
    expected = await run_in_threadpool(_live_session_token, cookie)
    if expected is None:
        return None
    try:
        _compare(connection.headers.get(CSRF_HEADER), expected)
    except CsrfRefused as exc:
        return exc.detail
    return None


async def csrf_guard(request: Request) -> None:
    """Dependency of every page router: refuse a state-changing request without a valid CSRF token."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(SESSION_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form: FormData = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    expected = await run_in_threadpool(_live_session_token, cookie) if cookie else None
    if expected is None:
        nonce = request.cookies.get(CSRF_COOKIE)
        if not nonce_ok(nonce):
            raise CsrfRefused("页面已过期或缺少安全校验信息：请刷新页面（并确认浏览器允许本站 Cookie）后重新提交")
        expected = sign_nonce(nonce or "")
    _compare(sent, expected)


def _compare(sent: str | None, expected: str) -> None:
    if not sent or not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode("utf-8")):
        raise CsrfRefused("安全校验未通过（页面已过期或来自其他网站）：请刷新页面后重新提交；如仍失败，请重新登录")
