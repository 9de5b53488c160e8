"""XLSX: zip checks first (a bomb never reaches openpyxl), then the sheet XML streamed row by row.

Rows come from openpyxl's worksheet parser directly, so row numbers are the sheet's own and rows absent from
the XML cost nothing. The parser is a private openpyxl class (pinned 3.1): we subclass it to keep the formula
text of a cell that has no cached value, which `data_only=True` would otherwise turn into an empty cell.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from xinyong.core.errors import Refused
from xinyong.ingest.readers_base import (
    FORMULA_PREFIX,
    HEADER_SCAN_ROWS,
    NO_HEADER,
    ColumnBuffer,
    HeaderScore,
    Source,
    SourceChunk,
    pick_header,
    prepare_headers,
)

MAX_UNPACKED_BYTES = 2 << 30  # 2 GB in any case
SUSPECT_UNPACKED_BYTES = 200 << 20  # over 200 MB and over 50 times the file size
SUSPECT_FACTOR = 50
MAX_MEMBER_RATIO = 200  # for members over 1 MB; small XML parts compress well legitimately
RATIO_MIN_BYTES = 1 << 20

BOMB = "XLSX 文件解压后体积异常（疑似压缩炸弹），已拒收：请在 Excel 或 WPS 中打开后另存为新的 XLSX 文件，或导出为 CSV 后重新报送"
CORRUPT = "XLSX 文件已损坏，无法打开：请在 Excel 或 WPS 中打开确认后重新保存为 XLSX，或导出为 CSV 后重新报送"
NOT_WORKBOOK = "文件是压缩包，但不是 XLSX 工作簿：请上传 Excel 工作簿（*.xlsx）或 CSV 文件"
ODS = "文件是 OpenDocument 表格（.ods）：请在 WPS 或 Excel 中另存为「Excel 工作簿（*.xlsx）」后重新报送"


def check_zip(path: Path) -> None:
    """Refuses corrupt zips, zip bombs and zips that are not workbooks, reading only the central directory."""
    size = max(path.stat().st_size, 1)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if total > MAX_UNPACKED_BYTES or (
                total > SUSPECT_UNPACKED_BYTES and total > SUSPECT_FACTOR * size
            ):
                raise Refused(BOMB, extra={"code": "zip_bomb", "unpacked_bytes": total})
            for i in infos:
                if i.file_size > RATIO_MIN_BYTES and i.file_size > MAX_MEMBER_RATIO * max(i.compress_size, 1):
                    raise Refused(BOMB, extra={"code": "zip_bomb", "member": i.filename})
            names = {i.filename for i in infos}
            if "mimetype" in names and zf.read("mimetype").startswith(b"application/vnd.oasis.opendocument"):
                raise Refused(ODS, extra={"code": "not_xlsx"})
            if "[Content_Types].xml" not in names:
                raise Refused(NOT_WORKBOOK, extra={"code": "not_xlsx"})
            types = zf.read("[Content_Types].xml")
            if b"spreadsheetml.sheet.main" not in types and b"ms-excel.sheet.macroEnabled.main" not in types:
                raise Refused(NOT_WORKBOOK, extra={"code": "not_xlsx"})
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        OSError,
        EOFError,
        KeyError,
    ) as exc:
        raise Refused(CORRUPT, extra={"code": "corrupt_xlsx"}) from exc


def cell_text(value: Any) -> str | None:
    """A cell value as the clerk would read it; dates as ISO, numbers without '.0' or exponent."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _parser_class() -> Any:
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class FormulaAwareParser(WorkSheetParser):  # type: ignore[misc]
        def parse_cell(self, element: Any) -> Any:
            cell = super().parse_cell(element)
            if cell["value"] is None:
                formula = element.find(FORMULA_TAG)
                if formula is not None:
                    cell["value"] = FORMULA_PREFIX + "=" + (formula.text or "")
            return cell

    return FormulaAwareParser


