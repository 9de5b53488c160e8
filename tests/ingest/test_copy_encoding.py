"""The loader's hand-written COPY text (kept for speed) writes exactly what psycopg's own COPY writer writes for
the same, scrubbed values; and PostgreSQL reads it back as those values."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg._copy_base import TextFormatter
from psycopg.adapt import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from xinyong.core.db import NUL_SHOWN_AS, scrub_text
from xinyong.ingest.loader import scrubbed, text_format

PIECES = ["\x00", "\\", "\\N", "\t", "\n", "\r", "\r\n", "\b", "\v", "\f", '"', ",", " ", "N", "a", "中", "\U0001f600",
          "\x7f", "\x1b", "\u2028"]
HOSTILE = st.lists(st.sampled_from(PIECES), max_size=10).map("".join)
ROWS = st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.one_of(st.none(), HOSTILE), HOSTILE),
                min_size=1, max_size=8)


def _psycopg_copy(rows: list[tuple[object, ...]]) -> bytes:
    """psycopg's own COPY text for the rows: what `Copy.write_row` sends."""
    formatter = TextFormatter(Transformer())
    out = bytearray()
    for row in rows:
        out += formatter.write_row(row)
    out += formatter.end()
    return bytes(out)


def _frame(rows: list[tuple[int, str | None, str]]) -> pl.DataFrame:
    return pl.DataFrame({"id": [r[0] for r in rows], "a": [r[1] for r in rows], "b": [r[2] for r in rows]},
                        schema={"id": pl.Int64, "a": pl.String, "b": pl.String})


@settings(max_examples=300, deadline=None)
@given(rows=ROWS)
def test_loader_copy_text_equals_psycopg_encoding_of_the_scrubbed_values(rows: list[tuple[int, str | None, str]]) -> None:
    scrubbed = [(i, None if a is None else scrub_text(a), scrub_text(b)) for i, a, b in rows]
    assert text_format(_frame(rows)) == _psycopg_copy(scrubbed)


def test_lone_surrogates_never_reach_the_loader_and_are_scrubbed_on_the_orm_path() -> None:
    """Polars holds UTF-8 only: a lone surrogate (JSON's "\\ud800") cannot enter a frame; the readers decode
    strictly, and the shared scrub shows one as U+FFFD, as for NUL."""
    with pytest.raises(UnicodeEncodeError):
        pl.Series(["a\ud800"], dtype=pl.String)
    assert scrub_text("a\ud800b\x00\udfff") == f"a{NUL_SHOWN_AS}b{NUL_SHOWN_AS}{NUL_SHOWN_AS}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS)
def test_the_database_reads_the_loader_rows_back_as_the_scrubbed_values(
        db: Session, rows: list[tuple[int, str | None, str]]) -> None:
    conn = db.connection()
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS copy_probe (id bigint, a text, b text)")
    conn.exec_driver_sql("DELETE FROM copy_probe")
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy("COPY copy_probe (id, a, b) FROM STDIN") as copy:  # type: ignore[union-attr]
            copy.write(text_format(_frame(rows)))
    else:  # the SQLite loader's rows: the same scrub before executemany
        raw.executemany("INSERT INTO copy_probe VALUES (?, ?, ?)", scrubbed(_frame(rows)).rows())  # type: ignore[union-attr]
    order = "ctid" if conn.dialect.name == "postgresql" else "rowid"
    back = [tuple(r) for r in db.execute(text(f"SELECT id, a, b FROM copy_probe ORDER BY {order}"))]
    assert back == [(i, None if a is None else scrub_text(a), scrub_text(b)) for i, a, b in rows]
    db.rollback()
