"""Rejected rows: stored in batch_rejects (all of them), the first 1,000 shown in the summary."""

from __future__ import annotations

import json

import polars as pl

from xinyong.catalog.schemas import CatalogItem
from xinyong.core.db import scrub_text
from xinyong.core.identifiers import mask_id_numbers
from xinyong.ingest.columns import ColumnMap, raw_value
from xinyong.ingest.loader import Loader
from xinyong.ingest.schemas import MAX_REJECTS_SHOWN, RejectOut


class RejectSink:
    def __init__(self, loader: Loader, batch_id: int, item: CatalogItem, cmap: ColumnMap) -> None:
        self.loader = loader
        self.batch_id = batch_id
        self.sensitive_headers = {cmap.columns[f.name] for f in item.sensitive_fields() if f.name in cmap.columns}
        self.rejected_rows = 0
        self.shown: list[RejectOut] = []

    def add(self, rejects: pl.DataFrame, raw: pl.DataFrame) -> None:
        if rejects.height == 0:
            return
        rejects = rejects.with_columns(stored_text(rejects.get_column(c)) for c in ("field", "reason", "value"))
        self.rejected_rows += rejects.get_column("_row").n_unique()
        room = MAX_REJECTS_SHOWN - len(self.shown)
        if room > 0:
            self.shown += [RejectOut(row=r, field=f, reason=why, value=v)
                           for r, f, why, v in rejects.head(room).iter_rows()]
        # The original row (sensitive cells masked) rides on the first entry of each row, for the report.
        headers = [c for c in raw.columns if c != "_row"]
        originals = {
            row["_row"]: json.dumps({h: _masked(raw_value(row[h], sensitive=h in self.sensitive_headers))
                                     for h in headers}, ensure_ascii=False)
            for row in raw.iter_rows(named=True)
        }
        first = pl.int_range(pl.len()).over("_row") == 0
        rows = rejects.with_columns(
            pl.when(first).then(pl.col("_row").replace_strict(originals, default=None, return_dtype=pl.String))
            .alias("raw"))
        self.loader.insert("batch_rejects", rows.select(
            pl.lit(self.batch_id).alias("batch_id"), pl.col("_row").cast(pl.Int32).alias("row"),
            "field", "reason", "value", "raw"))


def _masked(value: str | None) -> str | None:
    return mask_id_numbers(value) if value else value


def stored_text(values: pl.Series) -> pl.Series:
    """Reject texts as stored: ID numbers anywhere in them masked (a reason quoting an ID typed into a date or
    amount column), and what no text column holds (NUL from JSON's \\u0000) scrubbed by the ORM path's rule."""
    suspect = values.str.contains(r"[0-9]{17}[0-9Xx]|\x00").fill_null(False)
    if not suspect.any():
        return values
    fixed = {v: mask_id_numbers(scrub_text(v)) for v in values.filter(suspect).unique().to_list()}
    return values.replace(fixed)
