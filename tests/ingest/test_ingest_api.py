"""HTTP and CLI: upload, read a batch, the reject report; ID numbers never leave in clear."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from ingest_helpers import ORG_B, PENALTY_HEADERS, PERSON_ID, counts, penalty_row, write_csv
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xinyong.accounts import service as accounts
from xinyong.cli import app as cli_app
from xinyong.core.settings import get_settings

BAD_PERSON_ID = "110105194912310021"  # wrong check character


def _post(client, key: str | None, path: Path, item: str = "admin_penalty"):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with path.open("rb") as fh:
        return client.post("/api/v1/batches", headers=headers, data={"item": item},
                            files={"file": (path.name, fh, "text/csv")})


def _person_file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "people.csv", PENALTY_HEADERS, [
        penalty_row(no="N1", rep_id=PERSON_ID),
        penalty_row(no="N2", name="李四", kind="自然人", uscc="", id_type="身份证", id_no=PERSON_ID),
        penalty_row(no="N3", name="王五", kind="自然人", uscc="", id_no=BAD_PERSON_ID, decided="2026-02-30"),
        penalty_row(no="N4", uscc=PERSON_ID),
    ])


def test_upload_returns_201_with_the_summary(client, dept_key: tuple[str, str], tmp_path: Path) -> None:
    response = _post(client, dept_key[1], write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row()]))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["dept"], body["item"]) == (1, 0, "SCJG", "admin_penalty")
    batch = client.get(f"/api/v1/batches/{body['batch_id']}", headers={"Authorization": f"Bearer {dept_key[1]}"})
    assert batch.status_code == 200 and batch.json()["accepted"] == 1


def test_upload_without_a_valid_key_is_401(client, dept_key: tuple[str, str], tmp_path: Path, db: Session) -> None:
    path = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row()])
    assert _post(client, None, path).status_code == 401
    assert _post(client, "xy_not-a-key", path).status_code == 401
    assert counts(db)["records"] == 0


def test_upload_over_the_limit_is_413(client, dept_key: tuple[str, str], tmp_path: Path, db: Session,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "max_upload_mb", 1)
    rows = [penalty_row(no=f"N{i}") for i in range(12_000)]
    path = write_csv(tmp_path / "big.csv", PENALTY_HEADERS, rows)
    assert path.stat().st_size > 1 << 20
    response = _post(client, dept_key[1], path)
    assert response.status_code == 413
    assert response.json()["title"] == "内容过大" and "1 MB" in response.json()["detail"]
    assert counts(db)["batches"] == 0


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n\x00\x00binary", ",".join(PENALTY_HEADERS).encode()])
def test_refused_file_is_422_problem_details(client, dept_key: tuple[str, str], tmp_path: Path, db: Session,
                                             content: bytes) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    response = _post(client, dept_key[1], path)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert not response.json()["detail"].isascii()
    assert counts(db)["batches"] == 0


def test_unknown_item_is_404_and_missing_item_is_422(client, dept_key: tuple[str, str], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row()])
    assert _post(client, dept_key[1], path, item="nope").status_code == 404
    assert _post(client, dept_key[1], path, item="").status_code == 422


def test_only_the_owner_or_the_credit_office_reads_a_batch(client, dept_key: tuple[str, str], tmp_path: Path,
                                                           db: Session) -> None:
    batch_id = _post(client, dept_key[1], write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row()])).json()["batch_id"]
    accounts.add_department(db, "SWJ", "税务局")
    accounts.add_department(db, "XYB", "信用办", credit_office=True)
    other, office = accounts.create_api_key(db, "SWJ"), accounts.create_api_key(db, "XYB")
    db.commit()
    assert client.get(f"/api/v1/batches/{batch_id}", headers={"Authorization": f"Bearer {other}"}).status_code == 403
    assert client.get(f"/api/v1/batches/{batch_id}/rejects.xlsx",
                      headers={"Authorization": f"Bearer {other}"}).status_code == 403
    assert client.get(f"/api/v1/batches/{batch_id}", headers={"Authorization": f"Bearer {office}"}).status_code == 200
    assert client.get(f"/api/v1/batches/{batch_id}").status_code == 401
    assert client.get("/api/v1/batches/999999", headers={"Authorization": f"Bearer {office}"}).status_code == 404


def test_reject_report_and_responses_never_show_an_id_number(client, dept_key: tuple[str, str], tmp_path: Path,
                                                             db: Session) -> None:
    response = _post(client, dept_key[1], _person_file(tmp_path))
    assert response.status_code == 201
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 2)
    auth = {"Authorization": f"Bearer {dept_key[1]}"}
    report = client.get(f"/api/v1/batches/{body['batch_id']}/rejects.xlsx", headers=auth)
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("application/vnd.openxmlformats")
    texts = [response.text, client.get(f"/api/v1/batches/{body['batch_id']}", headers=auth).text]
    with zipfile.ZipFile(io.BytesIO(report.content)) as z:
        texts += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
    for text in texts:
        for secret in (PERSON_ID, BAD_PERSON_ID, PERSON_ID.lower()):
            assert secret not in text
    sheet = openpyxl.load_workbook(io.BytesIO(report.content))["退回数据"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [*PENALTY_HEADERS, "退回原因", "原行号"]
    by_row = {r[-1]: r for r in rows[1:]}
    assert set(by_row) == {4, 5}
    wang = by_row[4]
    assert wang[0] == "王五" and wang[PENALTY_HEADERS.index("证件号码")] == "110105********0021"
    assert "「处罚决定日期」不是有效日期" in wang[-2] and "「证件号码」" in wang[-2]
    assert by_row[5][2] == "110105********002X"


def test_clear_id_numbers_are_not_in_the_sqlite_file(db: Session, ingest, tmp_path: Path) -> None:
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("reads the SQLite file itself")
    ingest(_person_file(tmp_path))
    url = str(db.get_bind().url)
    path = Path(url.split("///", 1)[1])
    blob = b"".join(p.read_bytes() for p in (path, Path(str(path) + "-wal")) if p.exists())
    assert b"110105********002X" in blob  # the masked form is there: the search itself works
    for secret in (PERSON_ID, BAD_PERSON_ID):
        assert secret.encode() not in blob


def test_cli_prints_one_json_object_and_exits_0(db: Session, dept: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row(), penalty_row(no="X", uscc=ORG_B,
                                                                                      decided="2026-02-30")])
    result = CliRunner().invoke(cli_app, ["ingest", str(path), "--item", "admin_penalty", "--dept", dept, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert {"batch_id", "rows", "accepted", "rejected", "duplicates", "superseded", "late", "seconds",
            "rejects", "warnings"} <= set(body)
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["rejects"][0]["row"] == 3


def test_cli_refusal_exits_non_zero_with_a_chinese_message(db: Session, dept: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [])
    result = CliRunner().invoke(cli_app, ["ingest", str(path), "--item", "admin_penalty", "--dept", dept, "--json"])
    assert result.exit_code != 0
    assert result.stdout == ""
    assert "文件只有表头" in result.stderr
    assert counts(db)["batches"] == 0
