"""Sessions, CSRF, security headers and login throttling of the pages, on both databases."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xinyong.accounts import service as accounts
from xinyong.accounts.models import WebSession
from xinyong.accounts.sessions import SESSION_COOKIE, sweep_sessions
from xinyong.complaints.models import Complaint
from xinyong.core.audit import AuditEvent
from xinyong.core.db import utcnow
from xinyong.core.throttle import LOGIN_BY_ACCOUNT, LOGIN_BY_ADDRESS

HTML = {"accept": "text/html"}
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "xinyong" / "web" / "templates"
PASSWORD = "password-123"


def _user(db: Session, username: str = "clerk", role: str = "dept") -> None:
    accounts.add_department(db, "SCJG", "德州市市场监督管理局")
    accounts.create_user(db, username, PASSWORD, role=role, dept_code="SCJG")
    db.commit()


def _login(client: Any, username: str = "clerk", password: str = PASSWORD) -> Any:
    return client.post("/admin/login", data={"username": username, "password": password}, headers=HTML,
                       follow_redirects=False)


def _token(client: Any, page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page, headers=HTML).text)
    assert found, page
    return found.group(1)


def _plant(client: Any, value: str) -> None:
    """Put a session cookie into the client's jar as if the server had set it (same domain and path)."""
    client.cookies.delete(SESSION_COOKIE)
    client.cookies.set(SESSION_COOKIE, value, domain="testserver.local", path="/")


def _logged_in(client: Any) -> bool:
    return client.get("/admin", headers=HTML, follow_redirects=False).status_code == 200


