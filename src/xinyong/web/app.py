"""The FastAPI application: API under /api/v1, portal at /, administration at /admin."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import import_module
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from xinyong.access.deps import declare
from xinyong.access.policy import LoginRequired
from xinyong.core.errors import DomainError
from xinyong.core.logging import install_masking
from xinyong.core.settings import get_settings
from xinyong.core.throttle import TooManyRequests
from xinyong.web import openapi
from xinyong.web.bodylimit import BodyLimitMiddleware
from xinyong.web.security import SecurityMiddleware, csrf_guard, security_headers

log = logging.getLogger("xinyong.web")
STATIC = Path(__file__).parent / "static"

# Routers register here, in dependency order. Each module exposes `router` (API) and/or `pages`.
ROUTER_MODULES = [
    "xinyong.catalog.routes",
    "xinyong.ingest.routes",
    "xinyong.records.routes",
    "xinyong.search.routes",
    "xinyong.web.portal",
    "xinyong.web.admin",
    "xinyong.checks.routes",
    "xinyong.reports.routes",
    "xinyong.lists.routes",
    "xinyong.joint.routes",
    "xinyong.exchange.sharing.routes",
    "xinyong.exchange.routes",
    "xinyong.objections.routes",
    "xinyong.repair.routes",
    "xinyong.commitments.routes",
    "xinyong.complaints.routes",
    "xinyong.subject_accounts.routes",
    "xinyong.stats.quality_routes",
    "xinyong.evaluation.routes",
    "xinyong.supervision.routes",
    "xinyong.stats.routes",
    "xinyong.financing.routes",
    "xinyong.audit_routes",
]


DOCS_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>xinyong API 文档</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def problem(status: int, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, object]]]:
    errors = []
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        errors.append({"field": loc, "reason": err.get("msg", "")})
        parts.append(f"「{loc or '请求'}」{_zh_msg(err)}")
    return "请求参数有误：" + "；".join(parts[:10]) + "。请按接口文档 /docs 修改后重试", errors


def _zh_msg(err: dict[str, object]) -> str:
    kind = str(err.get("type", ""))
    table = {
        "missing": "缺失，必须提供",
        "string_too_long": "过长",
        "string_too_short": "不能为空",
        "int_parsing": "应为整数",
        "date_from_datetime_parsing": "应为日期，格式如 2026-03-05",
        "date_parsing": "应为日期，格式如 2026-03-05",
        "enum": "取值不在允许范围内",
        "literal_error": "取值不在允许范围内",
        "json_invalid": "不是有效的 JSON",
        "too_long": "条目过多",
        "greater_than_equal": "过小",
        "less_than_equal": "过大",
        "model_attributes_type": "格式不正确",
        "dict_type": "应为 JSON 对象",
        "list_type": "应为列表",
        "string_type": "应为字符串",
    }
    for key, text in table.items():
        if kind.startswith(key):
            return text
    return "格式不正确"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return problem(401, exc.title, exc.detail)
        return RedirectResponse(f"{exc.login}?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        log.info("refused %s %s: %s", request.method, request.url.path, exc.detail)
        extra = dict(exc.extra)
        if exc.rule:
            extra["rule"] = exc.rule
        response: Response
        if _wants_html(request):
            from xinyong.ui.templating import render_error

            response = render_error(request, exc.status, exc.title, exc.detail)
        else:
            response = problem(exc.status, exc.title, exc.detail, **extra)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        detail, errors = _validation_detail(exc)
        log.info("invalid request %s %s: %s", request.method, request.url.path, detail)
        return problem(422, "请求参数有误", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "未找到", 405: "不支持的请求方法", 413: "内容过大"}
        detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else {
            404: "您访问的地址不存在，请检查链接或回到首页 /",
            405: "该地址不支持此请求方法，请查看接口文档 /docs",
        }.get(exc.status_code, "请求无法处理，请稍后重试")
        if _wants_html(request):
            from xinyong.ui.templating import render_error

            return render_error(request, exc.status_code, titles.get(exc.status_code, "出错了"), detail)
        return problem(exc.status_code, titles.get(exc.status_code, "出错了"), detail)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = problem(500, "服务器内部错误", "服务器处理请求时出错，已记录日志；请稍后重试或联系信用办")
        # This handler answers outside the middleware stack: the security headers are added here.
        for name, value in security_headers(get_settings().cookies_secure):
            response.headers[name.decode()] = value.decode()
        return response


def load_domains() -> list[object]:
    """Import every domain's routes (which registers its jobs, sections and admin links)."""
    return [import_module(name) for name in ROUTER_MODULES]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    scheduler = None
    if get_settings().run_scheduler:
        from xinyong.core.jobs import Scheduler

        scheduler = Scheduler()
        scheduler.start()
    yield
    if scheduler is not None:
        scheduler.stop()


def create_app() -> FastAPI:
    settings = get_settings()
    install_masking()  # refused requests log their detail: ID numbers in it are masked
    from xinyong.catalog.service import get_catalog

    get_catalog()  # a broken catalog stops start-up with file, line and problem
    app = FastAPI(
        lifespan=lifespan,
        title="xinyong 公共信用信息平台 API",
        version="0.1.0",
        description="公共信用信息归集、公示、核查、报告与信用修复接口。错误以 RFC 9457 Problem Details 返回，detail 为中文。",
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodyLimitMiddleware)
    # Security headers on every response, the session and CSRF cookies (accounts/sessions.py), and the CSRF
    # check of the JSON API (a login cookie without a Bearer key); pages are checked by their routers.
    app.add_middleware(SecurityMiddleware)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", include_in_schema=False)
    @declare("public.read")
    def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/docs", include_in_schema=False)
    @declare("public.read")
    def docs() -> HTMLResponse:
        # FastAPI's own page starts Swagger UI with an inline script, which the CSP forbids: same page,
        # started from a static file instead.
        return HTMLResponse(DOCS_PAGE)

    for module in load_domains():
        _include(app, module)
    openapi.install(app)
    log.info("xinyong ready on %s (%s)", settings.base_url, settings.database_url.split(":", 1)[0])
    return app


def _include(app: FastAPI, module: object) -> None:
    api = getattr(module, "router", None)
    if api is not None:
        app.include_router(api, prefix="/api/v1")
    pages = getattr(module, "pages", None)
    if pages is not None:
        # A state-changing page request without a valid CSRF token is refused before its route runs.
        app.include_router(pages, dependencies=[Depends(csrf_guard)])
