"""Hostile uploads on every upload route, on SQLite and PostgreSQL: each refused in Chinese, quickly and with
flat memory, nothing written, no temporary file left behind, no clear ID number logged."""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from due_process_support import b64, org, penalty, world
from upload_support import CLEAR_ID, PNG, bounded, chinese, detail, sparse_xlsx, temp_files
from xinyong.accounts import service as accounts
from xinyong.cases.models import CaseAttachment
from xinyong.checks.logbuffer import buffer
from xinyong.checks.models import BatchCheck, CheckLog
from xinyong.core.settings import get_settings
from xinyong.ingest import service as ingest_service
from xinyong.ingest.models import Batch, BatchReject
from xinyong.lists.imports import import_list_file
from xinyong.objections.models import Objection
from xinyong.records.models import Record

CHECK_FIELDS = {"matter": "2026年政府采购项目", "matter_type": "procurement", "purpose": "投标人资格审查"}
HEADERS = "行政相对人名称,行政相对人代码_1(统一社会信用代码),法定代表人证件号码,处罚决定日期\n"

# (name, content) of each hostile file; the CSV ones carry a clear ID number that must not be logged
HOSTILE: dict[str, tuple[str, bytes]] = {
    "xlsx_bomb": ("名单.xlsx", sparse_xlsx()),
    "binary_as_csv": ("名单.csv", PNG),
    "nul_in_csv": ("名单.csv", (HEADERS + f"德州甲有限公司,914403001922038216,{CLEAR_ID},2026-03-16\x00\n").encode()),
    "wrong_extension": ("名单.xlsx", b"%PDF-1.7\n" + CLEAR_ID.encode() + b"\n%%EOF\n"),
}


@pytest.fixture
def tmpdir_uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every temporary file of the process goes to an empty directory of its own, to be counted."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


@pytest.fixture
def clerk(client: Any, db: Session, dept_key: tuple[str, str]) -> str:
    """A department user logged in on `client`; the department's API key is returned."""
    accounts.create_user(db, "clerk", "correct horse 1", dept_code="SCJG")
    db.commit()
    resp = client.post("/admin/login", data={"username": "clerk", "password": "correct horse 1", "next": "/admin"},
                       follow_redirects=False)
    assert resp.status_code == 303
    return dept_key[1]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _ingest(client: Any, key: str, name: str, content: bytes) -> Any:
    return client.post("/api/v1/batches", headers=_auth(key), data={"item": "admin_penalty"},
                       files={"file": (name, content, "application/octet-stream")})


def _check_api(client: Any, key: str, name: str, content: bytes) -> Any:
    return client.post("/api/v1/checks/batch", headers=_auth(key), data=CHECK_FIELDS,
                       files={"file": (name, content, "application/octet-stream")})


def _check_page(client: Any, key: str, name: str, content: bytes) -> Any:
    return client.post("/admin/checks/batch", data=CHECK_FIELDS, headers={"accept": "text/html"},
                       files={"file": (name, content, "application/octet-stream")})


ROUTES: dict[str, Callable[..., Any]] = {"ingest": _ingest, "check_api": _check_api, "check_page": _check_page}


def _written(db: Session) -> dict[str, int]:
    db.expire_all()
    buffer.flush()
    models = (Batch, BatchReject, Record, BatchCheck, CheckLog, Objection, CaseAttachment)
    return {m.__tablename__: int(db.scalar(select(func.count()).select_from(m)) or 0) for m in models}


def _refused(resp: Any, route: str) -> str:
    if route == "check_page":  # the page shows the refusal next to the form
        assert resp.status_code == 200 and "批量核查" in resp.text
    else:
        assert 400 <= resp.status_code < 500, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert chinese(detail(resp))
    return detail(resp)


EXPECTED = {"binary_as_csv": "PNG", "nul_in_csv": "二进制", "wrong_extension": "PDF"}


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_upload_is_refused_in_chinese_and_nothing_is_written(
        client: Any, db: Session, clerk: str, tmpdir_uploads: Path, caplog: pytest.LogCaptureFixture,
        route: str, case: str) -> None:
    name, content = HOSTILE[case]
    before = _written(db)
    with caplog.at_level(logging.DEBUG), bounded(seconds=15, megabytes=64):
        resp = ROUTES[route](client, clerk, name, content)
    text = _refused(resp, route)
    if case == "xlsx_bomb":
        assert ("表头" if route == "ingest" else "没有找到核查对象") in text
    else:
        assert EXPECTED[case] in text
    assert _written(db) == before
    assert temp_files(tmpdir_uploads) == []
    assert CLEAR_ID not in caplog.text and CLEAR_ID not in text


def test_sparse_xlsx_is_small_and_declares_the_whole_sheet() -> None:
    data = sparse_xlsx()
    assert len(data) < 2048
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b'<dimension ref="A1:XFD1048576"/>' in sheet and b'r="1048576"' in sheet