def _events(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- sessions -------------------------------------------------------------------------------------------

def test_the_cookie_holds_a_random_token_and_the_row_only_its_hash(client: Any, db: Session) -> None:
    _user(db)
    resp = _login(client)
    assert resp.status_code == 303
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    token = client.cookies.get(SESSION_COOKIE)
    row = db.scalars(select(WebSession)).one()
    assert token and token not in (row.token_hash, row.csrf_token) and len(token) >= 40
    assert row.user_id is not None and row.revoked_at is None and row.expires_at > utcnow()
    assert _logged_in(client)


def test_logout_ends_the_session_and_the_old_cookie_is_worthless(client: Any, db: Session) -> None:
    _user(db)
    _login(client)
    token = client.cookies.get(SESSION_COOKIE)
    assert client.post("/admin/logout", follow_redirects=False).status_code == 303
    db.expire_all()
    assert db.scalars(select(WebSession)).one().revoked_at is not None
    _plant(client, token)  # a copy of the cookie kept from before the logout
    resp = client.get("/admin", headers=HTML, follow_redirects=False)
    assert resp.status_code == 303 and "/admin/login" in resp.headers["location"]


@pytest.mark.parametrize("column", ["expires_at", "last_seen_at"])
def test_expired_or_idle_sessions_are_refused_and_swept(client: Any, db: Session, column: str) -> None:
    _user(db)
    _login(client)
    assert _logged_in(client)
    db.execute(update(WebSession).values({column: utcnow() - timedelta(hours=3)}))
    db.commit()
    assert not _logged_in(client)
    assert sweep_sessions(db) == 1
    db.commit()
    assert db.scalar(select(func.count()).select_from(WebSession)) == 0


def test_the_daily_job_sweeps_ended_sessions(client: Any, db: Session) -> None:
    from xinyong.core.jobs import run_daily

    _user(db)
    _login(client)
    client.post("/admin/logout")
    _login(client)  # a live one stays
    assert run_daily()["sessions.sweep"] == 1
    db.expire_all()
    assert [r.revoked_at for r in db.scalars(select(WebSession))] == [None]
    assert _logged_in(client)


def test_a_fresh_token_at_every_login_no_fixation(client: Any, db: Session) -> None:
    _user(db)
    _plant(client, "planted-by-someone-else-0123456789abcdef")
    _login(client)
    assert client.cookies.get(SESSION_COOKIE) != "planted-by-someone-else-0123456789abcdef"
    first = client.cookies.get(SESSION_COOKIE)
    _login(client)
    assert client.cookies.get(SESSION_COOKIE) != first
    db.expire_all()
    rows = list(db.scalars(select(WebSession).order_by(WebSession.id)))
    assert len(rows) == 2 and rows[0].revoked_at is not None and rows[1].revoked_at is None


def test_password_change_ends_every_other_session(client: Any, db: Session) -> None:
    from fastapi.testclient import TestClient

    from web_support import browser_like_client

    _user(db)
    other: TestClient = browser_like_client(client.app)  # type: ignore[assignment]
    _login(client)
    _login(other)
    assert _logged_in(client) and _logged_in(other)
    before = client.cookies.get(SESSION_COOKIE)
    wrong = client.post("/admin/password", data={"current": "not-it", "new": "new-password-1", "confirm": "new-password-1"},
                        headers=HTML)
    assert wrong.status_code == 401 and "当前密码不正确" in wrong.text and _logged_in(other)
    assert len(_events(db, "user.password_change_failed")) == 1
    ok = client.post("/admin/password", data={"current": PASSWORD, "new": "new-password-1", "confirm": "new-password-1"},
                     headers=HTML)
    assert ok.status_code == 200 and "密码已修改" in ok.text
    assert not _logged_in(other)  # the other device is logged out
    assert _logged_in(client) and client.cookies.get(SESSION_COOKIE) != before  # this one continues, new token
    _plant(client, before)
    assert not _logged_in(client)
    assert _login(other, password=PASSWORD).status_code == 401
    assert _login(other, password="new-password-1").status_code == 303
    [event] = _events(db, "user.password_change")
    assert PASSWORD not in (event.after or "") and "new-password-1" not in (event.after or "")


def test_password_change_refusals_are_in_chinese(client: Any, db: Session) -> None:
    _user(db)
    _login(client)
    for form, text in (({"current": PASSWORD, "new": "short", "confirm": "short"}, "至少 8 位"),
                       ({"current": PASSWORD, "new": "new-password-1", "confirm": "new-password-2"}, "不一致"),
                       ({"current": PASSWORD, "new": PASSWORD, "confirm": PASSWORD}, "不能与当前密码相同")):
        resp = client.post("/admin/password", data=form, headers=HTML)
        assert resp.status_code == 422 and text in resp.text
    assert _logged_in(client) and len(_events(db, "user.password_change")) == 0


def test_an_operator_disabling_a_user_ends_their_sessions(client: Any, db: Session) -> None:
    from xinyong.cli import app

    _user(db)
    _login(client)
    assert _logged_in(client)
    result = CliRunner().invoke(app, ["user", "disable", "clerk"])
    assert result.exit_code == 0, result.output
    assert not _logged_in(client)
    assert _login(client).status_code == 401
    assert CliRunner().invoke(app, ["user", "disable", "nobody"]).exit_code == 1
    assert CliRunner().invoke(app, ["user", "enable", "clerk"]).exit_code == 0
    assert _login(client).status_code == 303


def test_secure_cookies_and_hsts_when_configured(engine: Any, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from xinyong.core.settings import reset_settings
    from xinyong.web.app import create_app

    _user(db)
    monkeypatch.setenv("XINYONG_SECURE_COOKIES", "true")
    reset_settings()
    try:
        with TestClient(create_app(), base_url="https://testserver") as secure:
            page = secure.get("/admin/login")
            assert "max-age=" in page.headers["strict-transport-security"]
            assert "Secure" in page.headers["set-cookie"]  # the CSRF cookie of the form
            form = {"username": "clerk", "password": PASSWORD, "csrf_token": _token(secure, "/admin/login")}
            resp = secure.post("/admin/login", data=form, follow_redirects=False)
            assert resp.status_code == 303 and "Secure" in resp.headers["set-cookie"]
    finally:
        monkeypatch.delenv("XINYONG_SECURE_COOKIES")
        reset_settings()


# --- CSRF -----------------------------------------------------------------------------------------------

def test_login_without_or_with_a_wrong_token_is_refused(bare_client: Any, db: Session) -> None:
    _user(db)
    form = {"username": "clerk", "password": PASSWORD}
    for extra in ({}, {"csrf_token": "forged"}, {"csrf_token": "x" * 64}):
        resp = bare_client.post("/admin/login", data={**form, **extra}, headers=HTML, follow_redirects=False)
        assert resp.status_code == 403 and "安全校验" in resp.text
    assert db.scalar(select(func.count()).select_from(WebSession)) == 0
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("login%"))) == 0
    token = _token(bare_client, "/admin/login")
    ok = bare_client.post("/admin/login", data={**form, "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303


def test_portal_form_without_token_writes_nothing(bare_client: Any, db: Session) -> None:
    form = {"token": "t-9", "category": "其他", "target_name": "某公司", "content": "虚假宣传，夸大产品功效，已截图留存"}
    resp = bare_client.post("/complaints/new", data=form, headers=HTML)
    assert resp.status_code == 403 and "安全校验" in resp.text
    # a token from another browser (its cookie is not ours) does not help
    from fastapi.testclient import TestClient

    with TestClient(bare_client.app) as stranger:
        foreign = _token(stranger, "/complaints/new")
    assert bare_client.post("/complaints/new", data={**form, "csrf_token": foreign}, headers=HTML).status_code == 403
    assert db.scalar(select(func.count()).select_from(Complaint)) == 0
    token = _token(bare_client, "/complaints/new")
    assert bare_client.post("/complaints/new", data={**form, "csrf_token": token}, headers=HTML).status_code == 201


def test_logged_in_forms_need_the_session_token(bare_client: Any, db: Session) -> None:
    _user(db)
    anonymous_token = _token(bare_client, "/admin/login")
    bare_client.post("/admin/login", data={"username": "clerk", "password": PASSWORD, "csrf_token": anonymous_token})
    session_token = _token(bare_client, "/admin/password")
    assert session_token != anonymous_token
    row = db.scalars(select(WebSession)).one()
    assert session_token == row.csrf_token
    form = {"current": PASSWORD, "new": "new-password-1", "confirm": "new-password-1"}
    assert bare_client.post("/admin/password", data={**form, "csrf_token": anonymous_token}).status_code == 403
    assert bare_client.post("/admin/logout", follow_redirects=False).status_code == 403
    assert _logged_in(bare_client)
    header = bare_client.post("/admin/logout", headers={"X-CSRF-Token": session_token}, follow_redirects=False)
    assert header.status_code == 303 and not _logged_in(bare_client)


def test_api_with_a_key_is_exempt_but_a_cookie_ride_is_not(bare_client: Any, db: Session) -> None:
    _user(db)
    key = accounts.create_api_key(db, "SCJG")
    db.commit()
    body = {"citizen_id": "11010519491231002X", "purpose": "招录"}
    with_key = bare_client.post("/api/v1/reports/person", json=body, headers={"Authorization": f"Bearer {key}"})
    assert with_key.status_code == 404  # reached the route: no such person
    bare_client.post("/admin/login", data={"username": "clerk", "password": PASSWORD,
                                           "csrf_token": _token(bare_client, "/admin/login")})
    ride = bare_client.post("/api/v1/reports/person", json=body)
    assert ride.status_code == 403 and "安全校验" in ride.json()["detail"]


def test_every_post_form_in_the_templates_carries_the_token() -> None:
    forms = 0
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<form\b[^>]*>", text, flags=re.IGNORECASE):
            if 'method="post"' in match.group(0).lower():
                forms += 1
                assert text[match.end():match.end() + 20].startswith("{{ csrf_field() }}"), f"{path.name}: {match.group(0)}"
    assert forms >= 25


def test_templates_hold_no_inline_script() -> None:
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.IGNORECASE):
            assert "src=" in tag, f"{path.name}: inline <script>"
        assert not re.search(r"\son[a-z]+\s*=", text, flags=re.IGNORECASE), f"{path.name}: on…= handler"
        assert "javascript:" not in text, path.name


# --- headers --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/admin/login", "/docs", "/api/v1/catalog", "/healthz", "/no-such-page",
                                  "/static/site.css"])
