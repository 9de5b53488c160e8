"""File readers of the ingestion pipeline: CSV, XLSX and JSON in, string chunks with row numbers out.

    with open_source(path, header_score=score) as src:
        for chunk in src.chunks():   # chunk.frame: pl.String columns named by src.headers; chunk.rows: Int64
            ...

The type is detected from the content, never from the file name. Every problem with the file as a whole is
a `Refused` with a Chinese message saying what to do, raised by `open_source` or, for problems found further
into the file (an encoding error after the first 1 MB, malformed JSON further down, a damaged XLSX part), by
`chunks()`; the caller must treat both the same way. A file with a header and no data rows opens fine and
`chunks()` yields nothing; the caller decides how to refuse it.

Values are raw strings (None for empty cells). Rows whose cells are all empty or blank are dropped; the
others keep the row numbers a person sees: CSV counts records as a spreadsheet shows them (header of a plain
CSV = row 1, blank lines count, a quoted cell with line breaks is one row), XLSX uses the sheet's own row
numbers, a JSON array the 1-based element index, JSON lines the line number.
"""

from __future__ import annotations

from pathlib import Path

from xinyong.core.errors import Refused
from xinyong.ingest.readers_base import (
    BINARY_SCAN_BYTES,
    FORMULA_PREFIX,
    NOT_READABLE,
    SAMPLE_BYTES,
    SAVE_AS,
    TOO_LONG_PREFIX,
    HeaderScore,
    Source,
    SourceChunk,
    candidate_encodings,
    formula_text,
    too_long_length,
)
from xinyong.ingest.readers_csv import open_csv
from xinyong.ingest.readers_json import SINGLE_OBJECT, JsonSource
from xinyong.ingest.readers_xlsx import XlsxSource

__all__ = [
    "FORMULA_PREFIX",
    "TOO_LONG_PREFIX",
    "Source",
    "SourceChunk",
    "formula_text",
    "open_source",
    "too_long_length",
]

EMPTY = "文件为空：请确认导出的文件包含表头和数据后重新报送"
MAX_SINGLE_OBJECT_PROBE = 200 << 20

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Excel（.xls）或设置了打开密码的 Excel 文件"),
    (b"%PDF", "PDF 文件"),
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"\x1f\x8b", "gzip 压缩包"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf", "7z 压缩包"),
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def open_source(
    path: Path,
    *,
    header_score: HeaderScore,
    min_score: int = 2,
    chunk_rows: int = 100_000,
    max_cell_chars: int = 20_000,
    original_name: str | None = None,
) -> Source:
    """Opens a department file and finds its header row. See the module docstring for the contract."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            sample = f.read(SAMPLE_BYTES)
    except OSError as exc:
        raise Refused("无法读取上传的文件，请重新上传", extra={"code": "unreadable"}) from exc
    if size == 0:
        raise Refused(EMPTY, extra={"code": "empty"})
    if sample.startswith(_ZIP_MAGIC):
        return XlsxSource(
            path,
            header_score=header_score,
            min_score=min_score,
            chunk_rows=chunk_rows,
            max_cell_chars=max_cell_chars,
        )
    for magic, what in _MAGIC:
        if sample.startswith(magic):
            raise Refused(_not_readable(what, original_name), extra={"code": "not_readable"})
    complete = len(sample) >= size
    head = sample[:BINARY_SCAN_BYTES]
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if b"\x00" in head and not utf16:
        raise Refused(_not_readable(None, original_name), extra={"code": "not_readable"})
    candidates = candidate_encodings(sample, complete)
    if not candidates:
        raise Refused(
            NOT_READABLE + "（文字编码无法识别：既不是 UTF-8，也不是 GBK/GB18030）" + SAVE_AS,
            extra={"code": "bad_encoding"},
        )
    encoding, text = candidates[0]
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped and complete:
        raise Refused(EMPTY, extra={"code": "empty"})
    common = {
        "header_score": header_score,
        "min_score": min_score,
        "chunk_rows": chunk_rows,
        "max_cell_chars": max_cell_chars,
    }
    if stripped.startswith("["):
        return JsonSource(path, kind="json", encoding=encoding, **common)  # type: ignore[arg-type]
    if stripped.startswith("{"):
        _refuse_single_object(path, encoding, stripped, size)
        return JsonSource(path, kind="jsonl", encoding=encoding, **common)  # type: ignore[arg-type]
    return open_csv(path, candidates, complete, **common)  # type: ignore[arg-type]


def _not_readable(what: str | None, original_name: str | None) -> str:
    name = f"「{original_name}」" if original_name else "文件"
    looks = f"{name}看起来是{what}" if what else f"{name}含有二进制内容"
    return f"{NOT_READABLE}（{looks}）{SAVE_AS}"


def _refuse_single_object(path: Path, encoding: str, text: str, size: int) -> None:
    """A file starting with '{' is JSON lines only if its first line is a whole object on its own."""
    import json

    first = text.split("\n", 1)[0]
    try:
        json.loads(first)
        return
    except ValueError:
        pass
    if size > MAX_SINGLE_OBJECT_PROBE:
        return  # _line_records refuses it with the line number
    try:
        value = json.loads(path.read_text(encoding=encoding))
    except (ValueError, UnicodeDecodeError):
        return
    if isinstance(value, dict):
        raise Refused(SINGLE_OBJECT, extra={"code": "single_json_object"})
