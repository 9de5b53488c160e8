"""Bulk loading behind one small interface, one implementation per database.

Both work on the session's own DBAPI connection, inside the caller's transaction: what they write
commits or rolls back with everything else.

- PostgreSQL: `COPY ... FROM STDIN (FORMAT csv)` fed with CSV that Polars writes in one call per frame.
  COPYs run on a worker thread in submission order, so the server (its own process, the second core)
  loads chunk N while Python prepares chunk N+1. Any other statement first waits for the queue to
  drain (`flush`), so the connection is never used by two threads at once.
- SQLite: `executemany` in the same transaction (the pragmas in core/db.py make large batches cheap).
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from xinyong.core.db import dialect_name


class Loader(ABC):
    dialect: str

    def __init__(self, session: Session) -> None:
        session.flush()
        self.session = session
        self.conn: Any = session.connection().connection.driver_connection

    @abstractmethod
    def insert(self, table: str, frame: pl.DataFrame) -> None:
        """Append the frame's rows (columns named as the table's); may return before the rows are written."""

    @abstractmethod
    def reserve_ids(self, table: str, n: int) -> pl.Series:
        """n fresh primary keys for table."""

    @abstractmethod
    def _any(self, column: str) -> str:
        """SQL that tests column against a list bound as one parameter."""

    @abstractmethod
    def _bind_list(self, values: Sequence[object]) -> object: ...

    def flush(self) -> None:  # noqa: B027 - synchronous loaders have nothing to wait for
        """Wait until every submitted insert is written; raises the first error of the worker."""

    def close(self) -> None:
        self.flush()

    def abort(self) -> None:  # noqa: B027
        """Stop after an error elsewhere; pending writes are dropped (the transaction rolls back)."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        self.flush()
        cur = self.conn.cursor()
        try:
            cur.execute(self._placeholders(sql), tuple(params))
            return list(cur.fetchall())
        finally:
            cur.close()

    def execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        self.flush()
        cur = self.conn.cursor()
        try:
            cur.executemany(self._placeholders(sql), [tuple(r) for r in rows])
        finally:
            cur.close()

    def update_in(self, sql_head: str, column: str, values: Sequence[object]) -> None:
        """`sql_head WHERE column IN values` (an UPDATE or DELETE), values bound as one parameter."""
        if not values:
            return
        self.flush()
        cur = self.conn.cursor()
        try:
            cur.execute(self._placeholders(f"{sql_head} WHERE {self._any(column)}"), (self._bind_list(values),))
        finally:
            cur.close()

    def lookup(self, sql_head: str, column: str, values: Sequence[object], tail: str = "") -> list[tuple[Any, ...]]:
        """`sql_head WHERE column IN values tail` with the values bound as one parameter."""
        if not values:
            return []
        return self.query(f"{sql_head} WHERE {self._any(column)} {tail}", [self._bind_list(values)])

    def _placeholders(self, sql: str) -> str:
        return sql


_BYTES_OVER = 64  # mean UTF-8 length above which a text column is bound as bytes
_SLICE_ROWS = 5_000


def _row_tuples(frame: pl.DataFrame) -> Iterator[tuple[Any, ...]]:
    """The frame's rows as tuples: whole columns to Python lists and zipped (cheaper than iter_rows), a
    slice at a time so that only a few thousand rows exist as Python objects at once."""
    for start in range(0, frame.height, _SLICE_ROWS):
        part = frame.slice(start, _SLICE_ROWS)
        yield from zip(*[s.to_list() for s in part.get_columns()], strict=True)


