"""The files departments send: one per department and item, CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX
(merged title row above the header), with a share of dirty rows and a manifest of what ingestion must do.

Dirty rows are of two sorts. Fixable ones (full-width or spaced codes, other date forms, Excel serial
numbers, thousands separators, padded names, spaced ID numbers) must be accepted after normalisation;
bad ones (wrong check characters, impossible or future dates, missing required values, negative
amounts, unknown enumeration values) must be rejected. manifest.json counts both per file.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from xinyong.core.identifiers import citizen_id_check_char, uscc_check_char
from xinyong.demo import names as N
from xinyong.demo.departments import BY_CODE
from xinyong.demo.generator import City

XLSX_MAX_RECORDS = 1_000_000  # above this city size every department sends CSV (sheet row limit)
ITEM_ORDER = ("registration", "admin_license", "admin_penalty")  # load order; the rest follow by name
FIXABLE = ("uscc_fullwidth", "uscc_lower_spaced", "date_form", "amount_thousands", "id_spaced", "name_padded")
BAD = ("uscc_check", "date_impossible", "date_future", "missing_required", "amount_negative", "enum_unknown",
       "id_check")  # fmt: skip
_EXCEL_EPOCH = date(1899, 12, 30)
_UNKNOWN_ENUM = {"penalty_type": "罚没款", "license_category": "特殊许可", "status": "暂停", "rating": "AA"}
_FULLWIDTH = {c: chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


@dataclass
class ItemShape:
    """What the dirt needs to know of a catalog item."""

    code: str
    name: str
    fields: list[tuple[str, str]]  # (name, label)
    date_field: str | None  # the required decision-date field
    amount_field: str | None
    enum_fields: tuple[str, ...]


def item_shapes() -> dict[str, ItemShape]:
    from xinyong.catalog.service import get_catalog

    shapes = {}
    for item in get_catalog().list():
        date_field = next((f.name for f in item.fields if f.role == "decision_date" and f.required), None)
        amount = next((f.name for f in item.fields if f.role == "amount"), None)
        enums = tuple(f.name for f in item.fields if f.type == "enum" and f.name in _UNKNOWN_ENUM)
        shapes[item.code] = ItemShape(item.code, item.name, [(f.name, f.label) for f in item.fields], date_field,
                                      amount, enums)  # fmt: skip
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
    def __init__(self, path: Path, fmt: str, labels: list[str], title: str) -> None:
        self.fmt = fmt
        if fmt == "xlsx":
            import xlsxwriter

            self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
            # A fixed creation time: same seed, same bytes (xlsxwriter stamps "now" otherwise).
            self.book.set_properties({"created": datetime(2024, 1, 1)})
            self.sheet = self.book.add_worksheet("Sheet1")
            self.date_fmt = self.book.add_format({"num_format": "yyyy-mm-dd"})
            bold = self.book.add_format({"bold": True, "align": "center"})
            self.sheet.merge_range(0, 0, 0, len(labels) - 1, title, bold)
            self.sheet.write_row(1, 0, labels)
            self.row = 2
        else:
            encoding = {"csv": "utf-8", "csv-bom": "utf-8-sig", "csv-gbk": "gbk"}[fmt]
            self.fh = open(path, "w", encoding=encoding, newline="")  # closed in close()
            self.csv = csv.writer(self.fh)
            self.csv.writerow(labels)

    def write(self, values: list[object]) -> None:
        if self.fmt == "xlsx":
            for col, v in enumerate(values):
                if isinstance(v, date):
                    self.sheet.write_datetime(self.row, col, datetime(v.year, v.month, v.day), self.date_fmt)
                elif isinstance(v, int):
                    self.sheet.write_number(self.row, col, v)
                elif v:
                    self.sheet.write_string(self.row, col, str(v))
            self.row += 1
        else:
            self.csv.writerow([v.isoformat() if isinstance(v, date) else v for v in values])

    def close(self) -> None:
        if self.fmt == "xlsx":
            self.book.close()
        else:
            self.fh.close()


class _Dirt:
    def __init__(self, seed: int, share: float, today: date) -> None:
        self.seed, self.threshold, self.today = seed, int(share * 1_000_000), today
        self.n = 0

    def apply(self, shape: ItemShape, row: dict[str, object], fmt: str) -> tuple[str, bool] | None:
        """Maybe dirty the row in place; (kind, rejected) when it did."""
        self.n += 1
        if self.threshold <= 0:
            return None
        h = N.mix(self.seed, 6, self.n)
        if h % 1_000_000 >= self.threshold:
            return None
        h //= 1_000_000
        fixable = [k for k in FIXABLE if self._fits(k, shape, row)]
        bad = [k for k in BAD if self._fits(k, shape, row)]
        group = fixable if h % 2 == 0 else bad
        kind = group[(h >> 1) % len(group)]
        self._do(kind, shape, row, fmt, h >> 8)
        return kind, kind in BAD

    def _fits(self, kind: str, shape: ItemShape, row: dict[str, object]) -> bool:
        if kind.startswith("uscc"):
            return bool(row.get("uscc"))
        if kind.startswith("date"):
            return shape.date_field is not None and isinstance(row.get(shape.date_field), date)
        if kind.startswith("amount"):
            return shape.amount_field is not None and bool(row.get(shape.amount_field))
        if kind.startswith("id_"):
            return bool(row.get("id_no"))
        if kind == "enum_unknown":
            return any(row.get(f) for f in shape.enum_fields)
        return True

    def _do(self, kind: str, shape: ItemShape, row: dict[str, object], fmt: str, h: int) -> None:
        uscc, id_no = str(row.get("uscc") or ""), str(row.get("id_no") or "")
        day = row.get(shape.date_field) if shape.date_field else None
        if kind == "uscc_fullwidth":
            row["uscc"] = uscc.translate(_FULLWIDTH)
        elif kind == "uscc_lower_spaced":
            row["uscc"] = f" {uscc[:6].lower()} {uscc[6:12].lower()}-{uscc[12:].lower()} "
        elif kind == "date_form" and isinstance(day, date) and shape.date_field:
            forms: list[Callable[[date], object]] = [
                lambda d: f"{d.year}/{d.month}/{d.day}", lambda d: f"{d.year}.{d.month}.{d.day}",
                lambda d: f"{d.year}年{d.month}月{d.day}日", lambda d: f"{d:%Y%m%d}",
            ]  # fmt: skip
            if fmt == "xlsx":
                forms.append(lambda d: (d - _EXCEL_EPOCH).days)  # an Excel serial number in a plain cell
            row[shape.date_field] = forms[h % len(forms)](day)
        elif kind == "amount_thousands" and shape.amount_field:
            row[shape.amount_field] = f"{1000 + h % 9000:,}.{(h >> 16) % 100:02d}"
        elif kind == "id_spaced":
            row["id_no"] = f"{id_no[:6]} {id_no[6:14]} {id_no[14:].lower()}"
        elif kind == "name_padded":
            row["subject_name"] = f"  {row.get('subject_name', '')}\u3000"
        elif kind == "uscc_check":
            good = uscc_check_char(uscc[:17])
            row["uscc"] = uscc[:17] + ("1" if good != "1" else "2")
        elif kind == "date_impossible" and isinstance(day, date) and shape.date_field:
            row[shape.date_field] = f"{day.year}-02-30"
        elif kind == "date_future" and shape.date_field:
            row[shape.date_field] = self.today + timedelta(days=400 + h % 1000)
        elif kind == "missing_required":
            row["subject_name"] = ""
        elif kind == "amount_negative" and shape.amount_field:
            row[shape.amount_field] = "-" + str(row[shape.amount_field])
        elif kind == "enum_unknown":
            name = next(f for f in shape.enum_fields if row.get(f))
            row[name] = _UNKNOWN_ENUM[name]
        elif kind == "id_check":
            good = citizen_id_check_char(id_no[:17])
            row["id_no"] = id_no[:17] + ("0" if good != "0" else "1")


def write_files(directory: Path, *, subjects: int, seed: int, today: date, records: int | None = None,
                dirty: float = 0.03, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Write every department file of the city into directory, plus manifest.json; return the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    shapes = item_shapes()
    known = demo_items()
    city = City(subjects=subjects, seed=seed, today=today, records=records,
                items=tuple(code for code in shapes if code in known and code != "registration"))
    dirt = _Dirt(seed, dirty, today)
    writers: dict[tuple[str, str], tuple[_Writer, FileStats, ItemShape]] = {}

    def out(item: str, dept_code: str, row: dict[str, object]) -> None:
        key = (dept_code, item)
        entry = writers.get(key)
        if entry is None:
            shape = shapes[item]
            dept = BY_CODE[dept_code]
            fmt = dept.file_format
            if fmt == "xlsx" and city.record_count > XLSX_MAX_RECORDS:
                fmt = "csv-bom"
            name = f"{dept_code}_{item}.{'xlsx' if fmt == 'xlsx' else 'csv'}"
            hh = N.mix(seed, 7, sum(map(ord, name)))
            messy = dirty > 0 and hh % 3 == 0
            labels = [_messy(label, hh >> i) if messy else label for i, (_, label) in enumerate(shape.fields)]
            title = f"{dept.name}{shape.name}报送表（{today.year}年{today.month}月）"
            entry = writers[key] = (_Writer(directory / name, fmt, labels, title), FileStats(name, item, dept_code, fmt),
                                    shape)  # fmt: skip
        writer, stats, shape = entry
        done = dirt.apply(shape, row, writer.fmt)
        stats.rows += 1
        if done is not None:
            kind, rejected = done
            stats.dirty_rows += 1
            stats.kinds[kind] += 1
            if rejected:
                stats.expected_rejected += 1
            else:
                stats.fixable_rows += 1
        writer.write([row.get(name, "") for name, _ in shape.fields])
        if progress is not None:
            progress(1)

    try:
        if "registration" in shapes:
            for dept_code, row in city.registrations():
                out("registration", dept_code, row)
        for item, dept_code, row in city.records_iter():
            out(item, dept_code, row)
    finally:
        for writer, _, _ in writers.values():
            writer.close()
    order = {code: i for i, code in enumerate(ITEM_ORDER)}
    files = sorted((s for _, s, _ in writers.values()), key=lambda s: (order.get(s.item, len(order)), s.item, s.dept))
    manifest = {
        "city": N.CITY, "seed": seed, "today": today.isoformat(), "subjects": subjects, "dirty": dirty,
        "rows": sum(s.rows for s in files), "expected_rejected": sum(s.expected_rejected for s in files),
        "files": [s.as_dict() for s in files],
    }  # fmt: skip
    (directory / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest
