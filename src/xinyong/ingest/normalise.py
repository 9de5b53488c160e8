"""Vectorised cleaning of raw cell values: text, codes, dates, amounts. Polars expressions only.

Every function takes a column name (or expression) of raw strings and returns an expression; nothing
here loops over rows in Python. The scalar twins used by tests and by the request path are the
`parse_date` / `parse_amount` helpers at the end, which run the same expressions on one value.
"""

from __future__ import annotations

import unicodedata
from datetime import date

import polars as pl

# What normalize_code() strips: every kind of whitespace and dash, and underscores. Literal characters
# rather than escapes so that Polars' (Rust) regex reads them exactly as Python's re does.
_CODE_STRIP = "[\\s\u200b\u200c\u200d\u2060\ufeff\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\u30fc\ufe58\ufe63\uff0d_]+"
# Invisible characters and C0 controls other than tab and line breaks never belong in a value.
_INVISIBLE = "[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"

_DATE_YMD = r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]+\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?)?$"
_DATE_COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
# Excel serial day numbers: 5 digits covers 1927-05-18 .. 2173-10-14, and cannot be mistaken for a year.
_DATE_SERIAL = r"^(\d{5})(?:\.\d+)?$"
_EXCEL_EPOCH = date(1899, 12, 30)
EARLIEST_DATE = date(1900, 1, 1)

_AMOUNT = r"^([+-]?)(\d*)(?:\.(\d+))?(万元|万|元)?$"
AMOUNT_MAX_DIGITS = 12  # 万元 before the decimal point: a trillion yuan is a typo, not a fine


# Full-width ASCII (and the ideographic space) are by far the commonest characters NFKC changes in Chinese
# files; a literal replacement handles them ten times faster than str.normalize.
_FULL_WIDTH = [chr(0xFF01 + i) for i in range(94)] + ["\u3000"]
_HALF_WIDTH = [chr(0x21 + i) for i in range(94)] + [" "]


def _stable(cp: int) -> bool:
    c = chr(cp)
    return not unicodedata.decomposition(c) and not unicodedata.combining(c) and unicodedata.normalize("NFKC", c) == c


def _stable_class() -> str:
    """Characters NFKC leaves alone that are common in Chinese text (CJK ideographs, CJK punctuation, quotes):
    a value made only of these and printable ASCII needs no normalisation. Anything else (compatibility
    ideographs, combining marks, invisible characters, …) sends the value through str.normalize."""
    singles = [cp for block in ((0x00A0, 0x0100), (0x2000, 0x2070), (0x3000, 0x3040)) for cp in range(*block)
               if _stable(cp) and unicodedata.category(chr(cp))[0] in "PS"]
    ranges = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), *((cp, cp) for cp in singles)]
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)


_NEEDS_NFKC = "[^\t\n\r\x20-\x7e" + _stable_class() + "]"
_JSON_SPECIAL = '["\\\\\x00-\x1f]'


def clean_series(values: pl.Series, *, code: bool = False) -> pl.Series:
    """Eager cleaning of one column, equal to NFKC + invisible characters removed + trimmed (codes: like
    identifiers.normalize_code); empty becomes null. Only values with a character outside printable ASCII
    and the NFKC-stable CJK set are touched: full-width ASCII by a literal replacement, the rest (rare) by
    str.normalize — one scan per column for the clean ones."""
    values = values.cast(pl.String)
    mask = values.str.contains(_NEEDS_NFKC).fill_null(False)
    hits = int(mask.sum())
    if hits * 2 > len(values):
        # Most values need it (Chinese prose with full-width punctuation): the replacement is a no-op on the
        # others, cheaper than gathering and scattering them.
        values = _nfkc_slow_path(values.str.replace_many(_FULL_WIDTH, _HALF_WIDTH))
    elif hits:
        idx = mask.arg_true()
        values = values.scatter(idx, _nfkc_slow_path(values.gather(idx).str.replace_many(_FULL_WIDTH, _HALF_WIDTH)))
    if code:
        values = values.str.replace_all(_CODE_STRIP, "").str.to_uppercase()
    else:
        values = values.str.strip_chars()
    return pl.select(pl.when(pl.lit(values).str.len_bytes() > 0).then(pl.lit(values))).to_series().alias(values.name)