def test_security_headers_on_pages_and_api(client: Any, db: Session, path: str) -> None:
    resp = client.get(path, headers=HTML)
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp.split(
        "script-src")[1].split(";")[0]
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in resp.headers  # only when served over HTTPS


def test_the_docs_page_starts_swagger_from_a_file(client: Any, db: Session) -> None:
    html = client.get("/docs").text
    assert "/static/swagger-init.js" in html
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert client.get("/static/swagger-init.js").status_code == 200


# --- throttling -----------------------------------------------------------------------------------------

def test_login_is_throttled_per_account_and_failures_are_audited(client: Any, db: Session) -> None:
    _user(db)
    limit = LOGIN_BY_ACCOUNT.item.amount
    for _ in range(limit):
        assert _login(client, password="wrong-password").status_code == 401
    refused = _login(client)  # even the right password waits now
    assert refused.status_code == 429 and "登录失败次数过多" in refused.text and "后再试" in refused.text
    assert int(refused.headers["Retry-After"]) > 0
    assert not _logged_in(client)
    failed = _events(db, "login.failed")
    assert len(failed) == limit and len(_events(db, "login.throttled")) == 1
    for event in failed:
        assert "wrong-password" not in (event.after or "") and "clerk" in (event.after or "")
    # another account from the same address is not locked by this one's failures
    accounts.create_user(db, "other", PASSWORD, dept_code="SCJG")
    db.commit()
    assert _login(client, "other").status_code == 303


def test_login_is_throttled_per_address(client: Any, db: Session) -> None:
    _user(db)
    limit = LOGIN_BY_ADDRESS.item.amount
    for i in range(limit):
        assert _login(client, f"guess-{i}", "wrong-password").status_code == 401
    refused = _login(client)
    assert refused.status_code == 429 and "本机登录失败次数过多" in refused.text
    assert len(_events(db, "login.failed")) == limit


def test_a_successful_login_clears_the_account_count(client: Any, db: Session) -> None:
    _user(db)
    limit = LOGIN_BY_ACCOUNT.item.amount
    for _ in range(limit - 1):
        _login(client, password="wrong-password")
    assert _login(client).status_code == 303
    for _ in range(limit - 1):
        assert _login(client, password="wrong-password").status_code == 401
    assert _login(client).status_code == 303
