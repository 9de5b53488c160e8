"""信易贷 in a browser: a firm registers (the office approves its account), posts a need and grants a bank access;
the bank's loan officer claims it, reads the authorised report, records the credit and the disbursement; the firm
follows the need to 已放款 and sees the log of the bank's views.

The live server uses its own (system) clock; the firm was established years ago so every rule holds."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from browser_support import browser_page, live_server, live_server_seed  # noqa: F401  (fixtures)
from xinyong.accounts import service as accounts
from xinyong.catalog import rules as catalog_rules
from xinyong.core.identifiers import make_uscc
from xinyong.financing import service
from xinyong.records import service as records
from xinyong.subjects import service as subjects

PASSWORD = "password-123"
FIRM_PASSWORD = "firm-secret-2026"
BANK_PASSWORD = "bank-secret-2026"
REP_ID = "11010519491231002X"
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def live_server_seed() -> Callable[[Any], None]:  # noqa: F811
    def seed(session: Any) -> None:
        accounts.add_department(session, "XYB", "德州市社会信用体系建设领导小组办公室", credit_office=True)
        scjg = accounts.add_department(session, "SCJG", "德州市市场监督管理局")
        accounts.create_user(session, "xyb", PASSWORD, role="operator", dept_code="XYB")
        uscc = make_uscc("91", "371402", "BRW00001")
        firm = subjects.upsert_organisation(session, uscc=uscc, name="德州市融资浏览器测试有限公司", region_code="371402")
        firm.established = date(2018, 5, 1)
        start, until = catalog_rules.permanent_window(date(2018, 5, 1))
        records.add_record(session, subject=firm, item_code="registration", dept_id=scjg.id,
                           values={"subject_name": firm.name, "uscc": uscc, "legal_rep": "张三", "legal_rep_id_no": REP_ID,
                                   "established": "2018-05-01"},
                           decision_date=date(2018, 5, 1), publish_from=start, publish_until=until)
        inst = service.add_institution(session, make_uscc("91", "371400", "BRWBANK1"), "德州浏览器测试银行")
        service.add_user(session, inst, "officer", BANK_PASSWORD, "loan_officer")
        manager = service.add_user(session, inst, "manager", BANK_PASSWORD, "product_manager")
        service.create_product(session, service.actor_for_bank_user(manager), service.ProductIn(
            name="浏览器信用快贷", min_amount=100_000, max_amount=3_000_000, min_term=6, max_term=36, min_rate=3.2,
            max_rate=5.5, guarantee="credit", regions=[], industries=[],
            rules={"all": [{"fact": "on_black_list", "eq": False}, {"fact": "severe_penalties_2y", "eq": 0}]}))
        STATE.update(uscc=uscc, bank=inst.name)

    return seed


def _submit(page: Any, form: str) -> None:
    page.click(f"form[action='{form}'] button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.browser
def test_need_grant_claim_report_credit_and_the_firms_view_log(live_server: str,  # noqa: F811
                                                                browser_page: Any) -> None:  # noqa: F811
    page, base, uscc = browser_page, live_server, STATE["uscc"]
    # 1. the firm registers; the office approves the account
    page.goto(f"{base}/account/register")
    page.fill("input[name=uscc]", uscc)
    page.fill("input[name=legal_rep_name]", "张三")
    page.fill("input[name=legal_rep_id]", REP_ID)
    page.fill("input[name=password]", FIRM_PASSWORD)
    page.fill("input[name=password2]", FIRM_PASSWORD)
    _submit(page, "/account/register")
    page.goto(f"{base}/admin/login")
    page.fill("input[name=username]", "xyb")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin$"))
    page.goto(f"{base}/admin/accounts")
    page.click("form[action$='/approve'] button[type=submit]")
    page.wait_for_load_state()
    # 2. the firm logs in, sees the eligible product, posts a need and grants the bank access for it
    page.context.clear_cookies()
    page.goto(f"{base}/account/login")
    page.fill("input[name=uscc]", uscc)
    page.fill("input[name=password]", FIRM_PASSWORD)
    page.click("form[action='/account/login'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/account$"))
    page.click("a[href='/account/financing']")
    assert "浏览器信用快贷" in page.inner_text("body") and "符合" in page.inner_text("body")
    page.fill("form[action='/account/financing/needs'] input[name=amount]", "800000")
    page.fill("form[action='/account/financing/needs'] input[name=term]", "12")
    page.fill("form[action='/account/financing/needs'] input[name=purpose]", "采购原材料")
    _submit(page, "/account/financing/needs")
    assert "待接单" in page.inner_text(".need-state")
    need_id = page.url.rstrip("/").rsplit("/", 1)[1]
    page.goto(f"{base}/account/financing")
    grant = page.locator("form[action='/account/financing/grants']")
    grant.locator("select[name=purpose]").select_option("need")
    grant.locator("select[name=need_id]").select_option(need_id)
    _submit(page, "/account/financing/grants")
    assert STATE["bank"] in page.inner_text("#grants") and "有效" in page.inner_text("#grants")
    # 3. the bank's loan officer claims the need, reads the authorised report, records credit and disbursement
    page.context.clear_cookies()
    page.goto(f"{base}/bank/login")
    page.fill("input[name=username]", "officer")
    page.fill("input[name=password]", BANK_PASSWORD)
    _submit(page, "/bank/login")
    page.goto(f"{base}/bank/needs/{need_id}")
    _submit(page, f"/bank/needs/{need_id}/claim")
    assert "已受理" in page.inner_text(".need-state")
    page.click("text=查看授权信用报告")
    page.wait_for_load_state()
    body = page.inner_text("body")
    assert "授权信用信息报告" in body and "德州市融资浏览器测试有限公司" in body
    page.goto(f"{base}/bank/needs/{need_id}")
    form = page.locator(f"form[action='/bank/needs/{need_id}/grant']")
    form.locator("input[name=amount]").fill("600000")
    form.locator("input[name=rate]").fill("4.1")
    form.locator("input[name=term]").fill("12")
    _submit(page, f"/bank/needs/{need_id}/grant")
    assert "已授信" in page.inner_text(".need-state")
    page.locator(f"form[action='/bank/needs/{need_id}/disburse'] input[name=amount]").fill("600000")
    _submit(page, f"/bank/needs/{need_id}/disburse")
    assert "已放款" in page.inner_text(".need-state")
    # 4. the firm follows its need and sees who looked at its credit information, when and why
    page.context.clear_cookies()
    page.goto(f"{base}/account/login")
    page.fill("input[name=uscc]", uscc)
    page.fill("input[name=password]", FIRM_PASSWORD)
    page.click("form[action='/account/login'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/account$"))
    page.goto(f"{base}/account/financing")
    assert "已放款" in page.inner_text("body")
    views = page.inner_text("#views")
    assert STATE["bank"] in views and "bank:officer" in views and f"审查融资需求{need_id}" in views
