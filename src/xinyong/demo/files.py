"""The files departments send: one per department and item, CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX
(merged title row above the header), with a share of dirty rows (dirt.py) and a manifest of what
ingestion must do.

Rows arrive from the generator as Polars frames, window by window; each frame is dirtied, split by
department and appended to that department's file, so memory stays flat at any size. XLSX is written
only while the city is small enough that no sheet grows past a few tens of thousands of rows
(XLSX_MAX_ROWS); above it those departments send CSV with a BOM.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import polars as pl

from xinyong.demo import names as N
from xinyong.demo.departments import BY_CODE
from xinyong.demo.dirt import BAD, FIXABLE, UNKNOWN_ENUM, ItemShape, add_dirt
from xinyong.demo.generator import City
from xinyong.demo.xlsx import SheetWriter

__all__ = ["BAD", "FIXABLE", "ItemShape", "demo_items", "item_shapes", "write_files"]

# Above this many rows in the whole city every department sends CSV: the largest XLSX department file
# (ZY, about 2.1% of all rows) then stays near 20K rows.
XLSX_MAX_ROWS = 1_000_000
ITEM_ORDER = ("registration", "admin_license", "admin_penalty")  # load order; the rest follow by name
_ENCODING = {"csv": "utf-8", "csv-bom": "utf-8-sig", "csv-gbk": "gbk"}


def item_shapes() -> dict[str, ItemShape]:
    from xinyong.catalog.service import get_catalog

    shapes = {}
    for item in get_catalog().list():
        date_field = next((f.name for f in item.fields if f.role == "decision_date" and f.required), None)
        amount = next((f.name for f in item.fields if f.role == "amount"), None)
        enums = tuple(f.name for f in item.fields if f.type == "enum" and f.name in UNKNOWN_ENUM)
        dates = tuple(f.name for f in item.fields if f.type == "date")
        shapes[item.code] = ItemShape(item.code, item.name, [(f.name, f.label) for f in item.fields], date_field,
                                      amount, enums, dates)  # fmt: skip
    return shapes


def demo_items() -> set[str]:
    """Catalog items the demo city writes: those the generator knows, when the catalog ships them."""
    from xinyong.demo.generator import ITEM_MIX

    return set(item_shapes()) & ({code for code, _ in ITEM_MIX} | {"registration"})


@dataclass
class FileStats:
    file: str
    item: str
    dept: str
    format: str
    rows: int = 0
    dirty_rows: int = 0
    fixable_rows: int = 0
    expected_rejected: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "item": self.item, "dept": self.dept, "format": self.format, "rows": self.rows,
                "dirty_rows": self.dirty_rows, "fixable_rows": self.fixable_rows,
                "expected_rejected": self.expected_rejected, "expected_accepted": self.rows - self.expected_rejected,
                "dirty_kinds": dict(sorted(self.kinds.items()))}  # fmt: skip


def _messy(label: str, h: int) -> str:
    """A header as real files spell it: full-width brackets and underscores, a line break, trailing spaces."""
    out = label.replace("(", "（").replace(")", "）").replace("_", "＿")
    if len(out) > 6 and h % 2:
        out = out[: len(out) // 2] + "\n" + out[len(out) // 2 :]
    return out + ("  " if (h >> 1) % 2 else "")


class _Writer:
    """One department file; frames arrive with the item's fields as columns, in order."""

    def __init__(self, path: Path, fmt: str, labels: list[str], title: str, shape: ItemShape) -> None:
        self.fmt = fmt
        self.sheet: SheetWriter | None = None
        self.fh: IO[bytes] | None = None
        if fmt == "xlsx":
            self.sheet = SheetWriter(path, labels, title, date_text=tuple(shape.date_fields))
            return
        self.encoding = _ENCODING[fmt]
        self.fh = open(path, "wb")  # closed in close()
        header = io.StringIO()
        csv.writer(header).writerow(labels)  # quotes the labels with line breaks; \r\n as Excel writes
        self.fh.write(header.getvalue().encode(self.encoding))

    def write(self, df: pl.DataFrame) -> None:
        if self.sheet is not None:
            self.sheet.write(df)
            return
        assert self.fh is not None
        # Empty cells as nulls, so they are written bare (,,) rather than quoted ("").
        df = df.with_columns(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c)
                             for c, t in df.schema.items() if t == pl.String)  # fmt: skip
        # Polars' own string is much faster than writing through a Python file object.
        text = df.write_csv(include_header=False, line_terminator="\r\n", date_format="%Y-%m-%d")
        self.fh.write(text.encode(self.encoding.replace("-sig", "")))

    def close(self) -> None:
        if self.sheet is not None:
            self.sheet.close()
        elif self.fh is not None:
            self.fh.close()


