"""Property tests for the vectorised cleaning: dates, amounts, NFKC shortcut, JSON escaping."""

from __future__ import annotations

import json
import unicodedata
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.ingest import normalise as nz

DATES = st.dates(min_value=date(1927, 6, 1), max_value=date(2099, 12, 31))


def _forms(d: date) -> list[str]:
    return [d.isoformat(), f"{d.year}/{d.month}/{d.day}", f"{d.year}.{d.month}.{d.day}",
            f"{d.year}年{d.month}月{d.day}日", f"{d:%Y%m%d}", f" {d.year}年{d.month:02d}月{d.day:02d}日 ",
            f"{d.isoformat()} 08:30:00", str((d - date(1899, 12, 30)).days),
            f"{(d - date(1899, 12, 30)).days}.0", f"{d.isoformat()}".translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))]


@given(DATES)
def test_every_date_form_parses_to_the_same_day(d: date) -> None:
    values = pl.Series("v", _forms(d))
    assert nz.parse_dates(nz.clean_series(values)).to_list() == [d] * len(values)


@given(st.integers(1900, 2100), st.integers(1, 12), st.integers(29, 31))
def test_days_that_do_not_exist_are_null(year: int, month: int, day: int) -> None:
    try:
        date(year, month, day)
        return
    except ValueError:
        pass
    assert nz.parse_date(f"{year}-{month}-{day}") is None
    assert nz.parse_date(f"{year}年{month}月{day}日") is None


@given(st.text(max_size=12))
def test_date_parser_never_raises(text: str) -> None:
    value = nz.parse_date(text)
    assert value is None or value >= nz.EARLIEST_DATE


def _canonical(value: Decimal) -> str:
    q = value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP).normalize()
    text = format(q, "f")
    return "0" if q == 0 else text


AMOUNTS = st.decimals(min_value=0, max_value=Decimal("999999999"), places=8, allow_nan=False, allow_infinity=False)


@given(AMOUNTS)
def test_amounts_in_wan_yuan(value: Decimal) -> None:
    plain = format(value, "f")
    grouped = f"{value:,f}"
    assert nz.parse_amount(plain) == _canonical(value)
    assert nz.parse_amount(grouped) == _canonical(value)
    assert nz.parse_amount(plain + "万元") == _canonical(value)


@given(st.decimals(min_value=0, max_value=Decimal("99999999999"), places=2, allow_nan=False, allow_infinity=False))
def test_amounts_in_yuan_are_converted_exactly(value: Decimal) -> None:
    assert nz.parse_amount(f"{value:,f}元") == _canonical(value / 10000)


@given(AMOUNTS.filter(lambda v: v > Decimal("0.0000005")))
def test_negative_amounts_are_refused(value: Decimal) -> None:
    assert nz.parse_amount("-" + format(value, "f")) is None


@settings(max_examples=300)
@given(st.text())
def test_clean_series_equals_nfkc_and_strip(text: str) -> None:
    expected = "".join(ch for ch in unicodedata.normalize("NFKC", text)
                       if ch not in "\u200b\u200c\u200d\u2060\ufeff\u00ad" and not (
                           ord(ch) < 32 and ch not in "\t\n\r") and ch != "\x7f").strip()
    got = nz.clean_series(pl.Series([text])).item()
    assert got == (expected or None) or got == (unicodedata.normalize("NFKC", expected).strip() or None)


def test_the_nfkc_shortcut_only_skips_stable_characters() -> None:
    chars = pl.Series([chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF])
    skipped = chars.filter(~chars.str.contains(nz._NEEDS_NFKC)).to_list()
    assert len(skipped) > 20000
    for ch in skipped:
        assert unicodedata.normalize("NFKC", ch) == ch and not unicodedata.combining(ch), hex(ord(ch))


@given(st.text())
def test_json_escape_matches_json_dumps(text: str) -> None:
    got = nz.json_escape_series(pl.Series([text])).item()
    assert f'"{got}"' == json.dumps(text, ensure_ascii=False)


def test_excel_serial_numbers() -> None:
    assert nz.parse_date("45356") == date(2024, 3, 5)
    assert nz.parse_date("2024") is None  # four digits are a year, not a serial number
    assert nz.parse_date("1899-12-31") is None
    assert nz.parse_date("2099/12/31") == date(2099, 12, 31)
    assert date(2099, 12, 31) - timedelta(days=1) == date(2099, 12, 30)
