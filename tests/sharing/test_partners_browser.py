"""In a real browser: the credit office registers a partner in /admin/partners, sees its key once, then revokes it;
the key stops working at once."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from browser_support import _browser, browser_page, live_server, live_server_seed  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def live_server_seed() -> Callable[[Any], None]:  # noqa: F811
    def seed(session: Any) -> None:
        from lists_support import add_departments
        from xinyong.accounts import service as accounts

        add_departments(session, ["XYB"])
        accounts.create_user(session, "admin", "admin12345", dept_code="XYB", role="operator")

    return seed


def _feed_status(base: str, key: str) -> int:
    req = urllib.request.Request(base + "/api/v1/feed", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req) as resp:
            json.loads(resp.read())
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.browser
def test_office_registers_and_revokes_a_partner(live_server: str, browser_page: Any) -> None:  # noqa: F811
    page, base = browser_page, live_server
    page.goto(f"{base}/admin/login?next=/admin/partners")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "admin12345")
    page.click("form[action='/admin/login'] button[type=submit]")
    page.wait_for_url("**/admin/partners*")
    assert "尚未登记共享合作方" in page.content()

    page.fill("input[name=code]", "DZBANK")
    page.fill("input[name=name]", "德州银行")
    page.select_option("select[name=kind]", "bank")
    page.fill("input[name=items]", "admin_penalty，zy_dishonest_judgment_debtor")
    page.fill("input[name=purpose]", "小微企业信易贷")
    page.click("form.partner-form button[type=submit]")
    shown = page.locator("#new-key code").inner_text()
    assert re.fullmatch(r"xyp_[A-Za-z0-9_-]{40,}", shown)
    assert _feed_status(base, shown) == 200

    page.goto(base + "/admin/partners")
    assert shown not in page.content()  # shown once only
    page.click("#partner-DZBANK form button[type=submit]")
    page.wait_for_url("**/admin/partners")
    assert "已吊销" in page.locator("#partner-DZBANK").inner_text()
    assert _feed_status(base, shown) == 401
