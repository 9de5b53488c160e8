from __future__ import annotations

import csv
import io
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from check_data import CITIZEN_ID, CLEAN, DEBTOR, PENALISED, city
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.checks import auth
from xinyong.checks.logbuffer import buffer
from xinyong.checks.models import BatchCheck, CheckLog

BODY = {"matter": "2026年政府采购项目", "matter_type": "procurement", "purpose": "投标人资格审查"}
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _problem(resp, status: int) -> str:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    detail = resp.json()["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in detail)
    return detail


def test_single_check_over_http(client, db: Session, dept_key) -> None:  # type: ignore[no-untyped-def]
    city(db)
    _, key = dept_key
    resp = client.post("/api/v1/checks", json={"subject": DEBTOR, **BODY}, headers=_h(key))
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["result"] == "dishonest" and isinstance(out["check_id"], int)
    assert out["subject"]["uscc"] == DEBTOR and out["lists"] == [] and out["measures"] == []
    assert out["records"][0]["item"] == "dishonest_judgment_debtor"
    person = client.post("/api/v1/checks", json={"subject": CITIZEN_ID, **BODY}, headers=_h(key)).json()
    assert CITIZEN_ID not in str(person) and person["subject"]["id_masked"] == "371402********0127"


def test_missing_and_wrong_keys_are_401_in_chinese(client, db: Session, dept_key, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.INFO):
        assert "API 密钥" in _problem(client.post("/api/v1/checks", json={"subject": CLEAN, **BODY}), 401)
        detail = _problem(client.post("/api/v1/checks", json={"subject": CLEAN, **BODY}, headers=_h("xy_wrong")), 401)
    assert "无效" in detail
    assert any("refused" in r.getMessage() for r in caplog.records)
    _problem(client.post("/api/v1/checks/batch", json={"subjects": [CLEAN], **BODY}), 401)
    _problem(client.get("/api/v1/checks/stats"), 401)


def test_revoked_key_stops_working_after_the_cache(client, db: Session, dept_key) -> None:  # type: ignore[no-untyped-def]
    city(db)
    _, key = dept_key
    assert client.post("/api/v1/checks", json={"subject": CLEAN, **BODY}, headers=_h(key)).status_code == 200
    accounts.revoke_api_key(db, key[:10])
    db.commit()
    auth.invalidate()  # what the TTL does within auth.KEY_TTL_SECONDS
    _problem(client.post("/api/v1/checks", json={"subject": CLEAN, **BODY}, headers=_h(key)), 401)


@pytest.mark.parametrize(("body", "needle"), [
    ({"subject": "", **BODY}, "为空"),
    ({"subject": "德" * 10_000, **BODY}, "过长"),
    ({"subject": CLEAN, **{**BODY, "matter_type": "bidding"}}, "核查事项类型"),
    ({"subject": CLEAN, **{**BODY, "matter": ""}}, "核查事项"),
    ({"subject": CLEAN}, "缺失"),
    ({"subject": 123, **BODY}, "字符串"),
])
def test_bad_input_is_422_in_chinese(client, db: Session, dept_key, body, needle) -> None:  # type: ignore[no-untyped-def]
    _, key = dept_key
    assert needle in _problem(client.post("/api/v1/checks", json=body, headers=_h(key)), 422)


def test_sql_and_html_laden_input_is_harmless(client, db: Session, dept_key) -> None:  # type: ignore[no-untyped-def]
    city(db)
    _, key = dept_key
    for evil in ("' OR 1=1; DROP TABLE subjects; --", "<img src=x onerror=alert(1)>"):
        resp = client.post("/api/v1/checks", json={"subject": evil, **BODY}, headers=_h(key))
        assert resp.status_code == 200 and resp.json()["result"] == "not_found"
    assert client.post("/api/v1/checks", json={"subject": CLEAN, **BODY}, headers=_h(key)).json()["result"] == "clean"
    assert client.post("/api/v1/checks", content=b"{not json", headers={**_h(key), "content-type": "application/json"}).status_code == 422


def test_stats_per_department_and_matter_type(client, db: Session, dept_key) -> None:  # type: ignore[no-untyped-def]
    city(db)
    _, key = dept_key
    for subject in (CLEAN, PENALISED):
        client.post("/api/v1/checks", json={"subject": subject, **BODY}, headers=_h(key))
    client.post("/api/v1/checks", json={"subject": DEBTOR, **{**BODY, "matter_type": "subsidy"}}, headers=_h(key))
    out = client.get(f"/api/v1/checks/stats?from={TODAY}&to={TODAY}", headers=_h(key)).json()
    rows = {r["matter_type"]: r for r in out["rows"]}
    assert out["total"] == 3 and rows["procurement"]["total"] == 2 and rows["procurement"]["attention"] == 1
    assert rows["subsidy"]["dishonest"] == 1 and rows["subsidy"]["dept_code"] == "SCJG"
    assert "日期" in _problem(client.get("/api/v1/checks/stats?from=2026-13-01", headers=_h(key)), 422)


def test_batch_json_with_summary_log_and_xlsx(client, db: Session, dept_key) -> None:  # type: ignore[no-untyped-def]
    city(db)
    _, key = dept_key
    subjects = [CLEAN, PENALISED, DEBTOR, "德州市同名商店", "91371402MA3C5X0U6X", "bad-code-1", CITIZEN_ID, "德州市恒达机械制造有限公司"]
    resp = client.post("/api/v1/checks/batch", json={"subjects": subjects, **BODY}, headers=_h(key))
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["summary"] == {"total": 8, "clean": 2, "attention": 1, "dishonest": 2, "not_found": 2,
                              "ambiguous": 1, "invalid": 0}
    results = out["results"]
    assert [r["result"] for r in results] == ["clean", "attention", "dishonest", "not_found", "not_found",
                                              "not_found", "dishonest", "clean"]
    assert results[3]["ambiguous"] and len(results[3]["candidates"]) == 2
    assert CITIZEN_ID not in resp.text and results[6]["subject"] == "371402********0127"
    assert db.scalar(select(func.count()).select_from(CheckLog).where(CheckLog.batch_id == out["batch_check_id"])) == 8
    xlsx = client.get(out["download"], headers=_h(key))
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "序号" and len(rows) == 9 and rows[3][2] == DEBTOR and rows[3][5] == "严重失信"
    assert CITIZEN_ID not in str(rows)


def test_batch_download_is_for_the_same_department(client, db: Session, dept_key) -> None:  # type: ignore[no-untyped-def]
    city(db)
    _, key = dept_key
    out = client.post("/api/v1/checks/batch", json={"subjects": [CLEAN], **BODY}, headers=_h(key)).json()
    accounts.add_department(db, "SW", "税务局")
    other = accounts.create_api_key(db, "SW")
    db.commit()
    _problem(client.get(out["download"], headers=_h(other)), 403)
    _problem(client.get("/api/v1/checks/batch/999999.xlsx", headers=_h(key)), 404)


def test_batch_upload_csv_and_xlsx(client, db: Session, dept_key) -> None:  # type: ignore[no-untyped-def]
    city(db)
    _, key = dept_key
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["名称", "统一社会信用代码"])
    writer.writerows([["恒达", CLEAN], ["欠款", DEBTOR]])
    files = {"file": ("名单.csv", text.getvalue().encode("gb18030"), "text/csv")}
    out = client.post("/api/v1/checks/batch", data=BODY, files=files, headers=_h(key)).json()
    assert out["summary"]["clean"] == 1 and out["summary"]["dishonest"] == 1
    wb = Workbook()
    ws = wb.active
    for code in (PENALISED, CLEAN, "  "):
        ws.append([code])
    buf = io.BytesIO()
    wb.save(buf)
    files = {"file": ("list.xlsx", buf.getvalue(), "application/octet-stream")}
    out = client.post("/api/v1/checks/batch", data=BODY, files=files, headers=_h(key)).json()
    assert out["summary"]["total"] == 2 and out["results"][0]["result"] == "attention"
    batch = db.get(BatchCheck, out["batch_check_id"])
    assert batch is not None and batch.file_name == "list.xlsx"
    bad = {"file": ("x.pdf", b"%PDF-1.4", "application/pdf")}
    assert "不支持" in _problem(client.post("/api/v1/checks/batch", data=BODY, files=bad, headers=_h(key)), 422)
    broken = {"file": ("x.xlsx", b"PK\x03\x04broken", "application/octet-stream")}
    assert "Excel" in _problem(client.post("/api/v1/checks/batch", data=BODY, files=broken, headers=_h(key)), 422)


