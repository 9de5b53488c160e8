"""In a real browser: the Content-Security-Policy blocks nothing the pages need (no inline script left),
/docs starts, a confirm() guard still asks, and an admin logs in, changes the password and logs out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from browser_support import browser_page, live_server, live_server_seed  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def live_server_seed() -> Callable[[Any], None]:  # noqa: F811  (overrides the default)
    def seed(session: Any) -> None:
        from xinyong.accounts import service as accounts

        accounts.add_department(session, "SCJG", "德州市市场监督管理局")
        accounts.create_user(session, "clerk", "correct horse 1", display_name="采购科", dept_code="SCJG")

    return seed


def _watch_csp(page: Any) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    return violations


@pytest.mark.browser
def test_pages_and_docs_run_under_the_csp(live_server: str, browser_page: Any) -> None:  # noqa: F811
    page = browser_page
    violations = _watch_csp(page)
    for path in ("/", "/search?q=德州", "/publicity", "/lists", "/verify", "/complaints/new", "/admin/login"):
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)  # Swagger UI rendered the operations
    assert violations == []


@pytest.mark.browser
def test_login_password_change_and_logout(live_server: str, browser_page: Any) -> None:  # noqa: F811
    page = browser_page
    violations = _watch_csp(page)
    page.goto(f"{live_server}/admin/password")
    page.wait_for_url("**/admin/login**")
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", "correct horse 1")
    page.click("form[action='/admin/login'] button[type=submit]")
    page.wait_for_url("**/admin/password")
    page.fill("input[name=current]", "correct horse 1")
    page.fill("input[name=new]", "correct horse 2")
    page.fill("input[name=confirm]", "correct horse 2")
    page.click("form[action='/admin/password'] button[type=submit]")
    page.wait_for_selector("text=密码已修改")
    page.goto(f"{live_server}/admin")
    assert "工作台" in page.content()  # still logged in, in the fresh session
    page.click("form[action='/admin/logout'] button")
    page.wait_for_url("**/admin/login**")
    page.goto(f"{live_server}/admin")
    page.wait_for_url("**/admin/login**")
    assert violations == []
