"""In a real browser: download a credit report and verify it; run a batch check in /admin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from check_data import CLEAN, DEBTOR, PENALISED

from browser_support import browser_page, live_databases, live_server, live_server_seed  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def live_server_seed() -> Callable[[Any], None]:  # noqa: F811  (overrides the default)
    def seed(session: Any) -> None:
        from check_data import city

        from xinyong.accounts import service as accounts

        city(session)
        accounts.create_user(session, "clerk", "correct horse 1", display_name="采购科", dept_code="SCJG")

    return seed


@pytest.mark.browser
def test_download_a_report_and_verify_it(live_server: str, browser_page: Any, tmp_path: Path) -> None:  # noqa: F811
    page = browser_page
    page.goto(f"{live_server}/reports/{PENALISED}")
    assert "德州市顺意商贸有限公司" in page.content()
    with page.expect_download() as info:
        page.click("#download-report")
    download = info.value
    number = download.suggested_filename.removesuffix(".pdf")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF") and number.startswith("XY")

    from sqlalchemy import create_engine, text

    from xinyong.reports.service import show_code

    engine = create_engine(live_databases[live_server])
    with engine.connect() as conn:
        code = show_code(conn.execute(text("SELECT verify_code FROM reports WHERE report_no = :n"), {"n": number}).scalar_one())
    engine.dispose()

    page.goto(f"{live_server}/verify/{number}")  # where the report's QR code leads: the code is asked for
    assert "德州市顺意商贸有限公司" not in page.inner_text("main")
    page.fill("input[name=code]", code)
    page.set_input_files("input[name=file]", str(saved))
    page.click("form button[type=submit]")
    page.wait_for_selector("#verify-result")
    assert "本平台出具" in page.inner_text("#verify-result")
    assert "完全一致" in page.inner_text("#file-match")
    assert "德州市顺意商贸有限公司" in page.inner_text("#verify-result")


@pytest.mark.browser
def test_batch_check_in_admin(live_server: str, browser_page: Any, tmp_path: Path) -> None:  # noqa: F811
    page = browser_page
    page.goto(f"{live_server}/admin/checks")
    page.wait_for_url("**/admin/login**")
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", "correct horse 1")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/checks")
    listing = tmp_path / "名单.csv"
    listing.write_text(f"统一社会信用代码\n{CLEAN}\n{PENALISED}\n{DEBTOR}\n91371402MA3C5X0U6X\n", encoding="utf-8")
    form = page.locator("form[action='/admin/checks/batch']")
    form.locator("input[name=file]").set_input_files(str(listing))
    form.locator("input[name=matter]").fill("2026年办公设备采购")
    form.locator("select[name=matter_type]").select_option("procurement")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#batch-result")
    result = page.inner_text("#batch-result")
    assert "共 4 个" in result
    assert page.inner_text(".stat.check-dishonest b") == "1" and page.inner_text(".stat.check-not_found b") == "1"
    with page.expect_download() as info:
        page.click("#batch-result a[download]")
    assert info.value.suggested_filename.endswith(".xlsx")

    single = page.locator("form[action='/admin/checks']")
    single.locator("input[name=subject]").fill(DEBTOR)
    single.locator("input[name=matter]").fill("2026年办公设备采购")
    single.locator("button[type=submit]").click()
    page.wait_for_selector("#check-result")
    assert "严重失信" in page.inner_text("#check-result")
