"""Publication windows and timeliness for a chunk, vectorised over the rules in catalog/rules.py.

Severity classes are decided per distinct (penalty type, explicit class) pair by catalog.rules.severity_class
(there are few distinct pairs); the windows are then date arithmetic in Polars (offset_by clamps to the
month end exactly like rules.add_months). Working days use core.calendar.workday_ordinals.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import polars as pl

from xinyong.catalog import rules
from xinyong.catalog.schemas import CatalogItem
from xinyong.core.calendar import generation, workday_ordinals

# Working days are counted from this date on; older decisions are late by any measure and the holiday
# tables do not go further back.
TIMELINESS_FROM = date(2004, 1, 1)


def severity_overrides(item: CatalogItem, dept_code: str, dept_name: str) -> dict[str, str]:
    """A department's reclassification of penalty types (catalog: publication.department_classes, by code or name)."""
    rule = item.publication
    merged = rule.classes_for(dept_name)
    merged.update(rule.classes_for(dept_code))
    return merged


def _months(col: pl.Expr, months: pl.Expr) -> pl.Expr:
    return col.dt.offset_by(pl.format("{}mo", months))


def window_columns(item: CatalogItem, frame: pl.DataFrame, *, overrides: dict[str, str], today: date) -> pl.DataFrame:
    """Adds _severity, _publish_from, _publish_until (Date), _report_workdays (Int32) and _late (Boolean)."""
    rule = item.publication
    cols = set(frame.columns)

    def date_of(name: str | None) -> pl.Expr:
        return pl.col(f"_d_{name}") if name and f"_d_{name}" in cols else pl.lit(None, pl.Date)

    decided = date_of(item.date_field)
    severity = pl.lit(None, pl.String)
    start: pl.Expr = pl.lit(None, pl.Date)
    until: pl.Expr = pl.lit(None, pl.Date)
    if rule.rule == "severity":
        types = frame.get_column(rule.type_field) if rule.type_field in cols else pl.Series([None] * frame.height,
                                                                                           dtype=pl.String)
        explicit = frame.get_column(rule.class_field) if rule.class_field in cols else pl.Series(
            [None] * frame.height, dtype=pl.String)
        pairs = pl.DataFrame({"t": types, "c": explicit}, schema={"t": pl.String, "c": pl.String})
        distinct = pairs.unique()
        table = {
            (t, c): rules.severity_class(t, c, rule.default_classes, rule.default_class, overrides)
            for t, c in distinct.iter_rows()
        }
        mapped = pl.DataFrame(
            {"t": [k[0] for k in table], "c": [k[1] for k in table], "cls": list(table.values())},
            schema={"t": pl.String, "c": pl.String, "cls": pl.String},
        )
        cls = pairs.join(mapped, on=["t", "c"], how="left", nulls_equal=True, maintain_order="left").get_column("cls")
        severity = pl.lit(cls)
        lo = severity.replace_strict(dict(rules.MIN_MONTHS), return_dtype=pl.Int32)
        hi = severity.replace_strict(dict(rules.MAX_MONTHS), return_dtype=pl.Int32)
        default = severity.replace_strict(dict(rules.DEFAULT_MONTHS), return_dtype=pl.Int32)
        requested = date_of(rule.until_field)
        capped = pl.min_horizontal(pl.max_horizontal(requested, _months(decided, lo)), _months(decided, hi))
        published = hi > 0
        start = pl.when(published).then(decided)
        until = pl.when(published).then(pl.when(requested.is_not_null()).then(capped)
                                        .otherwise(_months(decided, default)))
    elif rule.rule == "validity":
        start = pl.coalesce(date_of(rule.start_field), decided, pl.lit(today))
        end = date_of(rule.end_field)
        until = pl.when(end.is_not_null() & (end < pl.lit(rules.LONG_TERM))).then(end + timedelta(days=1))
    elif rule.rule == "fixed":
        start = pl.coalesce(date_of(rule.start_field), decided)
        until = _months(start, pl.lit(rule.months or 0))
    elif rule.rule == "permanent":
        start = pl.coalesce(decided, pl.lit(today))
    out = frame.with_columns(severity.alias("_severity"), start.cast(pl.Date).alias("_publish_from"),
                             until.cast(pl.Date).alias("_publish_until"))
    return out.with_columns(*_timeliness(item, out, decided, today))


def _timeliness(item: CatalogItem, frame: pl.DataFrame, decided: pl.Expr, today: date) -> list[pl.Expr]:
    limit = item.timeliness_workdays
    if limit is None or frame.height == 0:
        return [pl.lit(None, pl.Int32).alias("_report_workdays"), pl.lit(False).alias("_late")]
    dates = frame.select(decided.alias("d")).get_column("d")
    earliest = dates.min()
    first = max(earliest, TIMELINESS_FROM) if isinstance(earliest, date) else today
    first = min(first, today)
    table = _ordinals(first, today, generation())
    offset = (decided - pl.lit(first)).dt.total_days()
    counted = decided.is_not_null() & (decided >= pl.lit(first)) & (decided <= pl.lit(today))
    idx = pl.when(counted).then(offset).otherwise(0)
    workdays = pl.when(counted).then(pl.lit(int(table[-1])) - pl.lit(table).gather(idx))
    late = pl.when(decided.is_null()).then(False).when(decided < pl.lit(first)).then(True).otherwise(
        workdays.fill_null(0) > limit)
    return [workdays.cast(pl.Int32).alias("_report_workdays"), late.alias("_late")]


@lru_cache(maxsize=16)
def _ordinals(first: date, last: date, _generation: int) -> pl.Series:
    """core.calendar.workday_ordinals as a column; the chunks of a batch (and the batches of a day) mostly ask
    for the same span, ~1,800 days back to the oldest decision date, which costs 2,000 calendar lookups."""
    _, ordinals = workday_ordinals(first, last)
    return pl.Series("o", ordinals, dtype=pl.Int32)
