"""Providers per catalog item: only an item's providers (and the credit office where the catalog says so) upload it;
anyone else is refused with the providers named and nothing written. Only the registration item renames."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_helpers import ORG_A, PENALTY_HEADERS, counts, penalty_row, write_csv
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xinyong.accounts import service as accounts
from xinyong.catalog.service import get_catalog
from xinyong.cli import app as cli_app
from xinyong.core.errors import Forbidden
from xinyong.subjects.models import Subject, SubjectName

COURT_HEADERS = ["被执行人姓名/名称", "被执行人类型", "统一社会信用代码", "案号", "执行法院", "发布时间"]
REG_HEADERS = ["名称", "统一社会信用代码", "法定代表人", "成立日期", "登记机关"]


def _court_file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "court.csv", COURT_HEADERS,
                     [["德州甲有限公司", "法人及非法人组织", ORG_A, "（2026）鲁14执1号", "德州市中级人民法院", "2026-03-16"]])


def _post(client, key: str, path: Path, item: str):  # type: ignore[no-untyped-def]
    with path.open("rb") as fh:
        return client.post("/api/v1/batches", headers={"Authorization": f"Bearer {key}"}, data={"item": item},
                           files={"file": (path.name, fh, "text/csv")})


def _nothing_written(db: Session) -> None:
    db.rollback()
    assert {k: v for k, v in counts(db).items() if v} == {}


def test_the_tax_bureau_cannot_publish_a_court_item_over_the_api(client, db: Session, tmp_path: Path) -> None:
    accounts.add_department(db, "ZY", "德州市中级人民法院")
    accounts.add_department(db, "SW", "国家税务总局德州市税务局")
    key = accounts.create_api_key(db, "SW")
    db.commit()
    response = _post(client, key, _court_file(tmp_path), "dishonest_judgment_debtor")
    assert response.status_code == 403, response.text
    body = response.json()
    assert "德州市中级人民法院（ZY）" in body["detail"] and "国家税务总局德州市税务局" in body["detail"]
    assert "未写入任何数据" in body["detail"] and body["rule"] == "catalog.provider"
    _nothing_written(db)


def test_the_court_itself_may_publish_it_over_the_api(client, db: Session, tmp_path: Path) -> None:
    accounts.add_department(db, "ZY", "德州市中级人民法院")
    key = accounts.create_api_key(db, "ZY")
    db.commit()
    response = _post(client, key, _court_file(tmp_path), "dishonest_judgment_debtor")
    assert response.status_code == 201, response.text
    assert response.json()["accepted"] == 1


def test_a_wrong_provider_is_refused_by_the_cli_with_nothing_written(db: Session, tmp_path: Path) -> None:
    accounts.add_department(db, "ZY", "德州市中级人民法院")
    accounts.add_department(db, "SW", "国家税务总局德州市税务局")
    db.commit()
    result = CliRunner().invoke(cli_app, ["ingest", str(_court_file(tmp_path)), "--item",
                                          "dishonest_judgment_debtor", "--dept", "SW"])
    assert result.exit_code == 1
    assert "只能由德州市中级人民法院（ZY）、SHENG报送" in result.output
    _nothing_written(db)


def test_the_credit_office_provides_on_behalf_only_where_the_catalog_says_so(db: Session, tmp_path: Path,
                                                                            ingest) -> None:
    accounts.add_department(db, "XYB", "德州市社会信用体系建设领导小组办公室", credit_office=True)
    db.commit()
    assert get_catalog().get("admin_penalty").providers.credit_office is True
    penalty = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row()])
    assert ingest(penalty, dept_code="XYB").accepted == 1
    assert get_catalog().get("dishonest_judgment_debtor").providers.credit_office is False
    with pytest.raises(Forbidden, match="只能由德州市中级人民法院（ZY）、SHENG报送；"):
        ingest(_court_file(tmp_path), item="dishonest_judgment_debtor", dept_code="XYB")
    assert counts(db)["batches"] == 1  # the refused upload left no batch behind


def test_another_department_is_refused_a_penalty_item_only_if_not_listed(db: Session, tmp_path: Path,
                                                                        ingest) -> None:
    accounts.add_department(db, "ZY", "德州市中级人民法院")
    db.commit()
    with pytest.raises(Forbidden) as refused:
        ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row()]), dept_code="ZY")
    assert "或由信用办代为报送" in refused.value.detail  # the office may, so the refusal says so
    assert counts(db)["records"] == 0


def test_only_the_registration_item_renames_a_subject(db: Session, tmp_path: Path, ingest) -> None:
    reg = write_csv(tmp_path / "r1.csv", REG_HEADERS, [["德州甲有限公司", ORG_A, "张三", "2020-01-01", "德州市市场监督管理局"]])
    assert ingest(reg, item="registration").accepted == 1
    # a penalty under another name: the record is kept, the subject keeps its registered name and no history
    penalty = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row(name="德州假名有限公司")])
    assert ingest(penalty).accepted == 1
    subject = db.scalars(select(Subject).where(Subject.uscc == ORG_A)).one()
    assert subject.name == "德州甲有限公司"
    assert db.scalars(select(SubjectName.name).where(SubjectName.subject_id == subject.id)).all() == ["德州甲有限公司"]
    # the court's item neither
    ingest(_court_file(tmp_path), item="dishonest_judgment_debtor")
    court = write_csv(tmp_path / "c2.csv", COURT_HEADERS, [["德州法院名有限公司", "法人及非法人组织", ORG_A,
                                                             "（2026）鲁14执2号", "德州市中级人民法院", "2026-03-17"]])
    ingest(court, item="dishonest_judgment_debtor")
    db.expire_all()
    assert db.get(Subject, subject.id).name == "德州甲有限公司"  # type: ignore[union-attr]
    # the registration authority renames, and the old name goes into the history
    renamed = write_csv(tmp_path / "r2.csv", REG_HEADERS, [["德州甲乙有限公司", ORG_A, "张三", "2020-01-01",
                                                             "德州市市场监督管理局"]])
    ingest(renamed, item="registration")
    db.expire_all()
    assert db.get(Subject, subject.id).name == "德州甲乙有限公司"  # type: ignore[union-attr]
    names = db.scalars(select(SubjectName.name).where(SubjectName.subject_id == subject.id)
                       .order_by(SubjectName.id)).all()
    assert names == ["德州甲有限公司", "德州甲乙有限公司"]
