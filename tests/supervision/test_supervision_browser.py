"""In a browser: a department user opens a draft inspection plan, draws it, and sees the drawn subjects each with
two inspectors from the roster and the draw verified; then enters a result."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from browser_support import browser_page, live_server, live_server_seed  # noqa: F401  (fixtures)
from supervision_support import grade, org
from xinyong.accounts import service as accounts

PASSWORD = "password-123"
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def live_server_seed() -> Callable[[Any], None]:  # noqa: F811
    def seed(session: Any) -> None:
        from xinyong.supervision import service

        scjg = accounts.add_department(session, "SCJG", "德州市市场监督管理局")
        accounts.create_user(session, "scjg", PASSWORD, role="dept", dept_code="SCJG")
        firms = [org(session) for _ in range(12)]
        session.flush()
        grade(session, {f.id: g for f, g in zip(firms, ["A", "B", "C", "D-"] * 3, strict=False)})
        for i, name in enumerate(["王建国", "李海燕", "张志强"]):
            service.add_inspector(session, scjg, name=name, badge_no=f"3714{i:04d}", actor="seed")
        today = date.today()
        plan = service.create_plan(session, scjg, name="浏览器测试抽查", scheme="scjg_market", period_start=today,
                                   period_end=today + timedelta(days=30), size=5, actor="seed")
        STATE.update(plan_no=plan.plan_no, names={f.name for f in firms})

    return seed


@pytest.mark.browser
def test_draw_page_shows_drawn_subjects_with_two_inspectors(live_server: str, browser_page: Any) -> None:  # noqa: F811
    page, base = browser_page, live_server
    page.goto(f"{base}/admin/login")
    page.fill("input[name=username]", "scjg")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin$"))
    page.goto(f"{base}/admin/inspections")
    page.click(f"text={STATE['plan_no']}")
    page.wait_for_url(re.compile(rf".*/admin/inspections/{STATE['plan_no']}$"))
    assert page.inner_text("#plan-state") == "草拟"
    page.click("text=随机抽取检查对象和检查人员")
    page.wait_for_selector("#drawn")
    assert page.inner_text("#plan-state") == "已抽取"
    assert "结果一致" in page.inner_text("#verified")
    rows = page.locator("#drawn tr").all()[1:]
    assert len(rows) == 5
    for row in rows:
        cells = row.locator("td").all_inner_texts()
        assert cells[1] in STATE["names"]
        inspectors = re.findall(r"(王建国|李海燕|张志强)", cells[4])
        assert len(inspectors) == 2 and inspectors[0] != inspectors[1]
    first = page.locator("#drawn tr").nth(1)
    first.locator("select[name=outcome]").select_option("rectify")
    first.locator("input[name=note]").fill("消防通道堵塞")
    first.locator("button[type=submit]").click()
    page.wait_for_selector("#drawn")
    assert page.inner_text("#plan-state") == "检查中"
    assert "责令整改：消防通道堵塞" in page.locator("#drawn tr").nth(1).inner_text()