def write_files(directory: Path, *, subjects: int, seed: int, today: date, records: int | None = None,
                dirty: float = 0.03, progress: Callable[[int], None] | None = None,
                xlsx: bool = True) -> dict[str, Any]:
    """Write every department file of the city into directory, plus manifest.json; return the manifest.

    xlsx=False writes CSV (with a BOM) for the departments that would send XLSX.
    """
    directory.mkdir(parents=True, exist_ok=True)
    shapes = item_shapes()
    known = demo_items()
    city = City(subjects=subjects, seed=seed, today=today, records=records, registration="registration" in shapes,
                items=tuple(code for code in shapes if code in known and code != "registration"))  # fmt: skip
    allow_xlsx = xlsx and subjects + city.record_count <= XLSX_MAX_ROWS
    writers: dict[tuple[str, str], tuple[_Writer, FileStats]] = {}

    def writer_for(item: str, dept_code: str) -> tuple[_Writer, FileStats]:
        entry = writers.get((dept_code, item))
        if entry is None:
            shape, dept = shapes[item], BY_CODE[dept_code]
            fmt = dept.file_format if dept.file_format != "xlsx" or allow_xlsx else "csv-bom"
            name = f"{dept_code}_{item}.{'xlsx' if fmt == 'xlsx' else 'csv'}"
            hh = N.mix(seed, 7, sum(map(ord, name)))
            messy = dirty > 0 and hh % 3 == 0
            labels = [_messy(label, hh >> i) if messy else label for i, (_, label) in enumerate(shape.fields)]
            title = f"{dept.name}{shape.name}报送表（{today.year}年{today.month}月）"
            entry = writers[(dept_code, item)] = (_Writer(directory / name, fmt, labels, title, shape),
                                                  FileStats(name, item, dept_code, fmt))  # fmt: skip
        return entry

    xlsx_depts = {d for d, dept in BY_CODE.items() if dept.file_format == "xlsx" and allow_xlsx}
    try:
        for item, frame in city.frames():
            shape = shapes[item]
            columns = [name for name, _ in shape.fields]
            stream = 8 if item == "registration" else 6
            for in_xlsx in (False, True):  # the Excel serial-number date form only exists in sheets
                part = frame.filter(pl.col("dept").is_in(xlsx_depts) == in_xlsx) if xlsx_depts else frame
                if in_xlsx and not xlsx_depts:
                    break
                part = add_dirt(part, shape, seed=seed, stream=stream, share=dirty, today=today, xlsx=in_xlsx)
                for (dept_code,), rows in part.partition_by("dept", as_dict=True, maintain_order=True).items():
                    writer, stats = writer_for(item, str(dept_code))
                    _count(stats, rows)
                    writer.write(rows.select(pl.col(c) if c in rows.columns else pl.lit(None, pl.String).alias(c)
                                             for c in columns))  # fmt: skip
            if progress is not None:
                progress(frame.height)
    finally:
        for writer, _ in writers.values():
            writer.close()
    order = {code: i for i, code in enumerate(ITEM_ORDER)}
    files = sorted((s for _, s in writers.values()), key=lambda s: (order.get(s.item, len(order)), s.item, s.dept))
    manifest = {
        "city": N.CITY, "seed": seed, "today": today.isoformat(), "subjects": subjects, "dirty": dirty,
        "rows": sum(s.rows for s in files), "expected_rejected": sum(s.expected_rejected for s in files),
        "files": [s.as_dict() for s in files],
    }  # fmt: skip
    (directory / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


def _count(stats: FileStats, rows: pl.DataFrame) -> None:
    stats.rows += rows.height
    for kind, n in rows["dirt"].drop_nulls().value_counts().iter_rows():
        stats.kinds[kind] += n
        stats.dirty_rows += n
        if kind in BAD:
            stats.expected_rejected += n
        else:
            stats.fixable_rows += n
