"""`xinyong supervision …` through typer's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from supervision_support import org, setup
from xinyong.cli import app
from xinyong.supervision import service

runner = CliRunner()


def test_schemes_draw_and_verify(db: Session) -> None:
    s = setup(db)
    for _ in range(10):
        org(db)
    for i in range(2):
        service.add_inspector(db, s.scjg, name=f"检查员{i}", badge_no=f"C{i}", actor="test")
    plan = service.create_plan(db, s.scjg, name="命令行抽查", scheme="scjg_market", period_start=date(2026, 4, 1),
                               period_end=date(2026, 6, 30), size=4, actor="test")
    db.commit()
    listed = runner.invoke(app, ["supervision", "schemes"])
    assert listed.exit_code == 0 and "市场监管领域信用分级分类抽查" in listed.output
    drawn = runner.invoke(app, ["supervision", "draw", plan.plan_no, "--seed", "5"])
    assert drawn.exit_code == 0, drawn.output
    out = json.loads(drawn.stdout.strip().splitlines()[-1])
    assert out["drawn"] == 4 and out["population"] == 10 and out["seed"] == "5"
    again = runner.invoke(app, ["supervision", "draw", plan.plan_no])
    assert again.exit_code == 1 and "已抽取" in again.output
    verified = runner.invoke(app, ["supervision", "verify", plan.plan_no])
    assert verified.exit_code == 0 and json.loads(verified.stdout.strip().splitlines()[-1])["verified"] is True
    missing = runner.invoke(app, ["supervision", "verify", "SJ0000"])
    assert missing.exit_code == 1 and "不存在" in missing.output