def test_sparse_xlsx_with_a_subject_at_the_last_row_is_checked(client: Any, db: Session, clerk: str,
                                                                tmpdir_uploads: Path) -> None:
    """Rows far apart cost nothing: the reader walks the rows the file has, not the declared dimension."""
    src = zipfile.ZipFile(io.BytesIO(sparse_xlsx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith("sheet1.xml"):
                body = body.replace(b'r="XFD1048576"', b'r="A1048576"').replace(b"<t>x</t>", b"<t>91371402MA3C5X0Q3H</t>")
            zf.writestr(info.filename, body)
    with bounded(seconds=15, megabytes=64):
        resp = _check_api(client, clerk, "名单.xlsx", out.getvalue())
    assert resp.status_code == 200, resp.text
    assert resp.json()["summary"]["total"] == 1
    assert temp_files(tmpdir_uploads) == []


@pytest.mark.parametrize("route", ["ingest", "check_api"])
def test_two_file_parts_are_refused_and_leave_no_temporary_file(client: Any, db: Session, clerk: str,
                                                                 tmpdir_uploads: Path, route: str) -> None:
    path = "/api/v1/batches" if route == "ingest" else "/api/v1/checks/batch"
    fields = {"item": "admin_penalty"} if route == "ingest" else CHECK_FIELDS
    body = (HEADERS + "德州甲有限公司,914403001922038216,,2026-03-16\n").encode()
    files = [("file", ("a.csv", body, "text/csv")), ("file", ("b.csv", body, "text/csv"))]
    resp = client.post(path, headers=_auth(clerk), data=fields, files=files)
    assert resp.status_code == 422 and "只能上传一个文件" in resp.json()["detail"]
    assert temp_files(tmpdir_uploads) == []
    assert _written(db)["batches"] == 0 and _written(db)["batch_checks"] == 0


def test_temporary_file_is_removed_on_success_and_on_a_crash(client: Any, db: Session, clerk: str,
                                                             tmpdir_uploads: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    body = ("统一社会信用代码\n91371402MA3C5X0Q3H\n").encode()
    assert _check_api(client, clerk, "a.csv", body).status_code == 200
    assert temp_files(tmpdir_uploads) == []

    def crash(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ingest_service, "ingest_file", crash)
    with pytest.raises(RuntimeError):
        _ingest(client, clerk, "a.csv", (HEADERS + "德州甲有限公司,914403001922038216,,2026-03-16\n").encode())
    assert temp_files(tmpdir_uploads) == []


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_oversized_upload_is_413_before_it_is_read(client: Any, db: Session, clerk: str, tmpdir_uploads: Path,
                                                   monkeypatch: pytest.MonkeyPatch, route: str) -> None:
    monkeypatch.setattr(get_settings(), "max_upload_mb", 1)
    content = b"91371402MA3C5X0Q3H\n" * 60_000  # 1.1 MB
    resp = ROUTES[route](client, clerk, "big.csv", content)
    assert resp.status_code == 413
    assert "1 MB" in detail(resp) and chinese(detail(resp))
    assert temp_files(tmpdir_uploads) == []
    assert _written(db) == {k: 0 for k in _written(db)}


def test_attachment_bomb_binary_and_wrong_type_are_refused(client: Any, db: Session) -> None:
    w = world(db)
    subject = org(db)
    rec = penalty(db, subject, w.scjg, decided=date(2026, 1, 5))
    db.commit()
    base = {"applicant_name": "德州某某食品有限公司", "contact": "0534-1234567", "subject_code": subject.uscc,
            "record_id": rec.id, "reason": "处罚决定已被复议机关撤销，信息不应公示"}
    for name, content in (("材料.xlsx", sparse_xlsx()), ("材料.pdf", PNG[8:]), ("材料.pdf", b"\x00" * 64),
                          ("材料.exe", b"MZ\x90\x00" + CLEAR_ID.encode())):
        with bounded(seconds=10, megabytes=64):
            resp = client.post("/api/v1/objections", json={**base, "attachments": [
                {"filename": name, "content_base64": b64(content)}]})
        assert resp.status_code == 422 and "不是 PDF、JPG、PNG 文件" in resp.json()["detail"], resp.text
        assert CLEAR_ID not in resp.text
    assert _written(db)["objections"] == 0 and _written(db)["case_attachments"] == 0


def test_attachment_form_over_its_limit_is_413_before_it_is_read(client: Any, db: Session) -> None:
    from xinyong.cases.config import get_config

    policy = get_config().attachments
    too_big = int(policy.max_files * policy.max_mb * 1024 * 1024) + 200 * 1024
    resp = client.post("/objections/new", content=b"x" * too_big,
                       headers={"content-type": "multipart/form-data; boundary=zz"})
    assert resp.status_code == 413 and chinese(detail(resp))
    assert _written(db)["objections"] == 0


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_list_file_is_refused_and_nothing_is_written(db: Session, dept_key: tuple[str, str], tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture, case: str) -> None:
    from xinyong.core.errors import DomainError
    from xinyong.lists.models import ListEntry

    name, content = HOSTILE[case]
    path = tmp_path / "upload"
    path.write_bytes(content)
    with caplog.at_level(logging.DEBUG), bounded(seconds=15, megabytes=64), pytest.raises(DomainError) as refused:
        import_list_file(db, path, dept_code="SCJG", file_name=name)
    db.rollback()
    assert chinese(refused.value.detail) and CLEAR_ID not in refused.value.detail
    assert ("表头" if case == "xlsx_bomb" else EXPECTED[case]) in refused.value.detail
    assert _written(db)["batches"] == 0
    assert int(db.scalar(select(func.count()).select_from(ListEntry)) or 0) == 0
    assert CLEAR_ID not in caplog.text
