"""The portal in a real browser: search, open a subject, read it on a phone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from browser_support import PHONE, browser_page, live_server, live_server_seed  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def live_server_seed() -> Callable[[Any], None]:  # noqa: F811  (overrides the default: seeds the test city)
    from portal_city import seed_city

    return seed_city


@pytest.mark.browser
def test_search_and_open_a_subject(live_server: str, browser_page: Any, tmp_path: Any) -> None:  # noqa: F811
    page = browser_page
    page.goto(live_server + "/")
    assert "公共信用信息查询" in page.content()
    page.fill("input[name=q]", "恆達重工")  # traditional characters
    page.click("button[type=submit]")
    page.wait_for_url("**/search?q=*")
    hit = page.locator("a.hit-name").first
    assert hit.inner_text() == "德州市恒达重工机械制造有限公司"
    assert page.locator("a.hit-name mark").first.inner_text() == "恒达重工"
    hit.click()
    page.wait_for_url("**/subjects/*")
    assert page.locator("h1.subject-name").inner_text() == "德州市恒达重工机械制造有限公司"
    body = page.content()
    assert "德市监罚〔2025〕1号" in body and "德市监罚〔2023〕9号" not in body
    assert page.locator("article.record.objection .badge.warn").first.inner_text() == "异议中"

    # live results (HTMX) replace the result list without a page load
    page.goto(live_server + "/search")
    page.locator("input[name=q]").press_sequentially("鑫源小吃", delay=30)
    page.wait_for_selector("a.hit-name >> text=德州市鑫源小吃店")

    # a phone: no horizontal scrolling on the subject page and the 双公示 list
    page.set_viewport_size(PHONE)
    for path in ("/", "/search?q=恒达", "/publicity"):
        page.goto(live_server + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
    page.goto(page.url.split("/publicity")[0] + "/search?q=恒达")
    page.click("a.hit-name")
    page.wait_for_url("**/subjects/*")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(tmp_path / "subject-390.png"), full_page=True)
