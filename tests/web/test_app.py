from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.catalog import CatalogError
from xinyong.catalog.service import reset_catalog_cache
from xinyong.core.settings import REPO_ROOT
from xinyong.records import service as records
from xinyong.subjects import service as subjects

USCC = "91440300708461136T"


def test_healthz(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


def test_docs_are_served_without_internet(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"]


def test_catalog_endpoint_lists_the_dual_publicity_items(client) -> None:  # type: ignore[no-untyped-def]
    codes = {item["code"] for item in client.get("/api/v1/catalog").json()}
    assert {"admin_penalty", "admin_license", "dishonest_judgment_debtor", "business_abnormal",
            "credit_commitment", "honour", "registration"} <= codes


def test_unknown_api_path_is_chinese_problem_details(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "不存在" in resp.json()["detail"]


def test_subject_api_shows_only_records_in_window(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    dept = accounts.add_department(db, "SCJG", "市场监管局")
    subject = subjects.upsert_organisation(db, uscc=USCC, name="深圳测试有限公司")
    today = date.today()
    for no, start, until in (("A1", today.replace(year=today.year - 1), today.replace(year=today.year + 1)),
                             ("A2", today.replace(year=today.year - 3), today.replace(year=today.year - 2))):
        records.add_record(db, subject=subject, item_code="admin_penalty", dept_id=dept.id,
                           values={"subject_name": "深圳测试有限公司", "decision_no": no, "penalty_type": "罚款"},
                           decision_no=no, decision_date=start, severity="一般", publish_from=start,
                           publish_until=until)
    db.commit()
    body = client.get(f"/api/v1/subjects/{USCC.lower()}").json()
    assert body["subject"]["uscc"] == USCC
    assert [r["decision_no"] for r in body["records"]] == ["A1"]


def test_subject_api_bad_code_is_404_in_chinese(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/subjects/123")
    assert resp.status_code == 404 and "统一社会信用代码" in resp.json()["detail"]


def test_broken_catalog_stops_start_up_with_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", config)
    broken = config / "catalog" / "honour.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("category:", "category: [", 1), encoding="utf-8")
    monkeypatch.setenv("XINYONG_CONFIG_DIR", str(config))
    reset_catalog_cache()
    from xinyong.web.app import create_app

    try:
        with pytest.raises(CatalogError) as info:
            create_app()
        assert "honour.yaml" in str(info.value) and "行" in str(info.value)
    finally:
        monkeypatch.delenv("XINYONG_CONFIG_DIR")
        reset_catalog_cache()