class SQLiteLoader(Loader):
    dialect = "sqlite"

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._next: dict[str, int] = {}

    def insert(self, table: str, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        # The text forms SQLAlchemy itself writes to SQLite for Date and DateTime columns.
        frame = frame.with_columns(
            [pl.col(c).cast(pl.String) for c, t in frame.schema.items() if t == pl.Date]
            + [pl.col(c).dt.replace_time_zone(None).dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
               for c, t in frame.schema.items() if isinstance(t, pl.Datetime)])
        # Long text (the payload) goes in as its UTF-8 bytes and SQLite's CAST makes it TEXT again: no
        # Python str is built from Polars' UTF-8 only for sqlite3 to encode it back (~1 KB a record).
        as_bytes = {c for c, t in frame.schema.items()
                    if t == pl.String and (frame.select(pl.col(c).str.len_bytes().mean()).item() or 0) > _BYTES_OVER}
        if as_bytes:
            frame = frame.with_columns([pl.col(c).cast(pl.Binary) for c in as_bytes])
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        marks = ", ".join("CAST(? AS TEXT)" if c in as_bytes else "?" for c in frame.columns)
        cur = self.conn.cursor()
        try:
            cur.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', _row_tuples(frame))
        finally:
            cur.close()

    def reserve_ids(self, table: str, n: int) -> pl.Series:
        # The batch row is written before any reservation, so this transaction holds SQLite's write
        # lock: nobody else can take these ids before commit.
        start = self._next.get(table)
        if start is None:
            row = self.query(f'SELECT coalesce(max(id), 0) FROM "{table}"')
            start = int(row[0][0]) + 1
        self._next[table] = start + n
        return pl.int_range(start, start + n, dtype=pl.Int64, eager=True)

    def _any(self, column: str) -> str:
        return f"{column} IN (SELECT value FROM json_each(?))"

    def _bind_list(self, values: Sequence[object]) -> object:
        return json.dumps(list(values), ensure_ascii=False)

    def _placeholders(self, sql: str) -> str:
        return sql.replace("%s", "?")


_STOP = object()
_PLAIN = re.compile(r"[0-9A-Za-z]*")
_TEXT_SPECIAL = "[\\\\\t\n\r]"
_TEXT_FROM = ["\\", "\t", "\n", "\r"]
_TEXT_TO = ["\\\\", "\\t", "\\n", "\\r"]


def text_format(frame: pl.DataFrame) -> bytes:
    """The frame in COPY's text format: tab-separated, \\N for null, backslash escapes.

    Measured against CSV on the records table: about a third faster for the server to parse, because the
    JSON payload's many double quotes need no quoting. Polars writes it in one call; only string columns
    that hold a backslash, tab or line break are escaped first.
    """
    fixes = [pl.col(c).str.replace_many(_TEXT_FROM, _TEXT_TO) for c, t in frame.schema.items()
             if t == pl.String and frame.get_column(c).str.contains(_TEXT_SPECIAL).any()]
    if fixes:
        frame = frame.with_columns(fixes)
    return frame.write_csv(include_header=False, separator="\t", quote_style="never", null_value="\\N",
                           datetime_format="%Y-%m-%d %H:%M:%S%.f%:z").encode("utf-8")


class PostgresLoader(Loader):
    dialect = "postgresql"

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._aborted = False
        self._sequences: dict[str, str] = {}
        self.timings: dict[str, float] = defaultdict(float)  # seconds per phase, for the benchmark log
        self._thread = threading.Thread(target=self._work, name="xinyong-copy", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is _STOP:
                    return
                if self._error is None and not self._aborted:
                    assert isinstance(job, tuple)
                    self._copy(job[0], job[1])
            except BaseException as exc:  # handed to the main thread at the next flush
                self._error = exc
            finally:
                self._queue.task_done()

    def _copy(self, table: str, frame: pl.DataFrame) -> None:
        started = time.perf_counter()
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        data = text_format(frame)
        encoded = time.perf_counter()
        with self.conn.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
            copy.write(data)
        self.timings[f"csv:{table}"] += encoded - started
        self.timings[f"copy:{table}"] += time.perf_counter() - encoded

    def insert(self, table: str, frame: pl.DataFrame) -> None:
        self._raise()
        if frame.height:
            self._queue.put((table, frame))

    def flush(self) -> None:
        self._queue.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._aborted = True
            raise error

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._queue.put(_STOP)
            self._thread.join()

    def abort(self) -> None:
        self._aborted = True
        self._queue.put(_STOP)
        self._thread.join()

    def reserve_ids(self, table: str, n: int) -> pl.Series:
        if n == 0:
            return pl.Series([], dtype=pl.Int64)
        seq = self._sequences.get(table)
        if seq is None:
            seq = str(self.query("SELECT pg_get_serial_sequence(%s, 'id')", [table])[0][0])
            self._sequences[table] = seq
        lo, hi = self.query("SELECT min(v), max(v) FROM (SELECT nextval(%s::regclass) AS v "
                            "FROM generate_series(1, %s)) s", [seq, n])[0]
        if hi - lo + 1 == n:  # contiguous unless another session drew from the sequence meanwhile
            return pl.int_range(lo, hi + 1, dtype=pl.Int64, eager=True)
        rows = self.query("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [seq, n])
        return pl.Series([r[0] for r in rows], dtype=pl.Int64)

    def _any(self, column: str) -> str:
        return f"{column} = ANY(%s)"

    def _bind_list(self, values: Sequence[object]) -> object:
        # Codes and hex digests need no quoting in an array literal; sending one string instead of a
        # list saves psycopg adapting 100,000 values one by one.
        if all(isinstance(v, str) for v in values):
            strings = [str(v) for v in values]
            if _PLAIN.fullmatch("".join(strings)) and all(strings):
                return "{" + ",".join(strings) + "}"
        return list(values)


def loader_for(session: Session) -> Loader:
    return PostgresLoader(session) if dialect_name(session) == "postgresql" else SQLiteLoader(session)
