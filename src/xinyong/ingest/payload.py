"""Canonical record payloads, content hashes and record keys, built for a whole chunk at once.

The bytes must equal what the request path produces (records.service.payload_json, records.rules):
catalog field order, empty values left out, compact separators, ensure_ascii=False. The JSON is put
together with Polars string expressions; the hashes are blake2b over the column's values in one
comprehension (Polars' own hash is not stable across versions, so it cannot name a record).
"""

from __future__ import annotations

from hashlib import blake2b

import polars as pl

from xinyong.catalog.schemas import CatalogItem
from xinyong.core.identifiers import mask_citizen_id
from xinyong.ingest.normalise import json_escape_series


def mask_column(frame: pl.DataFrame, col: str) -> pl.Series:
    values = frame.get_column(col)
    long = values.str.len_chars() == 18
    odd = values.filter(~long & values.is_not_null()).unique().to_list()
    table = {v: mask_citizen_id(v) for v in odd}
    masked18 = values.str.slice(0, 6) + "*" * 8 + values.str.slice(14)
    others = values.replace_strict(table, default=None, return_dtype=pl.String) if table else values.clear(len(values))
    return pl.select(pl.when(pl.lit(long)).then(pl.lit(masked18)).otherwise(pl.lit(others))).to_series().alias(col)


def escape_columns(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    return frame.with_columns([json_escape_series(frame.get_column(n)) for n in names])


def payload_expr(item: CatalogItem, present: set[str]) -> pl.Expr:
    """JSON object text of the field columns present, already JSON-escaped (escape_columns) and masked."""
    pieces = [
        pl.concat_str([pl.lit(f'"{f.name}":"'), pl.col(f.name), pl.lit('"')])
        for f in item.fields
        if f.name in present
    ]
    if not pieces:
        return pl.lit("{}")
    # A null piece is skipped together with its separator: exactly json.dumps' output without empty values.
    return pl.concat_str([pl.lit("{"), pl.concat_str(pieces, separator=",", ignore_nulls=True), pl.lit("}")])


def content_hashes(item_code: str, payloads: list[str]) -> list[str]:
    """records.rules.content_hash for every payload."""
    prefix = f"{item_code}\x1f".encode()
    return [blake2b(prefix + p.encode(), digest_size=16).hexdigest() for p in payloads]


def record_keys(dept_id: int, item_code: str, decision_nos: list[str | None], subject_keys: list[str],
                hashes: list[str]) -> list[str]:
    """records.rules.record_key for every row."""
    head = f"{dept_id}\x1f{item_code}\x1f"
    return [
        blake2b((head + d if d else f"{head}#{s}\x1f{h}").encode(), digest_size=16).hexdigest()
        for d, s, h in zip(decision_nos, subject_keys, hashes, strict=True)
    ]
