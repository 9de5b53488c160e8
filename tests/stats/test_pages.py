"""The board, drill-down, report downloads and the public page over HTTP, on both databases."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import load_workbook
from sqlalchemy.orm import Session
from stats_support import add_record

from lists_support import add_departments, new_org
from xinyong.accounts import service as accounts
from xinyong.stats import service

TODAY = date(2026, 4, 15)


def _seed(db: Session) -> None:
    depts = add_departments(db, ["XYB", "SCJG", "SW"])
    org = new_org(db)
    db.flush()
    for day, late in ((date(2026, 2, 3), False), (date(2026, 3, 2), False), (date(2026, 3, 9), True)):
        add_record(db, dept_id=depts["SCJG"].id, subject_id=org.id, day=day, late=late, workdays=9 if late else 2)
    add_record(db, dept_id=depts["SW"].id, subject_id=org.id, item="admin_license", day=date(2026, 3, 3))
    accounts.create_user(db, "admin", "admin12345", dept_code="XYB", role="operator")
    accounts.create_user(db, "scjg", "scjg12345", dept_code="SCJG")
    accounts.create_user(db, "audit", "audit12345", dept_code="XYB", role="auditor")
    db.commit()
    service.build_month(db, "2026-02", today=TODAY, actor="test")
    service.build_month(db, "2026-03", today=TODAY, actor="test")
    db.commit()


def _login(client: Any, user: str, password: str) -> None:
    assert client.post("/admin/login", data={"username": user, "password": password},
                       follow_redirects=False).status_code == 303


def test_board_for_the_credit_office(client: Any, db: Session, clock: Any) -> None:
    clock.set(TODAY)
    _seed(db)
    _login(client, "admin", "admin12345")
    page = client.get("/admin/stats")
    assert page.status_code == 200
    text = page.text
    assert "监测统计 · 2026-03" in text and "（已结账）" in text
    assert 'id="ind-dual_on_time" class="missed"' in text and "未达标" in text
    assert "/admin/stats/drill/dual_on_time?month=2026-03" in text
    assert text.count('class="chart"') == text.count('class="chart-table"') > 5  # a text table beside every chart
    assert "/static/vendor/echarts/echarts.min.js" in text and "下载月报 XLSX" in text
    assert 'id="league-dual_on_time"' in text
    feb = client.get("/admin/stats?month=2026-02")
    assert feb.status_code == 200 and "监测统计 · 2026-02" in feb.text
    missing = client.get("/admin/stats?month=2025-01")
    assert missing.status_code == 404 and "尚未生成" in missing.text
    bad = client.get("/admin/stats?month=2026-3x")
    assert bad.status_code == 422 and "YYYY-MM" in bad.text

    drill = client.get("/admin/stats/drill/dual_on_time?month=2026-03")
    assert drill.status_code == 200 and "迟报的双公示记录" in drill.text and "德市监罚" in drill.text
    assert drill.text.count("<tr>") == 2  # the header and the one late record
    assert client.get("/admin/stats/drill/no_such?month=2026-03").status_code == 404
    assert client.get("/admin/stats/drill/dual_on_time?month=2026-03&dept=NOPE").status_code == 404


def test_department_user_sees_only_its_own_department(client: Any, db: Session, clock: Any) -> None:
    clock.set(TODAY)
    _seed(db)
    _login(client, "scjg", "scjg12345")
    page = client.get("/admin/stats?month=2026-03")
    assert page.status_code == 200 and "德州市市场监督管理局" in page.text
    assert "国家税务总局德州市税务局" not in page.text  # no other department in its league tables
    assert "法人和非法人组织覆盖率" not in page.text      # city-only indicators are not a department's
    assert "下载月报" not in page.text
    # its drill-down is its own, whatever department it asks for
    drill = client.get("/admin/stats/drill/records_collected?month=2026-03&dept=SW")
    assert drill.status_code == 200 and "admin_license" not in drill.text and "admin_penalty" in drill.text
    assert client.get("/admin/stats/report.xlsx?month=2026-03").status_code == 403


def test_report_downloads(client: Any, db: Session, clock: Any) -> None:
    clock.set(TODAY)
    _seed(db)
    _login(client, "audit", "audit12345")
    r = client.get("/admin/stats/report.xlsx?month=2026-03")
    assert r.status_code == 200 and "filename*=UTF-8''%E6%9C%88%E6%8A%A5-2026-03.xlsx" in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames[:4] == ["指标与目标", "趋势", "部门排名", "较上月变化"]
    assert book["趋势"]._charts and book["部门排名"]._charts  # native charts
    assert "问题数据（按部门）" in book.sheetnames  # the section stats.quality's counts give
    pdf = client.get("/admin/stats/report.pdf?month=2026-03")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and b"FontFile2" in pdf.content
    assert client.get("/admin/stats/report.doc?month=2026-03").status_code == 404


def test_public_statistics(client: Any, db: Session, clock: Any) -> None:
    clock.set(TODAY)
    empty = client.get("/statistics")
    assert empty.status_code == 200 and "正在生成" in empty.text
    assert client.get("/api/v1/statistics").status_code == 404
    _seed(db)
    page = client.get("/statistics")
    assert page.status_code == 200 and "统计截至 2026-03" in page.text
    assert 'id="head-records"><b>4</b>' in page.text and 'id="head-dual"><b>4</b>' in page.text
    assert page.text.count('class="chart"') == page.text.count('class="chart-table"') >= 3
    api = client.get("/api/v1/statistics").json()
    assert api["month"] == "2026-03" and api["headline"]["records"] == 4
    assert {i["id"] for i in api["indicators"]} >= {"records_collected", "dual_uploads", "repairs_decided"}
