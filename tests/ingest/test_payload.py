"""The chunk-wise hashes equal records.rules one value at a time (the bulk path must name records alike)."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from xinyong.ingest.payload import content_hashes, record_keys
from xinyong.records import rules

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(st.lists(TEXT, min_size=1, max_size=20))
def test_content_hashes_equal_the_rule(payloads: list[str]) -> None:
    got = content_hashes("admin_penalty", pl.Series("payload", payloads, dtype=pl.String)).to_list()
    assert got == [rules.content_hash("admin_penalty", p) for p in payloads]


@given(st.lists(st.tuples(st.one_of(st.none(), TEXT), TEXT, TEXT), min_size=1, max_size=20))
def test_record_keys_equal_the_rule(rows: list[tuple[str | None, str, str]]) -> None:
    nos, subjects, hashes = (pl.Series(list(col), dtype=pl.String) for col in zip(*rows, strict=True))
    got = record_keys(7, "admin_penalty", nos, subjects, hashes).to_list()
    assert got == [rules.record_key(7, "admin_penalty", n, s, h) for n, s, h in rows]  # "" counts as no number
