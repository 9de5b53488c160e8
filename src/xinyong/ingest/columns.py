"""Mapping a file's headers to catalog fields, and masking of values that may hold an ID number."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from xinyong.catalog.headers import normalize_header
from xinyong.catalog.schemas import CatalogItem
from xinyong.core.errors import Refused
from xinyong.core.identifiers import mask_citizen_id
from xinyong.ingest.readers import FORMULA_PREFIX, TOO_LONG_PREFIX

# Anything shaped like a citizen ID number is masked wherever it shows up (a person's number typed into
# the unified code column must not reach a reject report in clear).
_DAY = r"(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
_ID_LIKE = re.compile(rf"^\s*(\d{{6}}(18|19|20)\d{{2}}{_DAY}\d{{3}}[\dXx]|\d{{8}}{_DAY}\d{{3}})\s*$")
MAX_SHOWN_CHARS = 200


@dataclass(frozen=True)
class ColumnMap:
    columns: dict[str, str]  # field name -> the file's original header
    ignored: list[str]
    warnings: list[str] = field(default_factory=list)


def header_scorer(item: CatalogItem) -> Callable[[list[str]], int]:
    """How many distinct fields of the item a candidate header row names (the readers pick the best row)."""
    index = item.header_index()

    def score(headers: list[str]) -> int:
        return len({index[k] for h in headers if h and (k := normalize_header(str(h))) in index})

    return score


def expected_headers(item: CatalogItem) -> str:
    return "、".join(f"{f.label}{'（必填）' if f.required else ''}" for f in item.fields)


def map_headers(item: CatalogItem, headers: list[str]) -> ColumnMap:
    """Field per header; refuses the file when a required column is missing (listing the expected headers)."""
    index = item.header_index()
    columns: dict[str, str] = {}
    ignored: list[str] = []
    warnings: list[str] = []
    for h in headers:
        name = index.get(normalize_header(h)) if h else None
        if name is None:
            ignored.append(h)
        elif name in columns:
            label = item.field(name).label if item.field(name) else name  # type: ignore[union-attr]
            warnings.append(f"表头“{h}”与“{columns[name]}”都对应「{label}」，已只使用“{columns[name]}”列")
        else:
            columns[name] = h
    missing = [f.label for f in item.fields if f.required and f.name not in columns]
    if missing:
        raise Refused(
            f"文件缺少必填列：{'、'.join(missing)}。信息项「{item.name}」的表头应为：{expected_headers(item)}。"
            "请按上述表头修改后重新报送",
            rule="ingest.missing_columns",
            extra={"missing": missing, "expected": [f.label for f in item.fields]},
        )
    shown = [h for h in ignored if h]
    if shown:
        warnings.append(f"以下列不属于信息项「{item.name}」，已忽略：{'、'.join(shown[:30])}")
    return ColumnMap(columns=columns, ignored=ignored, warnings=warnings)


def shown_value(value: object, *, sensitive: bool = False) -> str | None:
    """A raw value as it may be shown back (reject list, report): truncated, ID numbers masked."""
    if value is None:
        return None
    text = str(value)
    if sensitive or _ID_LIKE.match(text):
        return mask_citizen_id(text) if text.strip() else text
    if len(text) > MAX_SHOWN_CHARS:
        return text[:MAX_SHOWN_CHARS] + f"…（共 {len(text)} 个字符）"
    return text


def raw_value(value: object, *, sensitive: bool = False) -> str | None:
    """A cell of a rejected row as kept for the reject report: complete (to fix and resubmit), but ID numbers
    and sensitive columns masked, and markers of formulas or oversized cells made readable."""
    if value is None:
        return None
    text = str(value)
    if text.startswith(TOO_LONG_PREFIX):
        return f"（内容过长，共 {text[len(TOO_LONG_PREFIX):]} 个字符，未保留）"
    if text.startswith(FORMULA_PREFIX):
        text = text[len(FORMULA_PREFIX):]
    if sensitive or _ID_LIKE.match(text):
        return mask_citizen_id(text) if text.strip() else text
    return text
