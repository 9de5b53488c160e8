"""Canonical record payloads, content hashes and record keys, built for a whole chunk at once.

The bytes must equal what the request path produces (records.service.payload_text, records.rules): a
positional JSON array of the values in the item's catalog field order (its layout), null for an empty
value, trailing nulls left out, compact separators, ensure_ascii=False. The JSON is put together with
Polars string expressions; the hashes are blake2b over the column's values in one loop (Polars' own hash
is not stable across versions, so it cannot name a record).
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


LAST_VALUE = "_last_value"


def _filled(name: str) -> pl.Expr:
    return pl.col(name).str.len_bytes() > 0  # null for a null value: when() takes it as false


def last_value_expr(item: CatalogItem, present: set[str]) -> pl.Expr:
    """The position (in the item's field list) of a row's last non-empty value; null when it has none.
    payload_expr reads it from the column LAST_VALUE."""
    marks = [pl.when(_filled(f.name)).then(pl.lit(i, pl.Int32)) for i, f in enumerate(item.fields) if f.name in present]
    return pl.max_horizontal(marks) if marks else pl.lit(None, pl.Int32)


def payload_expr(item: CatalogItem, present: set[str]) -> pl.Expr:
    """Positional JSON array text of the field columns present, already JSON-escaped (escape_columns) and
    masked; fields absent from the file are nulls. Needs the column LAST_VALUE (last_value_expr)."""
    last = pl.col(LAST_VALUE)
    positions = [i for i, f in enumerate(item.fields) if f.name in present]
    pieces = []
    for i, f in enumerate(item.fields[:positions[-1] + 1] if positions else []):
        comma = "," if i else ""
        value = (pl.when(_filled(f.name)).then(pl.concat_str([pl.lit(f'{comma}"'), pl.col(f.name), pl.lit('"')]))
                 .otherwise(pl.lit(f"{comma}null")) if f.name in present else pl.lit(f"{comma}null"))
        # a position after the row's last value is left out, with its comma: no trailing nulls
        pieces.append(pl.when(last >= i).then(value))
    if not pieces:
        return pl.lit("[]")
    return pl.concat_str([pl.lit("["), pl.concat_str(pieces, ignore_nulls=True), pl.lit("]")])


def _digests(material: pl.Series, prefix: bytes = b"") -> pl.Series:
    """blake2b-128 of prefix + each value's UTF-8 bytes, as Binary. Polars hands over the bytes directly (a
    Binary cast is free), which skips building a Python str per row only to encode it again; copying a hasher
    that has seen the prefix is cheaper than constructing one per row. The raw digests go back to Polars,
    which makes the hex text (and key64) vectorised: at 1M rows no slower than hexdigest() in the loop."""
    start = blake2b(prefix, digest_size=16)
    copy = start.copy
    digests: list[bytes] = []
    append = digests.append
    for value in material.cast(pl.Binary).to_list():
        h = copy()
        h.update(value)
        append(h.digest())
    return pl.Series(material.name, digests, dtype=pl.Binary)


def content_hashes(item_code: str, payloads: pl.Series) -> pl.Series:
    """records.rules.content_hash for every payload."""
    return _digests(payloads, f"{item_code}\x1f".encode()).bin.encode("hex")


def record_keys(dept_id: int, item_code: str, decision_nos: pl.Series, subject_keys: pl.Series,
                hashes: pl.Series) -> pl.DataFrame:
    """records.rules.record_key (column record_key) and rules.key64 of it (column key64) for every row, from
    one hash each (an empty decision number counts as none, as there)."""
    head = f"{dept_id}\x1f{item_code}\x1f"
    material = pl.select(
        pl.when(pl.lit(decision_nos).is_not_null() & (pl.lit(decision_nos) != ""))
        .then(pl.lit(decision_nos))
        .otherwise(pl.concat_str([pl.lit("#"), pl.lit(subject_keys), pl.lit("\x1f"), pl.lit(hashes)]))
    ).to_series()
    digests = _digests(material, head.encode())
    return pl.DataFrame({
        "record_key": digests.bin.encode("hex"),
        # the first 8 bytes, big-endian, signed: rules.key64
        "key64": digests.bin.slice(0, 8).bin.reinterpret(dtype=pl.Int64, endianness="big"),
    })
