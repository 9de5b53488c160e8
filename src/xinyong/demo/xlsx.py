"""A minimal streaming XLSX writer for department files: one sheet, a merged title row, inline strings.

xlsxwriter writes a cell per Python call (about 10K rows/s here); this one builds each row's XML as a
Polars string expression, so a sheet costs a few column passes. Dates are date cells; the parts and
their timestamps are fixed, so the same rows give the same bytes.
"""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

import polars as pl

_STAMP = (2024, 1, 1, 0, 0, 0)
_EPOCH = date(1899, 12, 30)
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>'
)
# Style 1: a date (yyyy-mm-dd); style 2: the bold, centred title.
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="宋体"/></font><font><b/><sz val="11"/><name val="宋体"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="center"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def column_letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _text_cell(ref: pl.Expr, value: pl.Expr) -> pl.Expr:
    escaped = value.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True) \
        .str.replace_all(">", "&gt;", literal=True)
    return pl.concat_str(pl.lit('<c r="'), ref, pl.lit('" t="inlineStr"><is><t xml:space="preserve">'), escaped,
                         pl.lit("</t></is></c>"))  # fmt: skip


def _empty_cell(ref: pl.Expr) -> pl.Expr:
    # Written rather than left out, so readers see every row as wide as the header.
    return pl.concat_str(pl.lit('<c r="'), ref, pl.lit('"/>'))


def _number_cell(ref: pl.Expr, value: pl.Expr, style: str) -> pl.Expr:
    return pl.concat_str(pl.lit('<c r="'), ref, pl.lit(f'"{style}><v>'), value.cast(pl.String), pl.lit("</v></c>"))


class SheetWriter:
    """Rows arrive as frames whose columns are the sheet's columns, in order (strings, dates or null)."""

    def __init__(self, path: Path, labels: list[str], title: str, date_text: tuple[str, ...] = ()) -> None:
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.width = len(labels)
        self.date_text = date_text  # string columns whose ISO dates become date cells, 5-digit serials numbers
        self.sheet: IO[bytes] = self.zip.open(_info("xl/worksheets/sheet1.xml"), "w")
        head = "".join(f'<c r="{column_letter(i)}2" t="inlineStr"><is><t xml:space="preserve">{escape(label)}</t></is></c>'
                       for i, label in enumerate(labels))  # fmt: skip
        self.sheet.write((
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData>'
            f'<row r="1"><c r="A1" s="2" t="inlineStr"><is><t>{escape(title)}</t></is></c></row>'
            f'<row r="2">{head}</row>'
        ).encode())  # fmt: skip
        self.row = 2

    def write(self, df: pl.DataFrame) -> None:
        if df.is_empty():
            return
        r = pl.int_range(self.row + 1, self.row + 1 + pl.len(), dtype=pl.Int64).cast(pl.String)
        cells = []
        for i, name in enumerate(df.columns):
            ref = pl.concat_str(pl.lit(column_letter(i)), r)
            col = pl.col(name)
            if df.schema[name] == pl.Date:
                cell = pl.when(col.is_null()).then(_empty_cell(ref)).otherwise(
                    _number_cell(ref, (col - pl.lit(_EPOCH)).dt.total_days(), ' s="1"'))
            else:
                text = col.cast(pl.String)
                cell = _text_cell(ref, text)
                if name in self.date_text:
                    parsed = text.str.to_date("%Y-%m-%d", strict=False)
                    cell = (pl.when(parsed.is_not_null() & (text.str.len_chars() == 10))
                            .then(_number_cell(ref, (parsed - pl.lit(_EPOCH)).dt.total_days(), ' s="1"'))
                            .when(text.str.contains(r"^\d{5}$")).then(_number_cell(ref, text, ""))
                            .otherwise(cell))  # fmt: skip
                cell = pl.when(text.is_null() | (text == "")).then(_empty_cell(ref)).otherwise(cell)
            cells.append(cell)
        xml = df.select(pl.concat_str(pl.lit('<row r="'), r, pl.lit('">'), *cells, pl.lit("</row>")).alias("x"))
        self.sheet.write("".join(xml["x"].to_list()).encode())
        self.row += df.height

    def close(self) -> None:
        last = column_letter(self.width - 1)
        self.sheet.write(f'</sheetData><mergeCells count="1"><mergeCell ref="A1:{last}1"/></mergeCells></worksheet>'
                         .encode())  # fmt: skip
        self.sheet.close()
        for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _RELS),
                           ("xl/workbook.xml", _WORKBOOK), ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                           ("xl/styles.xml", _STYLES)):  # fmt: skip
            self.zip.writestr(_info(name), text)
        self.zip.close()
