"""Bulk loading behind one small interface, one implementation per database.

Writes go through the session's own DBAPI connection, inside the caller's transaction: what they write
commits or rolls back with everything else. They run on a worker thread, in submission order, so the
database (PostgreSQL: its own server process; SQLite: `sqlite3_step`, which releases the GIL) writes
chunk N while Python reads and checks chunk N+1.

Reads never wait for those writes: lookups of what existed before the batch go through a second,
read-only connection (PostgreSQL: read committed; SQLite in WAL mode: a reader beside the writer), and
what the batch itself writes is remembered by the callers (matching.SubjectMatcher, recordset.RecordWriter).
So a batch sees the data committed before it started plus its own rows; batches of the same department
and item are serialised by a lock (`lock_batch`), the one place where two batches could disagree.

- PostgreSQL: `COPY ... FROM STDIN` in the text format, which Polars writes in one call per frame.
- SQLite: `executemany` (the pragmas in core/db.py make large batches cheap).
"""

from __future__ import annotations

import io
import json
import queue
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from xinyong.core.db import dialect_name, engine_of, scrub_text

_STOP = object()


class Loader(ABC):
    dialect: str

    def __init__(self, session: Session) -> None:
        session.flush()
        self.session = session
        self.conn: Any = session.connection().connection.driver_connection
        self._reader_wrapper: Any = None
        self._reader: Any = None
        self._encoding: queue.Queue[object] = queue.Queue(maxsize=1)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._aborted = False
        self.timings: dict[str, float] = defaultdict(float)  # seconds per phase, for the benchmark log
        self._encoder = threading.Thread(target=self._encode_loop, name="xinyong-encoder", daemon=True)
        self._thread = threading.Thread(target=self._work, name="xinyong-writer", daemon=True)
        self._encoder.start()
        self._thread.start()

    # ---- writes: queued, in order, on the session's connection ---------------------------------------
    # Two stages, each a thread: the encoder turns a frame into what the database takes (COPY text, SQLite
    # rows), the writer sends it. The database is thus never idle while a chunk is being encoded.

    @abstractmethod
    def _encode(self, table: str, frame: pl.DataFrame) -> Any:
        """What _insert_now sends (runs on the encoder thread)."""

    @abstractmethod
    def _insert_now(self, table: str, encoded: Any) -> None: ...

    def insert(self, table: str, frame: pl.DataFrame) -> None:
        """Append the frame's rows (columns named as the table's); returns before the rows are written."""
        if frame.height:
            self._submit(lambda data: self._insert_now(table, data), f"insert:{table}",
                         lambda: self._encode(table, frame))

    def execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        params = [tuple(r) for r in rows]
        self._submit(lambda _: self._run(sql, params, many=True), "update")

    def update_in(self, sql_head: str, column: str, values: Sequence[object]) -> None:
        """`sql_head WHERE column IN values` (an UPDATE or DELETE), values bound as one parameter."""
        if not values:
            return
        bound = self._bind_list(values)
        self._submit(lambda _: self._run(f"{sql_head} WHERE {self._any(column)}", (bound,)), "update")

    def _run(self, sql: str, params: Any, *, many: bool = False) -> None:
        cur = self.conn.cursor()
        try:
            if many:
                cur.executemany(self._placeholders(sql), params)
            else:
                cur.execute(self._placeholders(sql), params)
        finally:
            cur.close()

    def _submit(self, job: Callable[[Any], None], label: str, encode: Callable[[], Any] | None = None) -> None:
        self._raise()
        started = time.perf_counter()
        self._encoding.put((encode, job, label))
        self.timings["queue_full"] += time.perf_counter() - started

    def _encode_loop(self) -> None:
        while True:
            item = self._encoding.get()
            try:
                if item is _STOP:
                    self._queue.put(_STOP)
                    return
                if self._error is None and not self._aborted:
                    assert isinstance(item, tuple)
                    encode, job, label = item
                    started = time.perf_counter()
                    data = encode() if encode is not None else None
                    self.timings[f"encode:{label}"] += time.perf_counter() - started
                    self._queue.put((job, data, label))
            except BaseException as exc:  # handed to the main thread at the next call
                self._error = exc
            finally:
                self._encoding.task_done()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if self._error is None and not self._aborted:
                    assert isinstance(item, tuple)
                    job, data, label = item
                    started = time.perf_counter()
                    job(data)
                    self.timings[label] += time.perf_counter() - started
            except BaseException as exc:  # handed to the main thread at the next call
                self._error = exc
            finally:
                self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._aborted = True
            raise error

    def flush(self) -> None:
        """Wait until every submitted write is done; raises the first error of the workers."""
        started = time.perf_counter()
        self._encoding.join()
        self._queue.join()
        self.timings["wait"] += time.perf_counter() - started
        self._raise()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._stop()

    def abort(self) -> None:
        """Stop after an error elsewhere; pending writes are dropped (the transaction rolls back)."""
        self._aborted = True
        self._stop()

    def _stop(self) -> None:
        if self._encoder.is_alive():
            self._encoding.put(_STOP)  # passed on to the writer
            self._encoder.join()
        if self._thread.is_alive():
            self._thread.join()
        if self._reader_wrapper is not None:
            try:
                self._reader_wrapper.rollback()
            finally:
                self._reader_wrapper.close()
                self._reader_wrapper = self._reader = None

    # ---- reads: what was committed before the batch --------------------------------------------------

    def _read_conn(self) -> Any:
        if self._reader is None:
            if not self._separate_reader():
                self.flush()
                return self.conn
            self._reader_wrapper = engine_of(self.session).raw_connection()
            self._reader = self._reader_wrapper.driver_connection
        return self._reader

    def _separate_reader(self) -> bool:
        return True

    def _fetch(self, conn: Any, sql: str, params: Sequence[object], timing: str) -> list[tuple[Any, ...]]:
        started = time.perf_counter()
        cur = conn.cursor()
        try:
            cur.execute(self._placeholders(sql), tuple(params))
            return list(cur.fetchall())
        finally:
            cur.close()
            self.timings[timing] += time.perf_counter() - started

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows committed before this batch (the batch's own writes are not visible here)."""
        return self._fetch(self._read_conn(), sql, params, "read")

    def query_mine(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """On the session's own connection after the queued writes: sees this batch's rows too. Waits for the
        writer, so callers use it only for what their memory of the batch cannot settle."""
        self.flush()
        return self._fetch(self.conn, sql, params, "read_mine")

    def lookup(self, sql_head: str, column: str, values: Sequence[object], tail: str = "") -> list[tuple[Any, ...]]:
        """`sql_head WHERE column IN values tail` with the values bound as one parameter (committed rows)."""
        if not values:
            return []
        return self.query(f"{sql_head} WHERE {self._any(column)} {tail}", [self._bind_list(values)])

    def lookup_mine(self, sql_head: str, column: str, values: Sequence[object],
                    tail: str = "") -> list[tuple[Any, ...]]:
        """As lookup, through query_mine."""
        if not values:
            return []
        return self.query_mine(f"{sql_head} WHERE {self._any(column)} {tail}", [self._bind_list(values)])

    @abstractmethod
    def reserve_ids(self, table: str, n: int) -> pl.Series:
        """n fresh primary keys for table."""

    @abstractmethod
    def lock_batch(self, key: str) -> None:
        """Serialise batches with the same key (department + item) until this transaction ends."""

    @abstractmethod
    def _any(self, column: str) -> str:
        """SQL that tests column against a list bound as one parameter."""

    @abstractmethod
    def _bind_list(self, values: Sequence[object]) -> object: ...

    def _placeholders(self, sql: str) -> str:
        return sql


_BYTES_OVER = 64  # mean UTF-8 length above which a text column is bound as bytes
_SLICE_ROWS = 5_000


def _sql_literal(value: object) -> str | None:
    """A SQLite literal equal to binding the value (None when the value had better be bound)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and len(value) <= 200:
        return "'" + value.replace("'", "''") + "'"
    return None


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

    def _separate_reader(self) -> bool:
        database = engine_of(self.session).url.database
        return bool(database) and database != ":memory:" and not str(database).startswith("file::memory:")

    def _encode(self, table: str, frame: pl.DataFrame) -> Any:
        frame = scrubbed(frame)  # as the ORM path writes text, on both databases
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
        # A column with one value for the whole frame (the batch, the item, the layout, the time of writing)
        # goes into the statement as a literal instead of being bound on every row: about 15% of the
        # records insert measured on the writer thread.
        candidates = [c for c in frame.columns if frame.height > 1 and c not in as_bytes
                      and frame.schema[c] != pl.Binary and frame.get_column(c).n_unique() == 1]
        literals = {c: _sql_literal(frame.get_column(c)[0]) for c in candidates}
        constant = {c: text for c, text in literals.items() if text is not None}
        if len(constant) == frame.width:  # every row the same: keep one column bound, one tuple per row
            constant.pop(frame.columns[0])
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        marks = ", ".join(constant.get(c) or ("CAST(? AS TEXT)" if c in as_bytes else "?") for c in frame.columns)
        if constant:
            frame = frame.drop(list(constant))
        return f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', frame

    def _insert_now(self, table: str, encoded: Any) -> None:
        sql, frame = encoded
        cur = self.conn.cursor()
        try:
            cur.executemany(sql, _row_tuples(frame))
        finally:
            cur.close()

    def reserve_ids(self, table: str, n: int) -> pl.Series:
        # The batch row is written before any reservation, so this transaction holds SQLite's write
        # lock: nobody else can take these ids before commit. The first reservation per table reads the
        # session's own connection (rows this transaction wrote before the batch count too).
        start = self._next.get(table)
        if start is None:
            start = int(self.query_mine(f'SELECT coalesce(max(id), 0) FROM "{table}"')[0][0]) + 1
        self._next[table] = start + n
        return pl.int_range(start, start + n, dtype=pl.Int64, eager=True)

    def lock_batch(self, key: str) -> None:
        """SQLite has one writer at a time: the batch row written first already holds the lock."""

    def _any(self, column: str) -> str:
        return f"{column} IN (SELECT value FROM json_each(?))"

    def _bind_list(self, values: Sequence[object]) -> object:
        return json.dumps(list(values), ensure_ascii=False)

    def _placeholders(self, sql: str) -> str:
        return sql.replace("%s", "?")


_PLAIN = re.compile(r"[0-9A-Za-z]*")
# The escapes psycopg's own COPY writer (`Copy.write_row`) makes, so that both write the same bytes (a
# hypothesis test compares them on hostile strings).
_TEXT_SPECIAL = "[\\\\\t\n\r\x08\x0b\x0c]"
_TEXT_FROM = ["\\", "\t", "\n", "\r", "\x08", "\x0b", "\x0c"]
_TEXT_TO = ["\\\\", "\\t", "\\n", "\\r", "\\b", "\\v", "\\f"]


def scrubbed(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with its text scrubbed by the ORM path's own function (`core.db.scrub_text`: NUL to U+FFFD; a
    Polars string cannot hold a lone surrogate). Rare (JSON's \\u0000): only affected columns, value by value."""
    fixes = [pl.col(c).map_elements(scrub_text, return_dtype=pl.String) for c, t in frame.schema.items()
             if t == pl.String and frame.get_column(c).str.contains("\x00", literal=True).any()]
    return frame.with_columns(fixes) if fixes else frame


def text_format(frame: pl.DataFrame) -> bytes:
    """The frame in COPY's text format: tab-separated, \\N for null, backslash escapes.

    Measured against CSV on the records table: about a third faster for the server to parse, because the
    JSON payload's many double quotes need no quoting. Polars writes it in one call; only string columns
    that hold a backslash, tab or line break are escaped first. Written by hand for speed (psycopg's
    write_row was several times slower on bench/bench_ingest.py), it scrubs text with the ORM path's own
    function (`core.db.scrub_text`: NUL to U+FFFD) and escapes exactly as psycopg does.
    """
    frame = scrubbed(frame)
    fixes = [pl.col(c).str.replace_many(_TEXT_FROM, _TEXT_TO) for c, t in frame.schema.items()
             if t == pl.String and frame.get_column(c).str.contains(_TEXT_SPECIAL).any()]
    if fixes:
        frame = frame.with_columns(fixes)
    # Written straight into a byte buffer: asking for a str made Python decode and re-encode every byte
    # (for Chinese text, 4/5 of the encoder's time: 240 vs 45 ms per 25,000 records).
    out = io.BytesIO()
    frame.write_csv(out, include_header=False, separator="\t", quote_style="never", null_value="\\N",
                    datetime_format="%Y-%m-%d %H:%M:%S%.f%:z")
    return out.getvalue()


class PostgresLoader(Loader):
    dialect = "postgresql"

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._sequences: dict[str, str] = {}

    def _encode(self, table: str, frame: pl.DataFrame) -> Any:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        return f'COPY "{table}" ({cols}) FROM STDIN', text_format(frame)

    def _insert_now(self, table: str, encoded: Any) -> None:
        sql, data = encoded
        with self.conn.cursor() as cur, cur.copy(sql) as copy:
            copy.write(data)

    def reserve_ids(self, table: str, n: int) -> pl.Series:
        # Sequences are not transactional: the read connection draws them without waiting for the writes.
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

    def lock_batch(self, key: str) -> None:
        # Taken on the session's connection, held until its transaction ends (commit or rollback).
        self.query_mine("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"xinyong.ingest:{key}"])

    def _any(self, column: str) -> str:
        return f"{column} = ANY(%s)"

    def _bind_list(self, values: Sequence[object]) -> object:
        # Codes, hex digests and integers (ids, key64) need no quoting in an array literal; sending one string
        # instead of a list saves psycopg adapting 100,000 values one by one. The literal goes as an untyped
        # parameter, so the server reads it as an array of the column's type.
        if all(type(v) is int for v in values):
            return "{" + ",".join(map(str, values)) + "}"
        if all(isinstance(v, str) for v in values):
            strings = [str(v) for v in values]
            if _PLAIN.fullmatch("".join(strings)) and all(strings):
                return "{" + ",".join(strings) + "}"
        return list(values)


def loader_for(session: Session) -> Loader:
    return PostgresLoader(session) if dialect_name(session) == "postgresql" else SQLiteLoader(session)
