"""Bulk exports (Parquet, CSV) within scope, inbound files from the province through the normal ingest path, the
partner CLI and /admin/partners; on both databases."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sharing_support import ID_NO, h, partner, penalty
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from lists_support import add_departments
from xinyong.accounts import service as accounts
from xinyong.cli import app as cli_app
from xinyong.core.identifiers import make_uscc
from xinyong.exchange.sharing import inbound
from xinyong.exchange.sharing.models import Partner, PartnerRead
from xinyong.joint.models import JointTask
from xinyong.lists.models import ListEntry
from xinyong.records import service as records

TODAY = date(2026, 3, 12)
COURT_HEADER = "被执行人姓名/名称,统一社会信用代码,案号,执行法院,发布时间,失信被执行人行为具体情形\n"


def test_parquet_and_csv_exports_hold_the_records_in_force(client: Any, db: Session, clock: Any) -> None:
    today = clock.today()
    kept = [penalty(db, today) for _ in range(3)]
    gone = penalty(db, today)
    records.set_state(db, gone.id, "revoked", actor="dept:SCJG", note="撤销")
    db.commit()
    key = partner(db)
    r = client.get("/api/v1/exports/admin_penalty.parquet", headers=h(key))
    assert r.status_code == 200 and r.headers["x-feed-cursor"]
    table = pq.read_table(io.BytesIO(r.content))
    assert table.column("record_id").to_pylist() == [k.id for k in kept]
    assert ID_NO not in str(table.column("legal_rep_id_no").to_pylist())
    r = client.get("/api/v1/exports/admin_penalty.csv", headers=h(key))
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [int(x["record_id"]) for x in rows] == [k.id for k in kept]
    # the export's cursor resumes the feed after the snapshot: nothing is left to read
    body = client.get("/api/v1/feed", params={"cursor": r.headers["x-feed-cursor"]}, headers=h(key)).json()
    assert body["changes"] == []
    pid = db.scalar(select(Partner.id).where(Partner.code == "BANK1"))
    logged = [(x.action, x.what, x.rows) for x in db.scalars(select(PartnerRead).where(PartnerRead.partner_id == pid)
                                                             .order_by(PartnerRead.id))]
    assert ("export", "admin_penalty.parquet", 3) in logged and ("export", "admin_penalty.csv", 3) in logged


def test_exports_outside_the_scope_or_unknown_are_refused(client: Any, db: Session) -> None:
    key = partner(db)
    assert client.get("/api/v1/exports/admin_license.parquet", headers=h(key)).status_code == 403
    assert client.get("/api/v1/exports/admin_penalty.xlsx", headers=h(key)).status_code == 404
    assert client.get("/api/v1/exports/admin_penalty.parquet").status_code == 401


def test_a_scope_naming_an_unknown_item_or_above_its_level_is_refused(db: Session) -> None:
    runner = CliRunner()
    r = runner.invoke(cli_app, ["partner", "add", "--code", "X1", "--name", "某银行", "--items", "no_such_item"])
    assert r.exit_code == 1 and "既不是目录信息项也不是名单类型" in r.output
    r = runner.invoke(cli_app, ["partner", "add", "--code", "X1", "--name", "某银行", "--items", "admin_penalty",
                                "--level", "public", "--expires", "2099-13-01"])
    assert r.exit_code == 1 and "到期日" in r.output
    assert db.scalar(select(Partner.id)) is None


def test_partner_cli_adds_lists_and_revokes(client: Any, db: Session) -> None:
    runner = CliRunner()
    r = runner.invoke(cli_app, ["partner", "add", "--code", "GDWL", "--name", "国网德州供电公司", "--items",
                                "admin_penalty,zy_dishonest_judgment_debtor", "--expires", "2099-12-31",
                                "--kind", "utility", "--purpose", "供电业务信用核查"])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("xyp_")
    assert client.get("/api/v1/feed", headers=h(key)).status_code == 200
    listed = runner.invoke(cli_app, ["partner", "list"])
    assert "GDWL" in listed.output and "有效" in listed.output
    assert runner.invoke(cli_app, ["partner", "revoke", "GDWL"]).exit_code == 0
    assert client.get("/api/v1/feed", headers=h(key)).status_code == 401
    assert runner.invoke(cli_app, ["partner", "revoke", "NOPE"]).exit_code == 1


def _province(db: Session) -> str:
    add_departments(db, ["ZY", "JT", "WL", "ZRZY", "SCJG"])
    accounts.add_department(db, "SHENG", "省信用平台")
    return partner(db, "SHENG_PT", items="dishonest_judgment_debtor", kind="upstream", dept_code="SHENG")


def _court_file(path: Path, rows: list[str]) -> Path:
    path.write_text(COURT_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_province_sends_a_court_list_through_the_api(client: Any, db: Session, tmp_path: Path, clock: Any) -> None:
    clock.set(TODAY)
    key = _province(db)
    uscc = make_uscc("91", "371402", "MH000001")
    path = _court_file(tmp_path / "失信被执行人.csv", [
        f"德州己有限公司,{uscc},（2026）鲁1402执200号,德州市德城区人民法院,2026-03-01,有履行能力而拒不履行",
        "德州庚有限公司,not-a-code,（2026）鲁1402执201号,德州市德城区人民法院,2026-03-01,拒不履行"])
    with path.open("rb") as f:
        r = client.post("/api/v1/exchange/inbound", headers=h(key), data={"item": "dishonest_judgment_debtor"},
                        files={"file": ("失信被执行人.csv", f, "text/csv")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 1 and body["rejected"] == 1 and body["rejects"][0]["row"] == 3
    assert body["list_type"] == "zy_dishonest_judgment_debtor" and body["list"]["published"] == 1
    entry = db.scalars(select(ListEntry)).one()
    assert entry.state == "published" and entry.source == "import"
    assert db.scalars(select(JointTask).where(JointTask.entry_id == entry.id)).first() is not None
    # a department's key cannot send down, nor can a partner that is not upstream
    other = partner(db, "BANK9", items="dishonest_judgment_debtor")
    with path.open("rb") as f:
        r = client.post("/api/v1/exchange/inbound", headers=h(other), data={"item": "dishonest_judgment_debtor"},
                        files={"file": ("x.csv", f, "text/csv")})
    assert r.status_code == 403 and "上级平台" in r.json()["detail"]


def test_province_drop_directory_is_scanned_with_results_written_back(db: Session, tmp_path: Path, clock: Any,
                                                                      monkeypatch: Any) -> None:
    clock.set(TODAY)
    _province(db)
    monkeypatch.setenv("XINYONG_INBOUND_DIR", str(tmp_path))
    incoming = tmp_path / "SHENG_PT" / "incoming"
    incoming.mkdir(parents=True)
    uscc = make_uscc("91", "371402", "MH000002")
    _court_file(incoming / "dishonest_judgment_debtor__20260312_001.csv",
                [f"德州辛有限公司,{uscc},（2026）鲁1402执300号,德州市德城区人民法院,2026-03-01,拒不履行"])
    _court_file(incoming / "admin_license__20260312_002.csv", ["x,y,z,w,v,u"])
    (incoming / "half_written.csv.part").write_text("...", encoding="utf-8")
    assert inbound.scan(settle=0) == 2
    ok = json.loads((tmp_path / "SHENG_PT" / "results" / "dishonest_judgment_debtor__20260312_001.csv.result.json")
                    .read_text(encoding="utf-8"))
    assert ok["ok"] and ok["accepted"] == 1 and ok["list"]["published"] == 1
    refused = json.loads((tmp_path / "SHENG_PT" / "results" / "admin_license__20260312_002.csv.result.json")
                         .read_text(encoding="utf-8"))
    assert not refused["ok"] and "不在" in refused["error"]
    assert (tmp_path / "SHENG_PT" / "done" / "dishonest_judgment_debtor__20260312_001.csv").exists()
    assert (tmp_path / "SHENG_PT" / "failed" / "admin_license__20260312_002.csv").exists()
    assert (incoming / "half_written.csv.part").exists()
    assert db.scalar(select(ListEntry.state)) == "published"


def test_admin_partners_page_for_the_office(client: Any, db: Session) -> None:
    add_departments(db, ["XYB", "SCJG"])
    accounts.create_user(db, "office", "office12345", dept_code="XYB", role="operator")
    accounts.create_user(db, "clerk", "clerk12345", dept_code="SCJG")
    db.commit()
    assert client.post("/admin/login", data={"username": "clerk", "password": "clerk12345"},
                       follow_redirects=False).status_code == 303
    assert client.get("/admin/partners").status_code == 403
    client.post("/admin/logout", follow_redirects=False)
    assert client.post("/admin/login", data={"username": "office", "password": "office12345"},
                       follow_redirects=False).status_code == 303
    page = client.post("/admin/partners", data={"code": "ICBC", "name": "工商银行德州分行", "items": "admin_penalty",
                                                "kind": "bank", "purpose": "信贷审批"})
    assert page.status_code == 200 and "只显示这一次" in page.text and "xyp_" in page.text
    bad = client.post("/admin/partners", data={"code": "BOC", "name": "中国银行", "items": "nope"})
    assert bad.status_code == 422 and "既不是目录信息项" in bad.text
    assert client.post("/admin/partners/ICBC/revoke", follow_redirects=False).status_code == 303
    assert "已吊销" in client.get("/admin/partners").text


def test_exports_follow_the_scope_for_id_numbers(client: Any, db: Session, clock: Any) -> None:
    penalty(db, clock.today())
    db.commit()
    clear, none = partner(db, "CLEAR", id_numbers="clear"), partner(db, "NOID", id_numbers="none")
    rows = list(csv.DictReader(io.StringIO(
        client.get("/api/v1/exports/admin_penalty.csv", headers=h(clear)).content.decode("utf-8-sig"))))
    assert rows[0]["legal_rep_id_no"] == ID_NO
    table = pq.read_table(io.BytesIO(client.get("/api/v1/exports/admin_penalty.parquet", headers=h(none)).content))
    assert "legal_rep_id_no" not in table.column_names and table.num_rows == 1
