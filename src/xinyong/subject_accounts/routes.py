"""Organisations' own accounts: /account (register, activate, log in and out, the firm's own page) and
/admin/accounts, where the credit office approves accounts or issues activation codes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor
from xinyong.access.deps import Allow, AllowUser, DbSession, IdPath
from xinyong.accounts.models import SubjectAccount, User
from xinyong.accounts.sessions import end_session, start_session
from xinyong.core import clock
from xinyong.core.errors import DomainError, NotFound
from xinyong.subject_accounts import service
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

pages = APIRouter(include_in_schema=False)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ---------------------------------------------------------------- registration and activation

Registering = Annotated[Actor, Allow("account.register")]
LoggingIn = Annotated[Actor, Allow("session.login")]


@pages.get("/account/register", response_class=HTMLResponse)
def register_form(request: Request, _: Registering) -> Response:
    return render(request, "accounts/register.html", {"form": {}})


@pages.post("/account/register", response_class=HTMLResponse)
def register(request: Request, db: DbSession, _: Registering, uscc: Annotated[str, Form()], legal_rep_name: Annotated[str, Form()],
             legal_rep_id: Annotated[str, Form()], password: Annotated[str, Form()],
             password2: Annotated[str, Form()], contact_phone: Annotated[str, Form()] = "") -> Response:
    form = {"uscc": uscc, "legal_rep_name": legal_rep_name, "contact_phone": contact_phone}
    try:
        if password != password2:
            raise DomainError("两次输入的密码不一致，请重新输入")
        # no savepoint: a refusal writes only its audit event, which the request's transaction then commits
        account = service.register(db, service.Registration(uscc, legal_rep_name, legal_rep_id, password,
                                                            contact_phone), address=_address(request))
    except DomainError as exc:
        return render(request, "accounts/register.html", {"form": form, "error": exc.detail}, status_code=exc.status)
    return render(request, "accounts/registered.html", {"account": service.account_out(db, account)},
                  status_code=201)


@pages.get("/account/activate", response_class=HTMLResponse)
def activate_form(request: Request, _: Registering, uscc: str = "") -> Response:
    return render(request, "accounts/activate.html", {"form": {"uscc": uscc}})


@pages.post("/account/activate", response_class=HTMLResponse)
def activate(request: Request, db: DbSession, _: Registering, uscc: Annotated[str, Form()], code: Annotated[str, Form()]) -> Response:
    try:
        service.activate(db, uscc, code, address=_address(request))  # a failure commits only its audit event
    except DomainError as exc:
        return render(request, "accounts/activate.html", {"form": {"uscc": uscc}, "error": exc.detail},
                      status_code=exc.status)
    return render(request, "accounts/login.html", {"form": {"uscc": uscc}, "notice": "账户已激活，请登录"})


# ---------------------------------------------------------------- login, logout, the firm's page

@pages.get("/account/login", response_class=HTMLResponse)
def login_form(request: Request, _: LoggingIn) -> Response:
    return render(request, "accounts/login.html", {"form": {}})


@pages.post("/account/login", response_class=HTMLResponse)
def login(request: Request, db: DbSession, _: LoggingIn, uscc: Annotated[str, Form()], password: Annotated[str, Form()]) -> Response:
    try:
        account = service.authenticate(db, uscc, password, address=_address(request))  # failures: audited
    except DomainError as exc:
        return render(request, "accounts/login.html", {"form": {"uscc": uscc}, "error": exc.detail},
                      status_code=exc.status)
    start_session(db, request, account=account)
    return RedirectResponse("/account", status_code=303)


@pages.post("/account/logout")
def logout(request: Request, db: DbSession, _: LoggingIn) -> Response:
    end_session(db, request)
    return RedirectResponse("/account/login", status_code=303)


@pages.get("/account", response_class=HTMLResponse)
def home(request: Request, db: DbSession, actor: Annotated[Actor, Allow("account.read")]) -> Response:
    account = db.get(SubjectAccount, actor.account_id) if actor.account_id is not None else None
    if account is None:  # pragma: no cover - the session resolves only to an existing, active account
        raise NotFound("账户不存在，请重新登录")
    return render(request, "accounts/home.html", service.overview(db, account, clock.today()))


# ---------------------------------------------------------------- /admin/accounts (credit office)

register_admin_link(47, "/admin/accounts", "主体账户", action="account.manage")


def _admin_page(request: Request, db: Session, user: User, *, error: str | None = None, code: str | None = None,
                code_for: str | None = None, status: int = 200) -> Response:
    rows = [service.account_out(db, a) for a in service.pending_accounts(db)]
    return render(request, "accounts/admin.html", admin_context(request, user, rows=rows, error=error, code=code,
                                                                code_for=code_for), status_code=status)


@pages.get("/admin/accounts", response_class=HTMLResponse)
def admin_list(request: Request, db: DbSession, user: Annotated[User, AllowUser("account.manage")]) -> Response:
    return _admin_page(request, db, user)


@pages.post("/admin/accounts/{account_id}/{action}", response_class=HTMLResponse)
def admin_action(request: Request, account_id: IdPath, action: str, db: DbSession,
                 user: Annotated[User, AllowUser("account.manage")]) -> Response:
    actor = f"user:{user.username}"
    try:
        with db.begin_nested():
            if action == "approve":
                service.approve(db, account_id, actor=actor)
            elif action == "code":
                account = db.get(SubjectAccount, account_id)
                uscc = account.uscc if account else str(account_id)
                code = service.issue_code(db, uscc, actor=actor)
                return _admin_page(request, db, user, code=code, code_for=uscc)
            elif action in ("disable", "enable"):
                service.set_disabled(db, account_id, action == "disable", actor=actor)
            else:
                raise DomainError("未知操作：只能审核激活、发放激活码、停用或启用")
    except DomainError as exc:
        return _admin_page(request, db, user, error=exc.detail, status=exc.status)
    return RedirectResponse("/admin/accounts", status_code=303)