def test_batch_of_100001_is_refused_and_100000_accepted(client, db: Session, dept_key) -> None:  # type: ignore[no-untyped-def]
    _, key = dept_key
    codes = ["91371402MA3C5X0U6X"] * 100_001
    detail = _problem(client.post("/api/v1/checks/batch", json={"subjects": codes, **BODY}, headers=_h(key)), 422)
    assert "100000" in detail and "100001" in detail
    assert db.scalar(select(func.count()).select_from(BatchCheck)) == 0
    out = client.post("/api/v1/checks/batch", json={"subjects": codes[:100_000], **BODY}, headers=_h(key)).json()
    assert out["summary"]["not_found"] == 100_000


def test_batch_bad_inputs(client, db: Session, dept_key) -> None:  # type: ignore[no-untyped-def]
    _, key = dept_key
    assert "为空" in _problem(client.post("/api/v1/checks/batch", json={"subjects": [], **BODY}, headers=_h(key)), 422)
    _problem(client.post("/api/v1/checks/batch", json={"subjects": "abc", **BODY}, headers=_h(key)), 422)
    _problem(client.post("/api/v1/checks/batch", json={"subjects": [CLEAN], **{**BODY, "matter_type": "x"}},
                         headers=_h(key)), 422)
    out = client.post("/api/v1/checks/batch", json={"subjects": ["", "德" * 10_000, CLEAN], **BODY}, headers=_h(key)).json()
    assert out["summary"]["invalid"] == 2 and "过长" in out["results"][1]["error"]
    assert "核查目的" in _problem(client.post("/api/v1/checks/batch", json={"subjects": [CITIZEN_ID], **{**BODY, "purpose": ""}},
                                           headers=_h(key)), 422)


def test_log_is_written_behind_and_flushed(client, db: Session, dept_key) -> None:  # type: ignore[no-untyped-def]
    city(db)
    _, key = dept_key
    out = client.post("/api/v1/checks", json={"subject": CLEAN, **BODY}, headers=_h(key)).json()
    buffer.flush()
    db.expire_all()
    log = db.get(CheckLog, out["check_id"])
    assert log is not None and log.result == "clean" and log.matter_type == "procurement"
