"""Exports never write formulas (SQLite and PostgreSQL): text that starts with = + - @ stays text in every XLSX."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from due_process_support import org, penalty, world
from xinyong.accounts import service as accounts
from xinyong.checks import batch
from xinyong.ingest.models import Batch
from xinyong.ingest.reports import reject_report
from xinyong.ingest.service import ingest_file
from xinyong.joint.stats import joint_stats_xlsx

FORMULA = '=HYPERLINK("http://evil.example/","点此查看")'
HOSTILE = (FORMULA, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)")


def _cells(data: bytes) -> list[Any]:
    book = load_workbook(io.BytesIO(data))
    return [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def _assert_text(data: bytes, values: tuple[str, ...] = HOSTILE) -> None:
    cells = _cells(data)
    for value in values:
        found = [c for c in cells if c.value == value]
        assert found, f"{value!r} not in the export"
        assert all(c.data_type == "s" for c in found), [(c.coordinate, c.data_type) for c in found]
    assert not [c for c in cells if c.data_type == "f"]


def test_public_publicity_xlsx_writes_formulas_as_text(client: Any, db: Session) -> None:
    w = world(db)
    for i, text in enumerate(HOSTILE):
        subject = org(db, name=text)
        penalty(db, subject, w.scjg, decided=date.today() - timedelta(days=10 + i), decision_no=text)
    db.commit()
    resp = client.get("/publicity.xlsx")
    assert resp.status_code == 200
    _assert_text(resp.content)


def test_batch_check_results_xlsx_writes_formulas_as_text(db: Session) -> None:
    d = accounts.add_department(db, "SCJG", "德州市市场监督管理局")
    db.commit()
    out = batch.check_batch(db, dept=d, queries=list(HOSTILE), matter=FORMULA, matter_type="procurement",
                            purpose="@cmd")
    db.commit()
    _assert_text(batch.batch_xlsx(db, out["batch_check_id"], d), (*HOSTILE, "@cmd"))


def test_reject_report_writes_formulas_as_text(db: Session, dept_key: tuple[str, str], tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    lines = ["行政相对人名称,行政相对人类别,行政相对人代码_1(统一社会信用代码),行政处罚决定书文号,处罚类别,处罚决定日期,处罚机关"]
    lines += [f'"{FORMULA.replace(chr(34), chr(34) * 2)}",法人及非法人组织,914403001922038216,N{i},罚款,=1+1,德州市市场监督管理局'
              for i in range(2)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = ingest_file(db, path, "admin_penalty", "SCJG", today=date(2026, 3, 20))
    db.commit()
    assert summary.rejected == 2
    data = reject_report(db, db.get(Batch, summary.batch_id))  # type: ignore[arg-type]
    _assert_text(data, (FORMULA, "=1+1"))


def test_joint_stats_xlsx_writes_formulas_as_text() -> None:
    stats: dict[str, Any] = {
        "month": "2026-03",
        "initiators": [{"dept": "=A1", "dept_name": FORMULA, "initiated": 1, "pushed_by_10th": 1, "late_pushes": 0,
                        "missed_deadline": False}],
        "tasks_by_state": [{"label": "-2+3", "count": 1}],
        "feedback": [{"dept": "@SUM(1+1)", "dept_name": "+1+cmd|' /C calc'!A0", "tasks": 1, "answered": 1,
                      "feedback_rate": 1.0, "overdue": 0, "late_feedback": 0, "applied": 1}],
        "measures_applied": [{"label": "限制", "count": 2}],
    }
    _assert_text(joint_stats_xlsx(stats), (*HOSTILE, "=A1"))
