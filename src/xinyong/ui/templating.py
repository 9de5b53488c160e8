"""Jinja2 templates shared by the portal, /admin and every domain's pages (the files live in web/templates)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from xinyong.core.settings import get_settings
from xinyong.ui.sections import admin_menu

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))
CST = ZoneInfo("Asia/Shanghai")


def _fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(CST).strftime("%Y-%m-%d %H:%M")
    return value.strftime("%Y-%m-%d")


templates.env.filters["d"] = _fmt_date
templates.env.globals["issuer"] = lambda: get_settings().issuer


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)


def render_error(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "detail": detail, "status": status}, status_code=status)


def admin_context(request: Request, user: object, **extra: object) -> dict[str, object]:
    """The context every /admin page needs: the user and the menu their role sees."""
    role = getattr(user, "role", "dept")
    return {"user": user, "menu": admin_menu(role), **extra}
