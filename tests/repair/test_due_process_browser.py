"""The whole story in a browser: object to a penalty, see it 异议中 and its measures suspended in a check, decide
it, apply for repair after the minimum period, approve it, and see the record gone from the portal, the report and
the check while the office still sees its history.

The penalty was decided 100 days ago (一般: the 3-month minimum has passed), so the live server's own clock is
used throughout; the API tests move the legal clock with the `clock` fixture instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from browser_support import browser_page, live_server, live_server_seed  # noqa: F401  (fixtures)
from due_process_support import FIRM_PASSWORD, PNG, firm_account, listed, org, penalty
from xinyong.accounts import service as accounts

PASSWORD = "password-123"
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def live_server_seed() -> Callable[[Any], None]:  # noqa: F811
    def seed(session: Any) -> None:
        office = accounts.add_department(session, "XYB", "德州市社会信用体系建设领导小组办公室", credit_office=True)
        scjg = accounts.add_department(session, "SCJG", "德州市市场监督管理局")
        accounts.add_department(session, "SW", "国家税务总局德州市税务局")
        accounts.create_user(session, "xyb", PASSWORD, role="operator", dept_code="XYB")
        accounts.create_user(session, "scjg", PASSWORD, role="dept", dept_code="SCJG")
        accounts.create_user(session, "sw", PASSWORD, role="dept", dept_code="SW")
        subject = org(session, "德州市某某食品有限公司")
        today = date.today()
        rec = penalty(session, subject, scjg, decided=today - timedelta(days=100), decision_no="德市监罚〔2026〕777号")
        listed(session, scjg, subject, rec, today)
        firm_account(session, subject)
        STATE.update(uscc=subject.uscc, record_id=rec.id, office=office.id)

    return seed


def login(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin$"))


def firm_login(page: Any, base: str) -> None:
    """The firm logs in to its own account: objections and repairs in its name come from there."""
    page.context.clear_cookies()
    page.goto(f"{base}/account/login")
    page.fill("input[name=uscc]", STATE["uscc"])
    page.fill("input[name=password]", FIRM_PASSWORD)
    page.click("form[action='/account/login'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/account$"))


def run_check(page: Any, base: str) -> str:
    login(page, base, "sw")
    page.goto(f"{base}/admin/checks")
    page.fill("form[action='/admin/checks'] input[name=subject]", STATE["uscc"])
    page.fill("form[action='/admin/checks'] input[name=matter]", "2026年纳税信用评价")
    page.click("form[action='/admin/checks'] button[type=submit]")
    return str(page.inner_text("#check-result"))


def admin_step(page: Any, action: str, note: str, **fields: str) -> None:
    form = page.locator(f"form[action$='/{action}']")
    for name, value in fields.items():
        if name == "suggestion":
            form.locator("select[name=suggestion]").select_option(value)
        else:
            form.locator(f"[name={name}]").fill(value)
    form.locator("input[name=note]").fill(note)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.browser
def test_object_decide_repair_and_disappear(live_server: str, browser_page: Any) -> None:  # noqa: F811
    page, base, uscc, rid = browser_page, live_server, STATE["uscc"], STATE["record_id"]

    # 1. the firm, logged in to its own account, objects to the penalty from its subject page
    firm_login(page, base)
    page.goto(f"{base}/subjects/{uscc}")
    assert "德市监罚〔2026〕777号" in page.inner_text("main")
    page.click(f"#record-{rid} a[href^='/objections/new']")
    page.fill("input[name=subject_code]", uscc)
    page.fill("input[name=applicant_name]", "德州市某某食品有限公司")
    page.fill("input[name=contact]", "0534-2222333")
    page.fill("textarea[name=reason]", "罚款已于决定当日缴清，且处罚决定书载明的违法事实与实际不符")
    page.set_input_files("input[name=files]", files=[{"name": "说明.png", "mimeType": "image/png", "buffer": PNG}])
    page.click("form[action='/objections/new'] button[type=submit]")
    case_no = page.inner_text("#case-no").strip()
    code = page.inner_text("#query-code").strip()
    assert case_no.startswith("YY") and len(code) == 10

    # 2. the credit office accepts and forwards it
    login(page, base, "xyb")
    page.goto(f"{base}/admin/objections")
    page.click(f"text={case_no}")
    admin_step(page, "accepted", "材料齐全，予以受理")
    admin_step(page, "forwarded", "请核实")
    assert "已转数据提供部门核实" in page.inner_text("#case-state")

    # 3. marked 异议中 on the portal; in a check the record is under objection and the list entry suspended
    page.goto(f"{base}/subjects/{uscc}")
    assert "异议中" in page.inner_text(f"#record-{rid}")
    result = run_check(page, base)
    assert "异议中" in result and "因异议暂停" in result

    # 4. the providing department answers; the office upholds the record
    login(page, base, "scjg")
    page.goto(f"{base}/admin/objections")
    page.click(f"text={case_no}")
    admin_step(page, "answered", "经核实处罚事实清楚，证据确凿", suggestion="uphold")
    login(page, base, "xyb")
    page.goto(f"{base}/admin/objections")
    page.click(f"text={case_no}")
    admin_step(page, "upheld", "经数据提供部门核实，原信息无误，予以维持")
    assert "维持原信息" in page.inner_text("#case-state")

    # 5. the applicant reads the outcome with the query code
    page.context.clear_cookies()
    page.goto(f"{base}/objections/{case_no}")
    page.fill("input[name=code]", code)
    page.click("button[type=submit]")
    assert "维持原信息" in page.inner_text("main") and "予以维持" in page.inner_text("main")

    # 6. repair: the minimum period has passed; evidence and a signed repair commitment come with the application
    firm_login(page, base)
    assert "德市监罚〔2026〕777号" in page.inner_text("main")  # its own page lists its records and cases
    assert case_no in page.inner_text("main")
    page.goto(f"{base}/subjects/{uscc}")
    assert "信用修复" in page.inner_text("#section-repair")
    page.goto(f"{base}/repair/new?record={rid}")
    assert "可以申请" in page.inner_text("#eligibility")
    page.fill("input[name=subject_code]", uscc)
    page.fill("input[name=applicant_name]", "德州市某某食品有限公司")
    page.fill("input[name=contact]", "0534-2222333")
    page.fill("textarea[name=statement]", "已缴清罚款，完成整改并经复查合格")
    page.set_input_files("input[name=files]", files=[{"name": "缴款凭证.pdf", "mimeType": "application/pdf",
                                                      "buffer": b"%PDF-1.4\n%%EOF\n"}])
    page.check("input[name=obligations]")
    page.fill("input[name=signer_name]", "王某某")
    page.click("form[action='/repair/new'] button[type=submit]")
    repair_no = page.inner_text("#case-no").strip()
    assert repair_no.startswith("XF")

    # 7. the department that made the finding approves
    login(page, base, "scjg")
    page.goto(f"{base}/admin/repair")
    page.click(f"text={repair_no}")
    page.locator("form[action$='/approve'] button[type=submit]").click()
    page.wait_for_load_state()
    assert "准予修复" in page.inner_text("#case-state")

    # 8. gone from the portal, the report and the check; the office still sees the history
    page.context.clear_cookies()
    page.goto(f"{base}/subjects/{uscc}")
    assert page.locator(f"#record-{rid}").count() == 0
    assert not any("777号" in t for t in page.locator("article.record").all_inner_texts())
    assert "信用修复承诺" in page.inner_text("#section-commitments")  # the signed commitment stays public
    page.goto(f"{base}/reports/{uscc}")
    assert "德市监罚〔2026〕777号" not in page.inner_text("main")
    result = run_check(page, base)
    assert "德市监罚〔2026〕777号" not in result and "因异议暂停" not in result
    login(page, base, "xyb")
    page.goto(f"{base}/admin/repair")
    page.click(f"text={repair_no}")
    history = page.inner_text("#record-history")
    assert "objection" in history and "repaired" in history and "已修复" in page.inner_text("#record-state")
