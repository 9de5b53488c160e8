"""Dirty rows, vectorised: a share of rows gets one dirt kind each, chosen by a hash of the row number.

Fixable kinds (full-width or spaced codes, other date forms, Excel serial numbers, thousands separators,
padded names, spaced ID numbers) must be accepted after normalisation; bad ones (wrong check characters,
impossible or future dates, missing required values, negative amounts, unknown enumeration values) must
be rejected. Only kinds that fit the row are chosen (no code to break in a row without one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from xinyong.demo.vsubjects import mix

FIXABLE = ("uscc_fullwidth", "uscc_lower_spaced", "date_form", "amount_thousands", "id_spaced", "name_padded")
BAD = ("uscc_check", "date_impossible", "date_future", "missing_required", "amount_negative", "enum_unknown",
       "id_check")  # fmt: skip
UNKNOWN_ENUM = {"penalty_type": "罚没款", "license_category": "特殊许可", "status": "暂停", "rating": "AA"}
EXCEL_EPOCH = date(1899, 12, 30)
_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))
_FULL = "".join(chr(c + 0xFEE0) for c in range(0x21, 0x7F))
C = pl.col


@dataclass
class ItemShape:
    """What the dirt and the writers need to know of a catalog item."""

    code: str
    name: str
    fields: list[tuple[str, str]]  # (name, label)
    date_field: str | None  # the required decision-date field
    amount_field: str | None
    enum_fields: tuple[str, ...]
    date_fields: tuple[str, ...] = ()  # every date-typed field


def _present(name: str, df: pl.DataFrame) -> pl.Expr:
    if name not in df.columns:
        return pl.lit(False)
    return C(name).is_not_null() & (C(name).cast(pl.String) != "")


def add_dirt(df: pl.DataFrame, shape: ItemShape, *, seed: int, stream: int, share: float, today: date,
             xlsx: bool) -> pl.DataFrame:
    """df with some rows dirtied and a column "dirt" (the kind, null for clean rows)."""
    threshold = int(share * 1_000_000)
    if threshold <= 0:
        return df.with_columns(dirt=pl.lit(None, pl.String))
    for name, _ in shape.fields:
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, pl.String).alias(name))
    h = mix(seed, stream, C("row"))
    df = df.with_columns(_h=(h // 1_000_000).cast(pl.Int64), _sel=h % 1_000_000 < threshold)
    day = shape.date_field
    fits = {"uscc": _present("uscc", df), "date": pl.lit(day is not None) & (C(day).is_not_null() if day else False),
            "amount": _present(shape.amount_field, df) if shape.amount_field else pl.lit(False),
            "id": _present("id_no", df),
            "enum": pl.any_horizontal([_present(f, df) for f in shape.enum_fields] or [pl.lit(False)])}  # fmt: skip

    def fit(kind: str) -> pl.Expr:
        group = {"uscc": "uscc", "date": "date", "amou": "amount", "id_s": "id", "id_c": "id", "enum": "enum"}
        key = group.get(kind[:4])
        return fits[key] if key else pl.lit(True)

    def choose(kinds: tuple[str, ...]) -> pl.Expr:
        count = pl.sum_horizontal([fit(k).cast(pl.Int64) for k in kinds])
        target = (C("_h") // 2) % count.clip(1)
        chosen = pl.lit(None, pl.String)
        seen = pl.lit(0, pl.Int64)
        for k in kinds:
            chosen = pl.when(fit(k) & (seen == target)).then(pl.lit(k)).otherwise(chosen)
            seen = seen + fit(k).cast(pl.Int64)
        return chosen

    # Only the few dirty rows go through the dirt expressions; their new values are scattered back.
    if day:
        df = df.with_columns(C(day).dt.strftime("%Y-%m-%d").alias("_day_text"))
    df = df.with_row_index("_pos")
    dirty = df.filter(C("_sel")).with_columns(dirt=pl.when(C("_h") % 2 == 0).then(choose(FIXABLE))
                                              .otherwise(choose(BAD)))  # fmt: skip
    dirty = _apply(dirty, shape, today, xlsx)
    touched = {"subject_name", "dirt", *(c for c in ("uscc", "id_no", day, shape.amount_field) if c in df.columns),
               *shape.enum_fields}  # fmt: skip
    base = df.with_columns(dirt=pl.lit(None, pl.String), **({day: C("_day_text")} if day else {}))
    out = base.with_columns(base[c].cast(pl.String).scatter(dirty["_pos"], dirty[c]).alias(c) for c in touched if c)
    return out.drop("_h", "_sel", "_pos", *(["_day_text"] if day else []))


def _apply(df: pl.DataFrame, shape: ItemShape, today: date, xlsx: bool) -> pl.DataFrame:
    kind, h = C("dirt"), C("_h") // 256
    out: dict[str, pl.Expr] = {}
    uscc = C("uscc").cast(pl.String)
    if "uscc" in df.columns:
        spaced = pl.concat_str(pl.lit(" "), uscc.str.slice(0, 6).str.to_lowercase(), pl.lit(" "),
                               uscc.str.slice(6, 6).str.to_lowercase(), pl.lit("-"),
                               uscc.str.slice(12).str.to_lowercase(), pl.lit(" "))  # fmt: skip
        wrong = pl.concat_str(uscc.str.slice(0, 17), pl.when(uscc.str.slice(17) != "1").then(pl.lit("1")).otherwise(pl.lit("2")))
        out["uscc"] = (pl.when(kind == "uscc_fullwidth").then(uscc.str.replace_many(list(_ASCII), list(_FULL)))
                       .when(kind == "uscc_lower_spaced").then(spaced).when(kind == "uscc_check").then(wrong)
                       .otherwise(uscc))  # fmt: skip
    if "id_no" in df.columns:
        id_no = C("id_no").cast(pl.String)
        out["id_no"] = (pl.when(kind == "id_spaced").then(pl.concat_str(
            id_no.str.slice(0, 6), pl.lit(" "), id_no.str.slice(6, 8), pl.lit(" "), id_no.str.slice(14).str.to_lowercase()))
            .when(kind == "id_check").then(pl.concat_str(
                id_no.str.slice(0, 17), pl.when(id_no.str.slice(17) != "0").then(pl.lit("0")).otherwise(pl.lit("1"))))
            .otherwise(id_no))  # fmt: skip
    name = C("subject_name").cast(pl.String)
    out["subject_name"] = (pl.when(kind == "name_padded").then(pl.concat_str(pl.lit("  "), name, pl.lit("\u3000")))
                           .when(kind == "missing_required").then(pl.lit("")).otherwise(name))  # fmt: skip
    if shape.date_field:
        d = C(shape.date_field)
        forms = [d.dt.strftime("%Y/%-m/%-d"), d.dt.strftime("%Y.%-m.%-d"), d.dt.strftime("%Y年%-m月%-d日"),
                 d.dt.strftime("%Y%m%d")]  # fmt: skip
        if xlsx:  # an Excel serial number in a plain cell
            forms.append((d - pl.lit(EXCEL_EPOCH)).dt.total_days().cast(pl.String))
        form = pl.lit(None, pl.String)
        for k, each in enumerate(forms):
            form = pl.when(h % len(forms) == k).then(each).otherwise(form)
        future = (pl.lit(today) + pl.duration(days=400 + h % 1000)).dt.strftime("%Y-%m-%d")
        out[shape.date_field] = (pl.when(kind == "date_form").then(form)
                                 .when(kind == "date_impossible").then(pl.concat_str(_year(d), pl.lit("-02-30")))
                                 .when(kind == "date_future").then(future)
                                 .otherwise(d.dt.strftime("%Y-%m-%d")))  # fmt: skip
    if shape.amount_field:
        a = C(shape.amount_field).cast(pl.String)
        x = 1000 + h % 9000
        thousands = pl.concat_str((x // 1000).cast(pl.String), pl.lit(","), (x % 1000).cast(pl.String).str.zfill(3),
                                  pl.lit("."), ((h // 65536) % 100).cast(pl.String).str.zfill(2))  # fmt: skip
        out[shape.amount_field] = (pl.when(kind == "amount_thousands").then(thousands)
                                   .when(kind == "amount_negative").then(pl.concat_str(pl.lit("-"), a)).otherwise(a))
    enum_done = pl.lit(False)
    for f in shape.enum_fields:
        here = (kind == "enum_unknown") & ~enum_done & _present(f, df)
        out[f] = pl.when(here).then(pl.lit(UNKNOWN_ENUM[f])).otherwise(C(f).cast(pl.String))
        enum_done = enum_done | here
    return df.with_columns(**out)


def _year(d: pl.Expr) -> pl.Expr:
    return d.dt.year().cast(pl.String)
