"""/admin: login (throttled, failures audited), logout, password change and the dashboard.

Domains add their own /admin/... pages and menu links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from xinyong.access.deps import AllowUser, DbSession, declare
from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department, User
from xinyong.accounts.sessions import end_session, start_session
from xinyong.core import audit
from xinyong.core.errors import DomainError, Unauthorized
from xinyong.core.throttle import LOGIN_BY_ACCOUNT, LOGIN_BY_ADDRESS, TooManyRequests
from xinyong.ingest.models import Batch
from xinyong.records.models import Record
from xinyong.subjects.models import Subject
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

pages = APIRouter(prefix="/admin", include_in_schema=False)
register_admin_link(0, "/admin", "工作台", action="admin.page")
register_admin_link(99, "/admin/password", "修改密码", action="session.password")

__all__ = ["admin_context", "pages"]


@pages.get("/login", response_class=HTMLResponse)
@declare("session.login")
def login_form(request: Request, next: str = "/admin") -> Response:
    return render(request, "admin/login.html", {"next": _safe_next(next)})


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(next: str) -> str:
    return next if next.startswith("/admin") and not next.startswith("//") else "/admin"


@pages.post("/login")
@declare("session.login")
def login(request: Request, db: DbSession, username: Annotated[str, Form()], password: Annotated[str, Form()],
          next: Annotated[str, Form()] = "/admin") -> Response:
    name = username.strip()[:64]
    account_key, address = f"staff:{name.lower()}", _address(request)
    context = {"next": _safe_next(next), "username": name}
    try:
        LOGIN_BY_ACCOUNT.check(account_key)
        LOGIN_BY_ADDRESS.check(address)
        user = accounts.authenticate_user(db, name, password)
    except TooManyRequests as exc:
        audit.record(db, actor="anonymous", action="login.throttled", entity="user",
                     after={"username": name, "address": address})
        response = render(request, "admin/login.html", {**context, "error": exc.detail}, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Unauthorized as exc:
        LOGIN_BY_ACCOUNT.count(account_key)
        LOGIN_BY_ADDRESS.count(address)
        # The attempt is audited with the name typed and the address; never the password.
        audit.record(db, actor="anonymous", action="login.failed", entity="user",
                     after={"username": name, "address": address})
        return render(request, "admin/login.html", {**context, "error": exc.detail}, status_code=401)
    LOGIN_BY_ACCOUNT.clear(account_key)
    start_session(db, request, user=user)
    audit.record(db, actor=f"user:{user.username}", action="login", entity="user", entity_id=user.id,
                 after={"address": address})
    return RedirectResponse(_safe_next(next), status_code=303)


@pages.post("/logout")
@declare("session.login")
def logout(request: Request, db: DbSession) -> Response:
    end_session(db, request)
    return RedirectResponse("/admin/login", status_code=303)


# Changing one's own password is part of using /admin, for every staff role (auditors included).
StaffUser = Annotated[User, AllowUser("session.password")]


@pages.get("/password", response_class=HTMLResponse)
def password_form(request: Request, user: StaffUser) -> Response:
    return render(request, "admin/password.html", admin_context(request, user))


@pages.post("/password", response_class=HTMLResponse)
def change_password(request: Request, db: DbSession, user: StaffUser, current: Annotated[str, Form()],
                    new: Annotated[str, Form()], confirm: Annotated[str, Form()]) -> Response:
    account_key = f"staff:{user.username.lower()}"
    try:
        LOGIN_BY_ACCOUNT.check(account_key)
        with db.begin_nested():
            accounts.change_password(db, user, current, new, confirm)
    except Unauthorized as exc:
        LOGIN_BY_ACCOUNT.count(account_key)
        audit.record(db, actor=f"user:{user.username}", action="user.password_change_failed", entity="user",
                     entity_id=user.id, after={"address": _address(request)})
        return render(request, "admin/password.html", admin_context(request, user, error=exc.detail),
                      status_code=401)
    except DomainError as exc:
        response = render(request, "admin/password.html", admin_context(request, user, error=exc.detail),
                          status_code=exc.status)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    # Every session of the user ended with the change; this browser continues in a fresh one.
    start_session(db, request, user=user)
    return render(request, "admin/password.html", admin_context(
        request, user, done="密码已修改。其他设备上的登录已全部退出，需要用新密码重新登录。"))


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
