"""Indicator and population files: a broken file stops loading with file, line and reason; the CLI's build and
report commands, with Chinese refusals."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session
from stats_support import add_record
from typer.testing import CliRunner

from lists_support import add_departments, new_org
from xinyong.cli import app as cli_app
from xinyong.lists.yamlconf import ConfigError
from xinyong.stats import indicators
from xinyong.stats.config import indicators_dir, load_indicators, load_population

GOOD = """indicators:
  - id: collected
    name: 归集量
    section: collection
    definition: {numerator: 本月入库的记录, window: 自然月}
    unit: 条
    groups: [city, dept]
    source: records.collected
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _load(directory: Path) -> Any:
    return load_indicators(directory, indicators.sources(),
                           [n for n, s in indicators.sources().items() if s.drill is not None])


def test_shipped_indicators_load_and_cover_the_issue() -> None:
    shipped = _load(indicators_dir())
    ids = set(shipped.items)
    assert {"records_collected", "records_per_capita", "org_coverage", "person_coverage", "dual_per_enterprise",
            "dual_on_time", "dual_compliance", "duplicate_rate", "reject_rate", "lists_pushed_on_time",
            "joint_feedback_on_time", "measures_applied", "objections_per_10k", "objections_on_time",
            "objection_median_days", "repairs_decided", "repair_avg_days", "complaints_on_time", "checks_done",
            "check_hit_rate", "error_code_rate", "open_issues", "grade_distribution", "upstream_on_time"} <= ids
    assert all(i.definition.numerator and i.definition.window for i in shipped.items.values())


@pytest.mark.parametrize(("text", "line", "reason"), [
    (GOOD.replace("records.collected", "records.nowhere"), 8, "数据来源 records.nowhere 不存在"),
    (GOOD.replace("section: collection", "section: weather"), 4, "栏目“weather”不存在"),
    (GOOD.replace("groups: [city, dept]", "groups: [dept]"), 7, "须包含 city"),
    (GOOD.replace("    unit: 条\n", ""), 2, "缺少必填项 unit"),
    (GOOD.replace("id: collected", "id: Collected"), 2, "小写英文字母"),
    (GOOD + "    drill: true\n    target: {op: '=', value: 3}\n", 10, "op"),
    (GOOD.replace("records.collected", "subjects.coverage") + "    drill: true\n", 9, "不提供明细"),
    (GOOD.replace("groups: [city, dept]", "groups: [city, dept"), 8, "YAML 语法错误"),
    (GOOD + GOOD.replace("indicators:\n", ""), 9, "指标代码 collected 重复"),
])
def test_broken_indicator_file_names_file_line_and_reason(tmp_path: Path, text: str, line: int, reason: str) -> None:
    _write(tmp_path, "bad.yaml", text)
    with pytest.raises(ConfigError) as err:
        _load(tmp_path)
    assert "bad.yaml" in str(err.value) and f"第{line}行" in str(err.value) and reason in str(err.value)
    assert err.value.line == line


POP = """year: 2026
regions:
  - {code: "371402", name: 德城区, population: 700000, adults: 560000}
  - code: "371403"
    name: 陵城区
    population: 510000
    adults: 408000
"""


@pytest.mark.parametrize(("text", "line", "reason"), [
    (POP.replace("population: 510000", "population: -5"), 6, "不能为负数"),
    (POP.replace("    population: 510000\n", ""), 4, "缺少必填项 population"),
    (POP.replace("population: 510000", "population:"), 6, "不能为空"),
    (POP.replace("adults: 560000", "adults: 五十万"), 3, "应为整数"),
    (POP.replace('code: "371403"', "code: 3714"), 4, "code"),
])
def test_broken_population_file_names_file_line_and_reason(tmp_path: Path, text: str, line: int, reason: str) -> None:
    _write(tmp_path, "2026.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_population(tmp_path)
    assert "2026.yaml" in str(err.value) and f"第{line}行" in str(err.value) and reason in str(err.value)


def test_population_of_the_year_or_the_latest_before(tmp_path: Path) -> None:
    _write(tmp_path, "2025.yaml", POP.replace("year: 2026", "year: 2025"))
    pop = load_population(tmp_path)
    assert pop.for_year(2026) is not None and pop.for_year(2026).population == 1_210_000  # type: ignore[union-attr]
    assert pop.for_year(2024) is None
    _write(tmp_path, "again.yaml", POP.replace("year: 2026", "year: 2025"))
    with pytest.raises(ConfigError, match="2025 年的人口已在另一个文件中填写"):
        load_population(tmp_path)


def test_cli_build_and_report(db: Session, clock: Any, tmp_path: Path) -> None:
    clock.set(date(2026, 4, 15))
    depts = add_departments(db, ["XYB", "SCJG"])
    org = new_org(db)
    db.flush()
    add_record(db, dept_id=depts["SCJG"].id, subject_id=org.id, day=date(2026, 3, 2))
    db.commit()
    runner = CliRunner()
    future = runner.invoke(cli_app, ["stats", "build", "--month", "2026-05"])
    assert future.exit_code == 1 and "尚未到来" in future.output
    malformed = runner.invoke(cli_app, ["stats", "build", "--month", "2026/03"])
    assert malformed.exit_code == 1 and "YYYY-MM" in malformed.output
    not_built = runner.invoke(cli_app, ["stats", "report", "--month", "2026-03", "--out", str(tmp_path)])
    assert not_built.exit_code == 1 and "stats build --month 2026-03" in not_built.output

    ok = runner.invoke(cli_app, ["stats", "build", "--month", "2026-03"])
    assert ok.exit_code == 0, ok.output
    assert "2026-03（已结账）" in ok.output
    frozen = runner.invoke(cli_app, ["stats", "build", "--month", "2026-03"])
    assert frozen.exit_code == 1 and "--rebuild" in frozen.output
    again = runner.invoke(cli_app, ["stats", "build", "--month", "2026-03", "--rebuild"])
    assert again.exit_code == 0 and "已记入审计日志" in again.output
    assert runner.invoke(cli_app, ["stats", "build"]).exit_code == 0  # this month, open

    out = tmp_path / "out"
    done = runner.invoke(cli_app, ["stats", "report", "--month", "2026-03", "--out", str(out)])
    assert done.exit_code == 0, done.output
    book = load_workbook(out / "月报-2026-03.xlsx")
    assert "指标与目标" in book.sheetnames and book["指标与目标"]["A1"].value == "社会信用体系建设监测月报 · 2026-03"
    assert all(not str(c.value).startswith("=") for ws in book for row in ws.iter_rows() for c in row if c.value)
    assert (out / "月报-2026-03.pdf").read_bytes().startswith(b"%PDF")


def test_cli_build_stops_on_a_broken_indicator_file(db: Session, clock: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set(date(2026, 4, 15))
    _write(tmp_path, "bad.yaml", GOOD.replace("records.collected", "records.nowhere"))
    monkeypatch.setattr(indicators, "indicators_dir", lambda: tmp_path)
    result = CliRunner().invoke(cli_app, ["stats", "build", "--month", "2026-03"])
    text = "".join(result.output.split())  # Rich wraps long lines
    assert result.exit_code == 1 and "bad.yaml第8行" in text and "records.nowhere不存在" in text
