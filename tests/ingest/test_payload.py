"""The chunk-wise payloads and hashes equal the request path's, one value at a time (the bulk path must
write and name records alike)."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from xinyong.catalog.service import get_catalog
from xinyong.ingest.payload import (
    LAST_VALUE,
    content_hashes,
    escape_columns,
    last_value_expr,
    payload_expr,
    record_keys,
)
from xinyong.records import rules
from xinyong.records.service import catalog_fields, payload_text

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
FIELDS = catalog_fields(get_catalog().get("admin_penalty"))


@given(st.lists(TEXT, min_size=1, max_size=20))
def test_content_hashes_equal_the_rule(payloads: list[str]) -> None:
    got = content_hashes("admin_penalty", pl.Series("payload", payloads, dtype=pl.String)).to_list()
    assert got == [rules.content_hash("admin_penalty", p) for p in payloads]


@given(st.lists(st.tuples(st.one_of(st.none(), TEXT), TEXT, TEXT), min_size=1, max_size=20))
def test_record_keys_equal_the_rule(rows: list[tuple[str | None, str, str]]) -> None:
    nos, subjects, hashes = (pl.Series(list(col), dtype=pl.String) for col in zip(*rows, strict=True))
    got = record_keys(7, "admin_penalty", nos, subjects, hashes)
    want = [rules.record_key(7, "admin_penalty", n, s, h) for n, s, h in rows]  # "" counts as no number
    assert got.get_column("record_key").to_list() == want
    assert got.get_column("key64").to_list() == [rules.key64(k) for k in want]


def test_key64_is_the_first_eight_bytes_big_endian_signed() -> None:
    assert rules.key64("0000000000000001" + "f" * 16) == 1
    assert rules.key64("7fffffffffffffff" + "0" * 16) == 2**63 - 1
    assert rules.key64("8000000000000000" + "0" * 16) == -(2**63)
    assert rules.key64("ffffffffffffffff" + "0" * 16) == -1


@given(st.sets(st.sampled_from(FIELDS)).flatmap(lambda present: st.tuples(
    st.just(sorted(present)),
    st.lists(st.fixed_dictionaries({n: st.one_of(st.none(), st.just(""), TEXT) for n in sorted(present)}),
             min_size=1, max_size=8))))
def test_positional_payloads_equal_the_request_path(case: tuple[list[str], list[dict[str, str | None]]]) -> None:
    """Any subset of the item's columns in the file, nulls, empty strings and any characters JSON escapes."""
    present, rows = case
    item = get_catalog().get("admin_penalty")
    frame = pl.DataFrame(rows, schema={n: pl.String for n in present}) if present else pl.DataFrame({"_": [0] * len(rows)})
    escaped = escape_columns(frame, present).with_columns(last_value_expr(item, set(present)).alias(LAST_VALUE))
    got = escaped.with_columns(payload_expr(item, set(present)).alias("payload")).get_column("payload").to_list()
    assert got == [payload_text(FIELDS, row) for row in rows]