def _nfkc_slow_path(values: pl.Series) -> pl.Series:
    """str.normalize for the values still holding characters NFKC may change (rare after full-width)."""
    still = values.str.contains(_NEEDS_NFKC).fill_null(False)
    if not still.any():
        return values
    sub = still.arg_true()
    return values.scatter(sub, values.gather(sub).str.normalize("NFKC").str.replace_all(_INVISIBLE, ""))


def parse_dates(values: pl.Series) -> pl.Series:
    """parse_date_expr over a cleaned column; the common ISO form takes a fast path."""
    fast = values.str.to_date("%Y-%m-%d", strict=False)
    todo = (fast.is_null() & values.is_not_null()).fill_null(False)
    if todo.any():
        idx = todo.arg_true()
        slow = pl.DataFrame({"v": values.gather(idx)}).select(parse_date_expr("v")).to_series()
        fast = fast.scatter(idx, slow)
    return pl.select(pl.when(pl.lit(fast) >= pl.lit(EARLIEST_DATE)).then(pl.lit(fast))).to_series().alias(values.name)


def parse_amounts(values: pl.Series) -> pl.DataFrame:
    """Amounts of a cleaned column in 万元: value (canonical string), malformed, negative, yuan (given in 元).

    Canonical: no separators or leading zeros, rounded half up to 6 decimals (0.01 元; Excel's float
    artefacts such as 4.3100000000000005 become 4.31), no trailing fractional zeros ("1,200.50" -> "1200.5").
    An amount written in 元 is divided by 10,000 exactly, by moving the decimal point ("5000元" -> "0.5").
    Intermediate columns are materialised so that no expression is evaluated twice.
    """
    frame = pl.DataFrame({"v": values}).with_columns(amount_parts("v").alias("p")).unnest("p")
    frame = frame.rename({"1": "sign", "2": "whole", "3": "frac", "4": "unit"})
    frame = frame.with_columns(pl.col("whole").fill_null(""), pl.col("frac").fill_null(""),
                               (pl.col("unit") == "元").fill_null(False).alias("yuan"))
    frame = frame.with_columns(pl.col("whole").str.zfill(5).alias("padded"))
    frame = frame.with_columns(
        pl.when(pl.col("yuan")).then(pl.col("padded").str.head(-4)).otherwise(pl.col("whole"))
        .str.strip_chars_start("0").alias("int"),
        pl.when(pl.col("yuan")).then(pl.col("padded").str.tail(4) + pl.col("frac")).otherwise(pl.col("frac"))
        .alias("dec"),
    )
    frame = frame.with_columns(
        (pl.col("sign").is_not_null() & ((pl.col("whole") != "") | (pl.col("frac") != ""))
         & (pl.col("int").str.len_bytes() <= AMOUNT_MAX_DIGITS)).fill_null(False).alias("ok"))
    frame = frame.with_columns(pl.when(pl.col("ok")).then(
        pl.when(pl.col("int") == "").then(pl.lit("0")).otherwise(pl.col("int")).cast(pl.Int64) * 1_000_000
        + pl.col("dec").str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int64)
        + (pl.col("dec").str.slice(6, 1) >= "5").cast(pl.Int64)).alias("units"))
    frame = frame.with_columns((pl.col("units") // 1_000_000).cast(pl.String).alias("i"),
                               (pl.col("units") % 1_000_000).cast(pl.String).str.zfill(6)
                               .str.strip_chars_end("0").alias("f"))
    frame = frame.with_columns(
        pl.when(pl.col("f") != "").then(pl.col("i") + "." + pl.col("f")).otherwise(pl.col("i")).alias("value"))
    return frame.select(
        pl.when(pl.col("ok")).then(pl.col("value")).alias("value"),
        (~pl.col("ok") & pl.col("v").is_not_null()).alias("malformed"),
        (pl.col("ok") & (pl.col("sign") == "-") & (pl.col("units") != 0)).fill_null(False).alias("negative"),
        (pl.col("ok") & pl.col("yuan")).alias("yuan"),
    )


def json_escape_series(values: pl.Series) -> pl.Series:
    """json_escape on a column, skipped when no value holds a character JSON escapes."""
    mask = values.str.contains(_JSON_SPECIAL).fill_null(False)
    hits = int(mask.sum())
    if not hits:
        return values
    if hits * 4 > len(values):
        return pl.select(json_escape(pl.lit(values))).to_series().alias(values.name)
    # Few values need it (a quote in a case description): escape only those, as clean_series does.
    idx = mask.arg_true()
    escaped = pl.select(json_escape(pl.lit(values.gather(idx)))).to_series()
    return values.scatter(idx, escaped).alias(values.name)


def parse_date_expr(col: str | pl.Expr) -> pl.Expr:
    """A Date from every form departments use; null when the (already cleaned) text is not a real date.

    2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日 (optionally with a time), 20240305, and Excel serial
    numbers (45356 or 45356.0). Dates before 1900 count as invalid.
    """
    e = pl.col(col) if isinstance(col, str) else col
    e = e.str.replace_all(r"\s+", " ")
    ymd = e.str.extract_groups(_DATE_YMD)
    compact = e.str.extract_groups(_DATE_COMPACT)
    y = pl.coalesce(ymd.struct.field("1"), compact.struct.field("1"))
    m = pl.coalesce(ymd.struct.field("2"), compact.struct.field("2"))
    d = pl.coalesce(ymd.struct.field("3"), compact.struct.field("3"))
    iso = pl.concat_str([y, pl.lit("-"), m.str.zfill(2), pl.lit("-"), d.str.zfill(2)])
    parsed = iso.str.to_date("%Y-%m-%d", strict=False)
    serial = e.str.extract(_DATE_SERIAL, 1).cast(pl.Int64, strict=False)
    from_serial = pl.lit(_EXCEL_EPOCH) + pl.duration(days=serial)
    out = pl.coalesce(parsed, from_serial.cast(pl.Date))
    return pl.when(out >= pl.lit(EARLIEST_DATE)).then(out)


def amount_parts(col: str | pl.Expr) -> pl.Expr:
    """Struct of sign, integer digits, fraction digits and unit of an amount, or null fields if malformed.

    Accepts thousands separators, a currency sign, spaces, and a trailing 万元 / 万 / 元.
    """
    e = pl.col(col) if isinstance(col, str) else col
    e = e.str.replace_all(r"[,\s¥]|人民币|\(|\)", "")
    return e.str.extract_groups(_AMOUNT)


def json_escape(col: str | pl.Expr) -> pl.Expr:
    """The body of a JSON string exactly as json.dumps(ensure_ascii=False) writes it."""
    e = pl.col(col) if isinstance(col, str) else col
    patterns = ["\\", '"', "\n", "\r", "\t", "\b", "\f"]
    replacements = ["\\\\", '\\"', "\\n", "\\r", "\\t", "\\b", "\\f"]
    for c in range(0x20):
        ch = chr(c)
        if ch not in patterns:
            patterns.append(ch)
            replacements.append(f"\\u{c:04x}")
    return e.str.replace_many(patterns, replacements)


# ---- scalar twins (tests, request path) ------------------------------------------------------------


def parse_date(raw: str | None) -> date | None:
    value = parse_dates(clean_series(pl.Series("v", [raw], dtype=pl.String))).item()
    return value if isinstance(value, date) else None


def parse_amount(raw: str | None) -> str | None:
    """The canonical 万元 amount of one value; None when malformed or negative."""
    out = parse_amounts(clean_series(pl.Series("v", [raw], dtype=pl.String))).row(0)
    return None if out[1] or out[2] else out[0]
