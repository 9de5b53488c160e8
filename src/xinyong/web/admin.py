"""/admin: login, logout and the dashboard. Domains add their own /admin/... pages and menu links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from xinyong.access.deps import AllowUser, DbSession, declare
from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department, User
from xinyong.accounts.sessions import end_session, start_session
from xinyong.core.errors import Unauthorized
from xinyong.ingest.models import Batch
from xinyong.records.models import Record
from xinyong.subjects.models import Subject
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

pages = APIRouter(prefix="/admin", include_in_schema=False)
register_admin_link(0, "/admin", "工作台")

__all__ = ["admin_context", "pages"]


@pages.get("/login", response_class=HTMLResponse)
@declare("session.login")
def login_form(request: Request, next: str = "/admin") -> Response:
    return render(request, "admin/login.html", {"next": next if next.startswith("/admin") else "/admin"})


@pages.post("/login")
@declare("session.login")
def login(request: Request, db: DbSession, username: Annotated[str, Form()], password: Annotated[str, Form()],
          next: Annotated[str, Form()] = "/admin") -> Response:
    try:
        user = accounts.authenticate_user(db, username.strip(), password)
    except Unauthorized as exc:
        return render(request, "admin/login.html", {"error": exc.detail, "next": next, "username": username},
                      status_code=401)
    start_session(db, request, user=user)
    return RedirectResponse(next if next.startswith("/admin") else "/admin", status_code=303)


@pages.post("/logout")
@declare("session.login")
def logout(request: Request, db: DbSession) -> Response:
    end_session(db, request)
    return RedirectResponse("/admin/login", status_code=303)


@pages.get("", response_class=HTMLResponse)
def dashboard(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.page")]) -> Response:
    dept = db.get(Department, user.dept_id) if user.dept_id else None
    counts = {
        "subjects": db.scalar(select(func.count()).select_from(Subject)) or 0,
        "records": db.scalar(select(func.count()).select_from(Record)) or 0,
        "batches": db.scalar(select(func.count()).select_from(Batch)) or 0,
    }
    recent = list(db.scalars(select(Batch).order_by(Batch.id.desc()).limit(10)))
    depts = {d.id: d.name for d in db.scalars(select(Department))}
    return render(request, "admin/dashboard.html",
                  admin_context(request, user, dept=dept, counts=counts, batches=recent, depts=depts))
