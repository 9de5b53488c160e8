"""In a browser: the credit office runs the evaluation (CLI, on the live server's database), opens
/admin/evaluation, looks a subject up and reads its explanation: grade, score, the override, the indicators."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from browser_support import browser_page, live_databases, live_server, live_server_seed  # noqa: F401  (fixtures)
from due_process_support import listed, org, penalty
from xinyong.accounts import service as accounts

PASSWORD = "password-123"
STATE: dict[str, Any] = {}
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def live_server_seed() -> Callable[[Any], None]:  # noqa: F811
    def seed(session: Any) -> None:
        accounts.add_department(session, "XYB", "德州市社会信用体系建设领导小组办公室", credit_office=True)
        scjg = accounts.add_department(session, "SCJG", "德州市市场监督管理局")
        accounts.create_user(session, "xyb", PASSWORD, role="operator", dept_code="XYB")
        today = date.today()
        fined, bad = org(session, "德州市某某建材有限公司"), org(session, "德州市某某化工有限公司")
        penalty(session, fined, scjg, decided=today - timedelta(days=30))
        rec = penalty(session, bad, scjg, decided=today - timedelta(days=20), severity="严重")
        listed(session, scjg, bad, rec, today)
        STATE.update(fined=fined.uscc, bad=bad.uscc)

    return seed


@pytest.mark.browser
def test_open_a_subjects_explanation(live_server: str, browser_page: Any) -> None:  # noqa: F811
    env = {**os.environ, "XINYONG_DATABASE_URL": live_databases[live_server], "PYTHONPATH": str(SRC)}
    run = subprocess.run([sys.executable, "-c", "from xinyong.cli import app; app()", "evaluation", "run",
                          "--model", "city_comprehensive", "--json"], env=env, capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stderr
    page = browser_page
    page.goto(f"{live_server}/admin/login")
    page.fill("input[name=username]", "xyb")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin$"))
    page.click("a[href='/admin/evaluation']")
    page.wait_for_url(re.compile(r".*/admin/evaluation$"))
    assert "评价记录" in page.content() and "等级迁移" in page.content()
    page.fill("#explain-form input[name=uscc]", STATE["bad"])
    page.click("#explain-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/evaluation/subjects/.*"))
    text = page.inner_text("section[data-model='city_comprehensive']")
    assert "等级 D-" in text and "直接判级：列入严重失信主体名单" in text and "列为重点监管对象" in text
    page.goto(f"{live_server}/admin/evaluation/subjects/{STATE['fined']}")
    text = page.inner_text("section[data-model='city_comprehensive']")
    assert "等级 A" in text and "一般行政处罚：扣 12 分（依据 1 条信息）" in text