class XlsxSource(Source):
    def __init__(
        self, path: Path, *, header_score: HeaderScore, min_score: int, chunk_rows: int, max_cell_chars: int
    ) -> None:
        super().__init__("xlsx")
        check_zip(path)
        import openpyxl

        # A file object, not the path: openpyxl judges a path by its extension, and an upload's temporary
        # file has none.
        self._file: Any = path.open("rb")
        try:
            self._wb = openpyxl.load_workbook(self._file, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on broken parts
            self._file.close()
            raise Refused(CORRUPT, extra={"code": "corrupt_xlsx"}) from exc
        self._chunk_rows = chunk_rows
        self._max = max_cell_chars
        self._rows: Iterator[tuple[int, list[dict[str, Any]]]] | None = None
        self._pending: list[tuple[int, list[dict[str, Any]]]] = []
        self._source: Any = None
        try:
            self._choose_sheet(header_score, min_score)
        except Exception:
            self.close()
            raise

    def _open_rows(self, ws: Any) -> tuple[Any, Iterator[tuple[int, list[dict[str, Any]]]]]:
        wb = self._wb
        src = ws._get_source()
        parser = _parser_class()(
            src,
            ws._shared_strings,
            data_only=True,
            epoch=wb.epoch,
            date_formats=wb._date_formats,
            timedelta_formats=wb._timedelta_formats,
        )
        return src, parser.parse()

    def _choose_sheet(self, header_score: HeaderScore, min_score: int) -> None:
        sheets = list(self._wb.worksheets)
        for n, ws in enumerate(sheets):
            src, rows = self._open_rows(ws)
            seen: list[tuple[int, list[dict[str, Any]]]] = []
            candidates: list[tuple[int, list[str]]] = []
            try:
                for row_no, cells in rows:
                    seen.append((row_no, cells))
                    values = _row_values(cells)
                    if any(v.strip() for v in values):
                        candidates.append((row_no, values))
                        if len(candidates) >= HEADER_SCAN_ROWS:
                            break
            except Exception as exc:
                src.close()
                raise Refused(CORRUPT, extra={"code": "corrupt_xlsx", "sheet": ws.title}) from exc
            found = pick_header(candidates, header_score, min_score)
            if found is None:
                src.close()
                self.warnings.append(f"工作表「{ws.title}」没有匹配的表头，已跳过")
                continue
            self.sheet = ws.title
            self.header_row, values, _ = found
            positions, self.headers, warnings = prepare_headers(values)
            self.warnings.extend(warnings)
            self._colmap = {p + 1: i for i, p in enumerate(positions)}  # sheet column -> header index
            self._source, self._rows = src, rows
            self._pending = [(r, c) for r, c in seen if r > self.header_row]
            rest = [s.title for s in sheets[n + 1 :] if _has_content(s)]
            if rest:
                names = "".join(f"「{t}」" for t in rest)
                self.warnings.append(f"只读取了工作表「{ws.title}」，其余工作表{names}未读取")
            return
        raise Refused(NO_HEADER, extra={"code": "no_header"})

    def chunks(self) -> Iterator[SourceChunk]:
        if self._rows is None:
            return
        buf = ColumnBuffer(self.headers, self._max)
        width = len(self.headers)
        colmap = self._colmap

        def all_rows() -> Iterator[tuple[int, list[dict[str, Any]]]]:
            yield from self._pending
            assert self._rows is not None
            yield from self._rows

        try:
            for row_no, cells in all_rows():
                values: list[str | None] = [None] * width
                for cell in cells:
                    idx = colmap.get(cell["column"])
                    if idx is not None:
                        values[idx] = cell_text(cell["value"])
                buf.add(row_no, values)
                if len(buf) >= self._chunk_rows:
                    yield buf.flush()
        except Refused:
            raise
        except Exception as exc:
            raise Refused(CORRUPT, extra={"code": "corrupt_xlsx", "sheet": self.sheet}) from exc
        self._pending = []
        self._rows = None
        if len(buf):
            yield buf.flush()

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
        wb = getattr(self, "_wb", None)
        if wb is not None:
            wb.close()
            self._wb = None
        file = getattr(self, "_file", None)
        if file is not None:
            file.close()
            self._file = None


def _row_values(cells: list[dict[str, Any]]) -> list[str]:
    if not cells:
        return []
    values = [""] * max(c["column"] for c in cells)
    for c in cells:
        values[c["column"] - 1] = cell_text(c["value"]) or ""
    return values


def _has_content(ws: Any) -> bool:
    try:
        return bool((ws.max_row or 0) > 1 or (ws.max_column or 0) > 1)
    except Exception:
        return False
