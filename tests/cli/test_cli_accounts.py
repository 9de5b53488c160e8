from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xinyong.accounts import service as accounts
from xinyong.accounts.models import ApiKey, Department
from xinyong.cli import app

runner = CliRunner()


def test_dept_add_and_apikey_create_print_the_key_once(engine: Engine, db: Session) -> None:
    result = runner.invoke(app, ["dept", "add", "--code", "SW", "--name", "国家税务总局德州市税务局"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["apikey", "create", "--dept", "SW"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("xy_")
    assert accounts.department_for_key(db, key).code == "SW"
    stored = db.scalars(select(ApiKey)).one()
    assert stored.key_hash != key


def test_apikey_for_unknown_department_fails_in_chinese(engine: Engine, db: Session) -> None:
    result = runner.invoke(app, ["apikey", "create", "--dept", "NOPE"])
    assert result.exit_code != 0
    assert "不存在" in result.output
    assert db.scalar(select(Department)) is None


def test_catalog_list_json(engine: Engine) -> None:
    result = runner.invoke(app, ["catalog", "list", "--json"])
    assert result.exit_code == 0
    assert "admin_penalty" in result.stdout
