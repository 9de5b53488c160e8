"""Hostile files for the upload tests: a sparse XLSX declaring the whole sheet, binary, NUL, oversized."""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter
from typing import Any

CLEAR_ID = "11010519491231002X"  # a valid citizen ID number: must never appear in clear
MASKED_ID = "110105********002X"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
CJK = re.compile(r"[\u4e00-\u9fff]")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def sparse_xlsx(first: str = "统一社会信用代码", last: str = "x") -> bytes:
    """About 1.6 KB: a sheet declaring A1:XFD1048576, one cell in A1 and one in XFD1048576, nothing between.
    A reader that trusts the dimension or fills the gaps walks 17 billion cells."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<dimension ref="A1:XFD1048576"/><sheetData>'
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>{first}</t></is></c></row>'
        f'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>{last}</t></is></c></row>'
        '</sheetData></worksheet>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


@contextmanager
def bounded(seconds: float = 10.0, megabytes: float = 64.0) -> Iterator[None]:
    """Fails unless the block ends within `seconds` with a Python heap peak under `megabytes`."""
    tracemalloc.start()
    started = perf_counter()
    try:
        yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    took = perf_counter() - started
    assert took < seconds, f"took {took:.1f} s"
    assert peak < megabytes * 1024 * 1024, f"peak {peak / 1048576:.0f} MB"


def chinese(text: str) -> bool:
    return bool(CJK.search(text))


def temp_files(tmp: Path) -> list[Path]:
    return sorted(tmp.iterdir())


def detail(resp: Any) -> str:
    if resp.headers.get("content-type", "").startswith("application/problem+json"):
        return str(resp.json()["detail"])
    return str(resp.text)


Poster = Callable[..., Any]
