"""In a real browser: an initiating department proposes, notifies and publishes a list entry; an implementing
department sees its task in /admin and feeds back; the credit office's oversight counts move."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from browser_support import _browser, browser_page, live_server, live_server_seed  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def live_server_seed() -> Callable[[Any], None]:  # noqa: F811
    def seed(session: Any) -> None:
        from lists_support import add_departments
        from xinyong.accounts import service as accounts
        from xinyong.core.identifiers import make_uscc
        from xinyong.subjects import service as subjects

        add_departments(session, ["XYB", "SCJG", "ZJ", "JT", "ZRZY"])
        accounts.create_user(session, "scjg", "scjg12345", dept_code="SCJG")
        accounts.create_user(session, "zj", "zj1234567", dept_code="ZJ")
        accounts.create_user(session, "admin", "admin12345", dept_code="XYB", role="operator")
        subjects.upsert_organisation(session, uscc=make_uscc("91", "371402", "MA99B7W3"), name="德州浏览器测试食品有限公司")

    return seed


def _login(page: Any, base: str, user: str, password: str, target: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/admin/login?next={target}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("form[action='/admin/login'] button[type=submit]")
    page.wait_for_url(f"**{target}*")


def _stat(page: Any, base: str, key: str) -> str:
    page.goto(base + "/admin/joint")
    return str(page.locator(f"#stat-{key} b").inner_text())


@pytest.mark.browser
def test_initiate_publish_dispatch_feedback_oversight(live_server: str, browser_page: Any) -> None:  # noqa: F811
    from xinyong.core.identifiers import make_uscc

    page, base = browser_page, live_server
    uscc = make_uscc("91", "371402", "MA99B7W3")
    today = date.today()

    _login(page, base, "admin", "admin12345", "/admin/joint")
    assert _stat(page, base, "tasks") == "0" and _stat(page, base, "applied") == "0"

    _login(page, base, "scjg", "scjg12345", "/admin/lists")
    page.select_option("select[name=list_type]", "scjg_serious_illegal")
    page.fill("input[name=subject]", uscc)
    page.fill("input[name=decision_no]", "德市监严失〔2026〕88号")
    page.fill("input[name=decision_date]", (today - timedelta(days=7)).isoformat())
    page.fill("textarea[name=facts]", "生产经营不符合食品安全标准的食品，情节严重")
    page.fill("input[name=basis]", "《市场监督管理严重违法失信名单管理办法》第九条")
    page.click("form.lists-form button[type=submit]")
    row = page.locator("tr", has_text="德市监严失〔2026〕88号")
    assert "拟列入" in row.inner_text()
    row.locator("button", has_text="登记告知").click()
    row = page.locator("tr", has_text="德市监严失〔2026〕88号")
    assert "已告知" in row.inner_text()
    row.locator("button", has_text="公示").click()
    assert "已公示" in page.locator("tr", has_text="德市监严失〔2026〕88号").inner_text()

    page.goto(base + "/lists")
    assert "德州浏览器测试食品有限公司" in page.content()

    _login(page, base, "zj", "zj1234567", "/admin/tasks")
    task = page.locator("tr", has_text="依法限制或禁止参与工程建设项目招标投标")
    assert "待反馈" in task.inner_text() and "德州浏览器测试食品有限公司" in task.inner_text()
    task.locator("select[name=action]").select_option("applied")
    task.locator("input[name=matter]").fill("德州市某道路工程施工招标")
    task.locator("button", has_text="提交反馈").click()
    done = page.locator("tr", has_text="依法限制或禁止参与工程建设项目招标投标")
    assert "已实施" in done.inner_text() and "德州市某道路工程施工招标" in done.inner_text()

    _login(page, base, "admin", "admin12345", "/admin/joint")
    assert int(_stat(page, base, "tasks")) > 0 and _stat(page, base, "applied") == "1"
    zj_row = page.locator("#feedback-table tr", has_text="德州市住房和城乡建设局")
    assert zj_row.locator("td.answered").inner_text() == "1"
