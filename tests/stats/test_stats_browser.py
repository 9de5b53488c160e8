"""In a real browser, offline: /admin/stats and /statistics draw one ECharts chart (SVG) per chart box, from the
project's own static files, with no console errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from browser_support import _browser, browser_page, live_server, live_server_seed  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def live_server_seed() -> Callable[[Any], None]:  # noqa: F811
    def seed(session: Any) -> None:
        from stats_support import add_record

        from lists_support import add_departments, new_org
        from xinyong.accounts import service as accounts
        from xinyong.stats import service

        depts = add_departments(session, ["XYB", "SCJG"])
        org = new_org(session)
        session.flush()
        today = date.today()
        for back in range(3):
            index = today.year * 12 + today.month - 1 - back
            day = date(index // 12, index % 12 + 1, 3)
            add_record(session, dept_id=depts["SCJG"].id, subject_id=org.id, day=day, late=back == 1)
        accounts.create_user(session, "admin", "admin12345", dept_code="XYB", role="operator")
        session.flush()
        for back in (2, 1, 0):
            index = today.year * 12 + today.month - 1 - back
            service.build_month(session, f"{index // 12}-{index % 12 + 1:02d}", today=today, actor="test")

    return seed


def _watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # offline: anything not from the server itself is refused (no CDN)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1")
               else route.abort())
    return errors


def _charts_drawn(page: Any) -> None:
    boxes = page.locator(".chart[data-chart]")
    count = boxes.count()
    assert count > 0
    page.wait_for_function("n => document.querySelectorAll('.chart[data-chart] svg').length >= n", arg=count)
    for i in range(count):
        assert boxes.nth(i).locator("svg, canvas").count() >= 1


@pytest.mark.browser
def test_admin_stats_and_public_statistics_draw_their_charts(live_server: str, browser_page: Any) -> None:  # noqa: F811
    page, base = browser_page, live_server
    errors = _watch(page)
    page.goto(f"{base}/statistics")
    _charts_drawn(page)
    assert page.locator("#head-records b").inner_text() == "3"

    page.goto(f"{base}/admin/login?next=/admin/stats")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "admin12345")
    page.click("form[action='/admin/login'] button[type=submit]")
    page.wait_for_url("**/admin/stats*")
    _charts_drawn(page)
    assert page.locator("#stats-board").is_visible()
    assert errors == []
