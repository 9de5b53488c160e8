"""问题数据: detection, state machine, automatic closing, department isolation, XLSX export (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xinyong.access.actors import actor_for_dept
from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department
from xinyong.core.errors import Forbidden, NotFound, RuleViolation
from xinyong.ingest.models import Batch
from xinyong.ingest.service import ingest_file
from xinyong.stats import quality
from xinyong.stats.quality_models import QualityIssue
from xinyong.subjects.models import Subject

TODAY = date(2026, 3, 20)
HEADERS = [
    "行政相对人名称", "行政相对人类别", "行政相对人代码_1(统一社会信用代码)", "法定代表人", "法定代表人证件号码",
    "证件类型", "证件号码", "行政处罚决定书文号", "处罚类别", "罚款金额(万元)", "处罚决定日期", "公示截止期", "处罚机关",
]  # fmt: skip
ORG_A = "914403001922038216"
ORG_B = "91110000710926094P"
BAD = "914403001922038217"  # ORG_A with a wrong check character


def row(name: str, uscc: str, no: str) -> list[str]:
    return [name, "法人及非法人组织", uscc, "张三", "", "", "", no, "罚款", "1.5", "2026-03-16", "", "德州市市场监督管理局"]


def batch(db: Session, tmp_path: Path, rows: list[list[str]], dept: str = "SCJG", name: str = "p.csv") -> Any:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        w.writerows(rows)
    summary = ingest_file(db, path, "admin_penalty", dept, today=TODAY)
    db.commit()
    return summary


@pytest.fixture
def depts(db: Session) -> dict[str, Department]:
    out = {"XYB": accounts.add_department(db, "XYB", "德州市社会信用体系建设领导小组办公室", credit_office=True),
           "SCJG": accounts.add_department(db, "SCJG", "德州市市场监督管理局"),
           "SW": accounts.add_department(db, "SW", "国家税务总局德州市税务局")}
    db.commit()
    return out


def issues(db: Session, kind: str | None = None) -> list[QualityIssue]:
    q = select(QualityIssue).order_by(QualityIssue.id)
    if kind:
        q = q.where(QualityIssue.kind == kind)
    return list(db.scalars(q))


def dirty_city(db: Session, tmp_path: Path) -> None:
    batch(db, tmp_path, [row("德州甲有限公司", ORG_A, "N1")], name="b1.csv")
    batch(db, tmp_path, [row("德州乙贸易有限公司", ORG_A, "N2"),   # 一码多主: ORG_A under another name
                         row("德州甲有限公司", ORG_B, "N3"),       # 一主多码: the same name under a second code
                         row("德州丙有限公司", BAD, "N4")], name="b2.csv")  # 错码: refused


def test_detection_finds_each_kind_for_the_submitting_department(db: Session, depts: dict[str, Department],
                                                                 tmp_path: Path) -> None:
    dirty_city(db, tmp_path)
    result = quality.scan(db, TODAY)
    db.commit()
    assert result["opened"] == 3
    kinds = {i.kind: i for i in issues(db)}
    assert set(kinds) == {"multi_name", "multi_code", "bad_code"}
    assert all(i.dept_id == depts["SCJG"].id and i.state == "open" for i in kinds.values())
    assert kinds["multi_name"].key == ORG_A and "德州乙贸易有限公司" in kinds["multi_name"].detail
    assert kinds["multi_code"].key == "德州甲有限公司" and ORG_B in kinds["multi_code"].detail
    assert kinds["bad_code"].count == 1
    # a second scan finds the same and opens nothing new
    assert quality.scan(db, TODAY)["opened"] == 0
    assert len(issues(db)) == 3


def test_a_former_name_is_not_a_second_subject(db: Session, depts: dict[str, Department], tmp_path: Path) -> None:
    batch(db, tmp_path, [row("德州甲有限公司", ORG_A, "N1")])
    subject = db.scalar(select(Subject).where(Subject.uscc == ORG_A))
    assert subject is not None
    from xinyong.subjects.models import SubjectName

    db.add(SubjectName(subject_id=subject.id, name="德州甲旧名有限公司", first_seen=date(2020, 1, 1),
                       last_seen=date(2025, 1, 1)))
    db.commit()
    batch(db, tmp_path, [row("德州甲旧名有限公司", ORG_A, "N2"), row("德州甲另名有限公司", ORG_A, "N3")], name="b2.csv")
    quality.scan(db, TODAY)
    found = issues(db, "multi_name")
    assert len(found) == 1 and "德州甲另名有限公司" in found[0].detail and "德州甲旧名有限公司" not in found[0].detail


def test_cancelled_subjects_and_silent_departments(db: Session, depts: dict[str, Department], tmp_path: Path) -> None:
    batch(db, tmp_path, [row("德州甲有限公司", ORG_A, "N1")])
    db.execute(update(Subject).where(Subject.uscc == ORG_A).values(status="注销"))
    db.execute(update(Batch).values(started_at=datetime(2026, 2, 2, 2, tzinfo=UTC)))
    db.commit()
    quality.scan(db, TODAY, silent_workdays=10)
    db.commit()
    assert [i.key for i in issues(db, "cancelled")] == [ORG_A]
    silent = issues(db, "silent")
    assert [i.dept_id for i in silent] == [depts["SCJG"].id] and silent[0].count >= 10
    # a new batch ends the silence: closed automatically
    batch(db, tmp_path, [row("德州丁有限公司", ORG_B, "N9")], name="b3.csv")
    quality.scan(db, TODAY, silent_workdays=10)
    db.commit()
    assert issues(db, "silent")[0].state == "fixed"
    with pytest.raises(RuleViolation):
        quality.scan(db, TODAY, silent_workdays=0)


def test_a_later_batch_that_fixes_the_data_closes_the_items(db: Session, depts: dict[str, Department],
                                                            tmp_path: Path) -> None:
    dirty_city(db, tmp_path)
    quality.scan(db, TODAY)
    db.commit()
    office = actor_for_dept(depts["XYB"])
    name_issue = issues(db, "multi_name")[0]
    quality.notify(db, name_issue.id, actor=office, today=TODAY)
    db.commit()
    # the department re-sends N2 under the right name (a corrected version) and a clean batch of the item
    batch(db, tmp_path, [row("德州甲有限公司", ORG_A, "N2")], name="b3.csv")
    result = quality.scan(db, date(2026, 3, 23))
    db.commit()
    assert result["fixed"] == 2
    states = {i.kind: (i.state, i.closed_on) for i in issues(db)}
    assert states["multi_name"] == ("fixed", date(2026, 3, 23))
    assert states["bad_code"] == ("fixed", date(2026, 3, 23))
    assert states["multi_code"][0] == "open"
    # the same wrong code again: the fixed item reopens
    batch(db, tmp_path, [row("德州乙贸易有限公司", ORG_A, "N5")], name="b4.csv")
    assert quality.scan(db, date(2026, 3, 24))["reopened"] == 1
    assert issues(db, "multi_name")[0].state == "open"


def test_state_machine_and_department_isolation(db: Session, depts: dict[str, Department], tmp_path: Path) -> None:
    dirty_city(db, tmp_path)
    quality.scan(db, TODAY)
    db.commit()
    office, scjg, sw = (actor_for_dept(depts[c]) for c in ("XYB", "SCJG", "SW"))
    issue = issues(db, "multi_code")[0]
    with pytest.raises(Forbidden):
        quality.notify(db, issue.id, actor=scjg, today=TODAY)  # only the office notifies
    with pytest.raises(NotFound):
        quality.explain(db, issue.id, actor=sw, note="不是本部门的数据", today=TODAY)  # another department's item
    with pytest.raises(RuleViolation):
        quality.explain(db, issue.id, actor=scjg, note="", today=TODAY)  # an explanation needs words
    quality.notify(db, issue.id, actor=office, today=TODAY)
    with pytest.raises(RuleViolation):
        quality.notify(db, issue.id, actor=office, today=TODAY)  # notified once
    quality.explain(db, issue.id, actor=scjg, note="两家企业确属同名，已核实代码无误", today=TODAY)
    db.commit()
    assert issue.state == "explained" and issue.closed_on == TODAY
    # an explained item stays explained though the scan still finds it
    quality.scan(db, date(2026, 3, 23))
    assert issues(db, "multi_code")[0].state == "explained"
    with pytest.raises(RuleViolation):
        quality.notify(db, issue.id, actor=office, today=TODAY)
    assert quality.listing(db, dept_id=depts["SW"].id) == []


def test_counts_for_the_statistics(db: Session, depts: dict[str, Department], tmp_path: Path) -> None:
    dirty_city(db, tmp_path)
    quality.scan(db, TODAY)
    db.commit()
    month = datetime.now(UTC).strftime("%Y-%m")  # batches carry the wall-clock time of their arrival
    counts = quality.open_counts(db, "2026-03")
    assert counts == {"SCJG": {"multi_name": 1, "multi_code": 1, "bad_code": 1}}
    assert quality.open_counts(db, "2026-02") == {}
    num, den = quality.error_code_counts(db, month)["SCJG"]
    assert den == 4  # rows submitted, the refused one included
    assert num >= 1
    with pytest.raises(RuleViolation):
        quality.open_counts(db, "2026-13")


def _login(client: Any, username: str, password: str) -> None:
    r = client.post("/admin/login", data={"username": username, "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text


def test_admin_pages_isolate_departments_and_export(client: Any, db: Session, depts: dict[str, Department],
                                                    tmp_path: Path, clock: Any) -> None:
    clock.set(TODAY)
    dirty_city(db, tmp_path)
    quality.scan(db, TODAY)
    accounts.create_user(db, "xyb", "xyb-pass-2026", dept_code="XYB", role="operator")
    accounts.create_user(db, "sw", "sw-pass-2026x", dept_code="SW", role="dept")
    accounts.create_user(db, "scjg", "scjg-pass-2026", dept_code="SCJG", role="dept")
    db.commit()
    _login(client, "sw", "sw-pass-2026x")
    page = client.get("/admin/quality")
    assert page.status_code == 200 and "暂无问题数据" in page.text and ORG_A not in page.text
    book = load_workbook(io.BytesIO(client.get("/admin/quality.xlsx").content))
    assert book["问题数据"].max_row == 1
    client.post("/admin/logout")
    client.cookies.clear()
    _login(client, "scjg", "scjg-pass-2026")
    page = client.get("/admin/quality")
    assert ORG_A in page.text and "一码多主" in page.text
    data = client.get("/admin/quality.xlsx")
    assert data.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(data.content))["问题数据"].iter_rows(values_only=True))
    assert len(rows) == 4 and rows[0][0] == "编号"
    issue = issues(db, "multi_code")[0]
    r = client.post(f"/admin/quality/{issue.id}/explain", data={"note": "同名企业，代码无误"}, follow_redirects=False)
    assert r.status_code == 303
    db.expire_all()
    assert issues(db, "multi_code")[0].state == "explained"
    r = client.post(f"/admin/quality/{issues(db, 'bad_code')[0].id}/notify", follow_redirects=False)
    assert r.status_code == 403 and "信用办" in r.text
    client.cookies.clear()
    _login(client, "xyb", "xyb-pass-2026")
    page = client.get("/admin/quality")
    assert "德州市市场监督管理局" in page.text and "下发整改通知" in page.text


def test_api_lists_the_departments_own_items(client: Any, db: Session, depts: dict[str, Department],
                                             tmp_path: Path) -> None:
    dirty_city(db, tmp_path)
    quality.scan(db, TODAY)
    keys = {c: accounts.create_api_key(db, c) for c in ("SCJG", "SW")}
    db.commit()
    mine = client.get("/api/v1/quality/issues", headers={"Authorization": "Bearer " + keys["SCJG"]}).json()
    assert {i["kind"] for i in mine} == {"multi_name", "multi_code", "bad_code"}
    assert client.get("/api/v1/quality/issues", headers={"Authorization": "Bearer " + keys["SW"]}).json() == []
    r = client.get("/api/v1/quality/issues?state=nonsense", headers={"Authorization": "Bearer " + keys["SCJG"]})
    assert r.status_code == 422


def test_cli_scan(db: Session, depts: dict[str, Department], tmp_path: Path, engine: Any) -> None:
    from xinyong.cli import app

    dirty_city(db, tmp_path)
    result = CliRunner().invoke(app, ["quality", "scan", "--silent-days", "5"])
    assert result.exit_code == 0, result.output
    assert "新增 3" in result.output
    assert CliRunner().invoke(app, ["quality", "scan", "--silent-days", "0"]).exit_code == 2


def test_the_daily_jobs_run_the_scan(db: Session, depts: dict[str, Department], tmp_path: Path, engine: Any) -> None:
    from xinyong.core.jobs import daily_jobs, run_daily

    assert "quality.scan" in daily_jobs()
    dirty_city(db, tmp_path)
    results = run_daily(TODAY)
    assert results["quality.scan"] == 3
    db.expire_all()
    assert {i.kind for i in issues(db)} == {"multi_name", "multi_code", "bad_code"}
