"""JSON: an array of objects (streamed element by element, no size limit) or JSON lines (line by line).

Numbers keep their text exactly as written ("1.50" stays "1.50", long IDs keep every digit); true/false
become "true"/"false"; nested arrays and objects become JSON text; null and "" are empty cells.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from xinyong.core.errors import Refused
from xinyong.ingest.readers_base import ColumnBuffer, HeaderScore, Source, SourceChunk, prepare_headers

READ_PIECE = 4 << 20  # characters
# One object larger than this is refused as malformed; cells are capped at max_cell_chars anyway.
MAX_RECORD_CHARS = 16 << 20


class _Number(str):
    """A JSON number kept as the text it was written as."""


_decoder = json.JSONDecoder(parse_float=_Number, parse_int=_Number, parse_constant=_Number)
_WS = " \t\r\n"

NO_JSON_KEYS = "未找到与信息项匹配的字段：JSON 对象的键须与信息项规定的字段名称（表头）一致"
SINGLE_OBJECT = (
    "JSON 文件只有一个对象：请报送对象数组（[{…}, {…}]）或每行一个对象的 JSON Lines；"
    '若记录放在某个字段（如 "data"）里，请只保留该数组'
)


def _malformed(where: str, exc: Exception | None = None) -> Refused:
    detail = f"JSON 格式有误（{where}）：请检查引号、逗号和括号是否成对，或导出为 CSV/XLSX 后重新报送"
    return Refused(detail, extra={"code": "bad_json", "error": str(exc)[:300] if exc else None})


def cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, str):
        return value or None
    return _dump(value)


def _dump(value: Any) -> str:
    """JSON text of a nested value, numbers exactly as written."""
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_dump(str(k))}: {_dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _array_records(f: TextIO) -> Iterator[tuple[int, Any]]:
    """(1-based element index, element) of a top-level JSON array, reading a few MB at a time."""
    buf = ""
    pos = 0
    eof = False

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        piece = f.read(READ_PIECE)
        if not piece:
            eof = True
            return False
        buf = buf[pos:] + piece
        pos = 0
        return True

    def skip_ws() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in _WS:
                pos += 1
            if pos < len(buf):
                return buf[pos]
            if not more():
                return ""

    if skip_ws() != "[":
        raise _malformed("应以 [ 开头")
    pos += 1
    index = 0
    while True:
        ch = skip_ws()
        if ch == "]" and index == 0:
            pos += 1
            break
        if index > 0:
            if ch == "]":
                pos += 1
                break
            if ch != ",":
                raise _malformed(f"第 {index} 个对象之后缺少逗号或 ]")
            pos += 1
            ch = skip_ws()
        if not ch:
            raise _malformed("文件不完整，缺少结尾的 ]")
        index += 1
        while True:
            try:
                value, end = _decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as exc:
                if len(buf) - pos > MAX_RECORD_CHARS:
                    raise _malformed(f"第 {index} 个对象过大或不完整", exc) from exc
                if not more():
                    raise _malformed(f"第 {index} 个对象", exc) from exc
        pos = end
        yield index, value
    if skip_ws():
        raise _malformed("数组 ] 之后还有多余内容")


def _line_records(f: TextIO) -> Iterator[tuple[int, Any]]:
    for line_no, line in enumerate(f, start=1):
        if not line.strip():
            continue
        try:
            yield line_no, _decoder.decode(line)
        except json.JSONDecodeError as exc:
            raise _malformed(
                f"第 {line_no} 行不是完整的 JSON 对象；JSON Lines 要求每行一个对象", exc
            ) from exc


class JsonSource(Source):
    def __init__(
        self,
        path: Path,
        *,
        kind: str,
        encoding: str,
        header_score: HeaderScore,
        min_score: int,
        chunk_rows: int,
        max_cell_chars: int,
    ) -> None:
        super().__init__(kind, encoding=encoding)
        self._file: TextIO | None = path.open(encoding=encoding, errors="strict", newline="")
        self._chunk_rows = chunk_rows
        self._max = max_cell_chars
        try:
            self._records = _array_records(self._file) if kind == "json" else _line_records(self._file)
            self._first = self._read(max(chunk_rows, 2))
            if kind == "jsonl" and len(self._first) == 1:
                raise Refused(SINGLE_OBJECT, extra={"code": "single_json_object"})
            keys: dict[str, None] = {}
            for _, obj in self._first:
                keys.update(dict.fromkeys(obj))
            _, self.headers, self.warnings = prepare_headers(list(keys))
            if not self.headers or header_score(self.headers) < min_score:
                raise Refused(
                    NO_JSON_KEYS,
                    extra={"code": "no_header"},
                )
        except Exception:
            self.close()
            raise

    def _read(self, n: int) -> list[tuple[int, dict[str, Any]]]:
        out: list[tuple[int, dict[str, Any]]] = []
        try:
            for row_no, obj in self._records:
                if not isinstance(obj, dict):
                    where = f"第 {row_no} 个元素" if self.kind == "json" else f"第 {row_no} 行"
                    raise Refused(
                        f'JSON 格式不符合要求：{where}不是对象（{{"表头": "值", …}}），请每条记录报送一个对象',
                        extra={"code": "bad_json"},
                    )
                out.append((row_no, obj))
                if len(out) >= n:
                    break
        except UnicodeDecodeError as exc:
            raise Refused(
                "JSON 文件中有无法按 UTF-8 解码的内容：请以 UTF-8 编码重新导出后报送",
                extra={"code": "bad_encoding"},
            ) from exc
        return out

    def chunks(self) -> Iterator[SourceChunk]:
        headers = self.headers
        known = set(headers)
        warned = False
        batch = self._first
        self._first = []
        while batch:
            buf = ColumnBuffer(headers, self._max)
            for row_no, obj in batch:
                buf.add(row_no, [cell_text(obj.get(h)) for h in headers])
                if not warned and obj.keys() - known:
                    new = "」「".join(sorted(obj.keys() - known))
                    where = f"第 {row_no} 个对象" if self.kind == "json" else f"第 {row_no} 行"
                    self.warnings.append(f"{where}出现了前面记录中没有的字段（「{new}」），这些字段已忽略")
                    warned = True
            if len(buf):
                yield buf.flush()
            if self._file is None:
                break
            batch = self._read(self._chunk_rows)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
