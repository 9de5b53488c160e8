"""The loader's bulk insert writes exactly the frame it is given, on both databases: values equal for the
whole frame (which SQLite's loader puts into the statement as literals), quotes, NULLs, booleans, dates,
long text bound as bytes, and a frame whose rows are all alike."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import text
from sqlalchemy.orm import Session

from xinyong.ingest.loader import loader_for


def _table(db: Session) -> None:
    db.execute(text("DROP TABLE IF EXISTS loader_probe"))  # a temporary table lives as long as its connection
    db.execute(text("CREATE TEMPORARY TABLE loader_probe (id INTEGER, code VARCHAR(50), note TEXT, flag BOOLEAN, "
                    "on_day DATE, amount INTEGER)"))
    db.flush()


def test_constant_and_varying_columns_round_trip(db: Session) -> None:
    _table(db)
    frame = pl.DataFrame({
        "id": [1, 2, 3],
        "code": ["it's", "it's", "it's"],  # constant, with a quote
        "note": ["长" * 100, "长" * 100 + "'", None],  # long text: bound as bytes
        "flag": [True, True, True],
        "on_day": [date(2025, 1, 2)] * 3,
        "amount": [None, None, None],
    }, schema_overrides={"amount": pl.Int64})
    loader = loader_for(db)
    loader.insert("loader_probe", frame)
    loader.close()
    rows = db.execute(text("SELECT id, code, note, flag, on_day, amount FROM loader_probe ORDER BY id")).all()
    assert [r[0] for r in rows] == [1, 2, 3]
    assert {r[1] for r in rows} == {"it's"}
    assert [r[2] for r in rows] == ["长" * 100, "长" * 100 + "'", None]
    assert all(bool(r[3]) for r in rows)
    assert {str(r[4]) for r in rows} == {"2025-01-02"}
    assert {r[5] for r in rows} == {None}


def test_a_frame_of_identical_rows_writes_every_row(db: Session) -> None:
    _table(db)
    loader = loader_for(db)
    loader.insert("loader_probe", pl.DataFrame({"id": [7, 7, 7], "code": ["x", "x", "x"]}))
    loader.close()
    assert db.execute(text("SELECT count(*) FROM loader_probe WHERE id = 7 AND code = 'x'")).scalar() == 3
