"""Whole-file refusals, bad input and atomicity: a refused or failed file leaves nothing behind."""

from __future__ import annotations

import io
import os
import threading
import zipfile
from pathlib import Path

import openpyxl
import pytest
from ingest_helpers import PENALTY_HEADERS, counts, penalty_row, write_csv
from sqlalchemy.orm import Session

from xinyong.core.errors import NotFound, Refused
from xinyong.ingest import service
from xinyong.ingest.recordset import RecordWriter

NOTHING = {"records": 0, "record_events": 0, "subjects": 0, "subject_identifiers": 0,
           "subject_names": 0, "batches": 0, "batch_rejects": 0}


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_missing_required_columns_refuse_the_file_listing_the_expected_headers(db: Session, ingest,
                                                                                tmp_path: Path) -> None:
    headers = [h for h in PENALTY_HEADERS if h != "处罚决定日期"]
    row = penalty_row()
    del row[PENALTY_HEADERS.index("处罚决定日期")]
    with pytest.raises(Refused) as exc:
        ingest(write_csv(tmp_path / "p.csv", headers, [row]))
    assert "文件缺少必填列：处罚决定日期" in exc.value.detail
    assert "行政处罚决定书文号（必填）" in exc.value.detail and "备注" in exc.value.detail
    assert counts(db) == NOTHING


def test_unknown_columns_are_ignored_with_a_warning(db: Session, ingest, tmp_path: Path) -> None:
    summary = ingest(write_csv(tmp_path / "p.csv", [*PENALTY_HEADERS, "自动上报信用中国状态"], [[*penalty_row(), "是"]]))
    assert summary.accepted == 1
    assert any("自动上报信用中国状态" in w and "已忽略" in w for w in summary.warnings)


def test_unknown_item_or_department_writes_nothing(db: Session, ingest, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row()])
    with pytest.raises(NotFound):
        ingest(path, item="no_such_item")
    with pytest.raises(NotFound):
        ingest(path, dept_code="NOPE")
    assert counts(db) == NOTHING


def _zip_bomb(path: Path) -> Path:
    ok = io.BytesIO()
    _xlsx(Path(tmp := str(path) + ".ok.xlsx"), [PENALTY_HEADERS, penalty_row()])
    with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("sheet1.xml"):
                data = data.replace(b"</sheetData>", b"</sheetData>" + b" " * (300 << 20))
            dst.writestr(info.filename, data)
    del ok
    return path


BAD_FILES = {
    "binary": lambda p: p.write_bytes(os.urandom(4096).replace(b"\n", b"\x00")),
    "png_named_csv": lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(512)),
    "zero_bytes": lambda p: p.write_bytes(b""),
    "header_only": lambda p: write_csv(p, PENALTY_HEADERS, []),
    "header_and_blank_lines": lambda p: p.write_text(",".join(PENALTY_HEADERS) + "\n,,,\n\n,,\n", encoding="utf-8"),
    "duplicate_headers": lambda p: write_csv(p, [*PENALTY_HEADERS, "处罚机关"], [[*penalty_row(), "x"]]),
    "wrong_encoding": lambda p: p.write_bytes(",".join(PENALTY_HEADERS).encode("utf-8") + b"\n" + b"\x80\xff\x80\xff" * 50),
    "no_matching_header": lambda p: write_csv(p, ["甲", "乙", "丙"], [["1", "2", "3"]]),
    "zip_bomb": _zip_bomb,
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files_are_refused_and_nothing_is_written(db: Session, ingest, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "upload.csv"
    BAD_FILES[kind](path)
    with pytest.raises(Refused) as exc:
        ingest(path)
    assert exc.value.detail and not exc.value.detail.isascii()
    assert counts(db) == NOTHING


def test_csv_named_xlsx_is_read_by_its_content(db: Session, ingest, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "really-a-csv.xlsx", PENALTY_HEADERS, [penalty_row()])
    assert ingest(path).accepted == 1


def test_formulas_and_huge_cells_reject_their_rows(db: Session, ingest, tmp_path: Path) -> None:
    rows: list[list[object]] = [["某市行政处罚信息（2026年3月）"], PENALTY_HEADERS, penalty_row(no="N1")]
    formula = penalty_row(no="N2")
    formula[PENALTY_HEADERS.index("罚款金额(万元)")] = "=1+1"
    huge = penalty_row(no="N3")
    huge[PENALTY_HEADERS.index("行政相对人名称")] = "甲" * 100_000
    rows += [formula, huge]
    summary = ingest(_xlsx(tmp_path / "p.xlsx", rows))
    assert (summary.accepted, summary.rejected) == (1, 2)
    got = {r.row: r for r in summary.rejects}
    assert got[4].field == "罚款金额(万元)" and "是公式" in got[4].reason and got[4].value == "=1+1"
    assert got[5].field == "行政相对人名称" and "内容过长（32767 个字符）" in got[5].reason  # Excel's cell limit
    assert counts(db)["records"] == 1


def test_a_100k_character_csv_cell_rejects_its_row(db: Session, ingest, tmp_path: Path) -> None:
    huge = penalty_row(no="N2")
    huge[PENALTY_HEADERS.index("行政相对人名称")] = "甲" * 100_000
    summary = ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row(), huge]))
    assert (summary.accepted, summary.rejected) == (1, 1)
    assert summary.rejects[0].row == 3
    assert "内容过长（100000 个字符）" in summary.rejects[0].reason


def test_a_failure_mid_load_leaves_nothing(db: Session, ingest, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "CHUNK_ROWS", 2)
    original = RecordWriter.write
    calls = {"n": 0}

    def failing(self: RecordWriter, prepared: object, subjects: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        original(self, prepared, subjects)  # type: ignore[arg-type]

    monkeypatch.setattr(RecordWriter, "write", failing)
    rows = [penalty_row(no=f"N{i}", uscc=u) for i, u in enumerate(["914403001922038216", "91110000710926094P",
                                                                    "91440300708461136T", "114418020073034851"])]
    with pytest.raises(RuntimeError):
        ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, rows))
    assert calls["n"] == 2
    assert counts(db) == NOTHING
    # the loader's encoder and writer threads (and its read connection) went with the failed batch
    assert not [t for t in threading.enumerate() if t.name in ("xinyong-writer", "xinyong-encoder")]


def test_many_chunks_give_the_same_result_as_one(db: Session, ingest, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "CHUNK_ROWS", 2)
    rows = [penalty_row(no=f"N{i % 3}", amount=str(i // 3 + 1)) for i in range(7)]
    rows.append(penalty_row(no="BAD", decided="2026-02-30"))
    summary = ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, rows))
    assert (summary.rows, summary.accepted, summary.superseded, summary.rejected) == (8, 7, 4, 1)
    assert summary.rejects[0].row == 9
    assert counts(db)["subjects"] == 1
