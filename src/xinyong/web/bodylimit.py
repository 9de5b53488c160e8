"""Request bodies limited per route before they are read.

Every request gets a byte limit from the table below, chosen by method and path: file uploads the
configured `max_upload_mb`, attachment forms what the due-process attachment policy allows, authenticated
JSON and form endpoints 1 MB, anonymous endpoints and body-less methods the smallest. A declared
Content-Length over the limit is answered 413 at once, without reading a byte; a body that turns out longer
than declared (chunked transfer) stops the reading at the limit with the same 413.

Kept as one ASGI middleware with one table (rather than a limit on each route's decorator) so that a test can
read the table and a new route gets the small default until someone names it here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KB = 1024
MB = 1024 * KB

ANONYMOUS_BYTES = 64 * KB  # forms the public can post without logging in, and any body-less method
DEFAULT_BYTES = 1 * MB  # authenticated JSON and form endpoints
REPORT_PDF_BYTES = 20 * MB  # a report PDF uploaded for verification


@dataclass(frozen=True)
class Rule:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    limit: Callable[[], int]
    what: str  # in the 413 message: what was too large


def _upload_bytes() -> int:
    from xinyong.core.settings import get_settings

    return get_settings().max_upload_mb * MB


def _attachment_form_bytes() -> int:
    from xinyong.cases.config import get_config

    policy = get_config().attachments
    return int(policy.max_files * policy.max_mb * MB) + ANONYMOUS_BYTES


def _attachment_json_bytes() -> int:
    return _attachment_form_bytes() * 4 // 3 + ANONYMOUS_BYTES  # Base64 grows the files by a third


def _fixed(n: int) -> Callable[[], int]:
    return lambda: n


def _rule(methods: str, path: str, limit: Callable[[], int], what: str) -> Rule:
    return Rule(frozenset(methods.split()), re.compile(path + r"/?\Z"), limit, what)


_CASE = r"[^/]+"
RULES: tuple[Rule, ...] = (
    _rule("POST", r"/api/v1/batches", _upload_bytes, "上传的文件"),
    _rule("POST", r"/api/v1/exchange/inbound", _upload_bytes, "上传的文件"),
    _rule("POST", r"/api/v1/checks/batch", _upload_bytes, "上传的核查名单"),
    _rule("POST", r"/admin/checks/batch", _upload_bytes, "上传的核查名单"),
    _rule("POST", r"/(objections|repair|complaints)/new", _attachment_form_bytes, "提交的材料（含附件）"),
    _rule("POST", r"/api/v1/(objections|repair-applications|complaints)", _attachment_json_bytes,
          "提交的材料（含附件）"),
    _rule("POST", r"/verify", _fixed(REPORT_PDF_BYTES), "上传的报告文件"),
    _rule("POST", rf"/(objections|repair|complaints)/{_CASE}", _fixed(ANONYMOUS_BYTES), "提交的内容"),
    _rule("POST", r"/commitments/new", _fixed(ANONYMOUS_BYTES), "提交的内容"),
    _rule("POST", r"/api/v1/commitments", _fixed(ANONYMOUS_BYTES), "提交的内容"),
    _rule("POST", r"/api/v1/reports/person", _fixed(ANONYMOUS_BYTES), "提交的内容"),
    _rule("POST", r"/admin/log(in|out)", _fixed(ANONYMOUS_BYTES), "提交的内容"),
    _rule("POST PUT PATCH", r"/.*", _fixed(DEFAULT_BYTES), "请求内容"),
)
FALLBACK = _rule("GET HEAD DELETE OPTIONS", r"/.*", _fixed(ANONYMOUS_BYTES), "请求内容")


@lru_cache(maxsize=4096)  # the hot paths (/api/v1/checks) are a handful of strings
def rule_for(method: str, path: str) -> Rule:
    """The first rule of RULES matching the request; body-less and unknown methods get the smallest."""
    for rule in RULES:
        if method in rule.methods and rule.pattern.match(path):
            return rule
    return FALLBACK


def too_large_detail(rule: Rule, limit: int) -> str:
    size = f"{limit / MB:g} MB" if limit >= MB else f"{limit // KB} KB"
    if rule.limit is _upload_bytes:
        return f"{rule.what}超过 {size} 的上传限制：请拆分为多个文件后分批提交"
    return f"{rule.what}超过 {size} 的上限：请精简内容或压缩、减少附件后重新提交"


class BodyTooLarge(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail)


class BodyLimitMiddleware:
    """Refuses bodies over the route's limit: by Content-Length before the app runs, else while reading."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = rule_for(scope["method"], scope["path"])
        limit = rule.limit()
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, too_large_detail(rule, limit))
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(too_large_detail(rule, limit))
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except BodyTooLarge as exc:  # raised past the app's handlers (e.g. by a middleware reading the form)
            if started:
                raise
            await _refuse(scope, send, str(exc.detail))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def _refuse(scope: Scope, send: Send, detail: str) -> None:
    from starlette.requests import Request
    from starlette.responses import Response

    from xinyong.web.app import problem

    request = Request(scope)
    response: Response
    html = not scope["path"].startswith("/api/") and "text/html" in request.headers.get("accept", "")
    if html:
        from xinyong.ui.templating import render_error

        response = render_error(request, 413, "内容过大", detail)
    else:
        response = problem(413, "内容过大", detail)
    response.headers["Connection"] = "close"  # the unread body is not drained
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
