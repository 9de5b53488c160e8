"""Check ids and the write-behind check log.

Ids: a process takes a block of 2**20 ids at a time (one row in check_id_blocks, one short transaction per
million checks); id = block << 20 | n. Ids are unique across processes and restarts, integers (the joint
service links tasks to them), and known before anything is written, so a check answers at once.
A batch check takes a block of its own for its rows.

Log: single checks append their log row (a tuple in LOG_COLUMNS order) to an in-process buffer; a daemon
thread writes the buffer every FLUSH_SECONDS (or as soon as FLUSH_ROWS rows wait), and at interpreter exit,
with COPY (PostgreSQL) or the DBAPI's executemany (SQLite): SQLAlchemy's per-row parameter handling would
hold the GIL the request path needs. A request therefore costs no round-trip for its log row. Durability trade-off: if the process is killed hard
(SIGKILL, power loss) the rows of the last ≤ 200 ms are lost; a normal stop (SIGTERM/SIGINT) flushes.
Readers of the log in this process (statistics, batch download) call flush() first.

A flush the database refuses (a row it cannot take) is retried in halves, each in a savepoint, until the
rows at fault are found: they go to a quarantine file (var/quarantine/check_logs.jsonl, counted), the rest is
written. Only when the database cannot be reached do rows wait for the next flush, behind the newer ones.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert

from xinyong.checks.models import CheckIdBlock
from xinyong.core.db import get_engine, needs_scrub, scrub, utcnow
from xinyong.core.identifiers import mask_id_numbers
from xinyong.core.settings import get_settings

log = logging.getLogger("xinyong.checks")

BLOCK_BITS = 20
FLUSH_SECONDS = 0.2
FLUSH_ROWS = 2000
MAX_PENDING = 200_000  # if the database is unreachable for long, keep memory bounded
LOG_COLUMNS = ("id", "at", "dept_id", "user_id", "matter", "matter_type", "purpose", "subject_id",
               "query_kind", "query_ref", "result", "batch_id", "seq")
_SQLITE_AT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's DateTime stores a timestamp in SQLite (naive UTC)


def write_rows(connection: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert check_logs rows (tuples in LOG_COLUMNS order) in `connection`'s transaction.

    Text goes through `scrub` first (the ORM path's rule: NUL and lone surrogates shown as U+FFFD); on
    PostgreSQL psycopg's own COPY encoding (`write_row`) writes it, not a hand-written escaper.
    """
    if not rows:
        return
    rows = [scrub(row) if needs_scrub(row) else row for row in rows]
    if connection.dialect.name == "postgresql":
        raw: Any = connection.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY check_logs ({', '.join(LOG_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql = f"INSERT INTO check_logs ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join('?' for _ in LOG_COLUMNS)})"
    stamps: dict[Any, str] = {}  # rows written together often share a timestamp
    out = []
    for row in rows:
        at = stamps.get(row[1])
        if at is None:
            at = stamps[row[1]] = sqlite_timestamp(row[1])
        out.append((row[0], at, *row[2:]))
    connection.exec_driver_sql(sql, out)


def sqlite_timestamp(at: datetime) -> str:
    """A timestamp as SQLAlchemy's DateTime stores it in SQLite (naive UTC text), for DBAPI-level inserts."""
    return at.astimezone(UTC).strftime(_SQLITE_AT)


def take_block(engine: Engine | None = None, owner: str | None = None, *, connection: Connection | None = None) -> int:
    """A fresh block number: in its own committed transaction, or inside `connection`'s (a batch, whose log
    rows are written in that same transaction, so a rollback gives back the block and the rows together)."""
    stmt = insert(CheckIdBlock).values(at=utcnow(), owner=owner or f"pid:{os.getpid()}")
    if connection is not None:
        pk = connection.execute(stmt).inserted_primary_key
    else:
        with (engine or get_engine()).begin() as conn:
            pk = conn.execute(stmt).inserted_primary_key
    assert pk is not None
    return int(pk[0])


class IdAllocator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._end = 0
        self._engine: Engine | None = None

    def next_id(self) -> int:
        engine = get_engine()
        with self._lock:
            if self._next >= self._end or engine is not self._engine:
                block = take_block(engine)
                self._engine = engine
                self._next, self._end = block << BLOCK_BITS, (block + 1) << BLOCK_BITS
            value = self._next
            self._next += 1
            return value


class CheckLogBuffer:
    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.quarantined = 0  # rows written to the quarantine file by this process

    def add(self, row: tuple[Any, ...]) -> None:
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= FLUSH_ROWS
            if len(self._rows) > MAX_PENDING:
                dropped = len(self._rows) - MAX_PENDING
                del self._rows[:dropped]
                log.error("核查日志积压过多，丢弃最早的 %d 条（数据库不可写？）", dropped)
        if self._thread is None or not self._thread.is_alive():
            self._start()
        if full:
            self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._rows)

    def flush(self) -> int:
        """Write every waiting row; returns how many were written."""
        with self._flush_lock:
            with self._lock:
                rows, self._rows = self._rows, []
            if not rows:
                return 0
            try:
                with get_engine().begin() as conn:
                    write_rows(conn, rows)
                return len(rows)
            except Exception as exc:
                if _unreachable(exc):
                    # the database is away, not the rows at fault: they wait behind the newer ones
                    log.error("写入核查日志失败（数据库不可用），%d 条稍后重试：%s", len(rows), type(exc).__name__)
                    with self._lock:
                        self._rows.extend(rows)
                    return 0
            return self._write_isolating(rows)

    def _write_isolating(self, rows: list[tuple[Any, ...]]) -> int:
        """After a failed flush: the rows written in halves, each in a savepoint, down to the single rows at
        fault, which go to the quarantine file. The others are written; nothing goes back to the queue."""
        bad: list[tuple[tuple[Any, ...], str]] = []
        try:
            with get_engine().begin() as conn:
                _write_halves(conn, rows, bad)
        except Exception as exc:
            if not _unreachable(exc):
                raise
            log.error("写入核查日志失败（数据库不可用），%d 条稍后重试：%s", len(rows), type(exc).__name__)
            with self._lock:
                self._rows.extend(rows)
            return 0
        if bad:
            quarantine(bad)
            self.quarantined += len(bad)
            log.error("核查日志有 %d 条无法写入，已隔离到 %s（累计 %d 条）：%s", len(bad), quarantine_path(),
                      self.quarantined, bad[0][1])
        return len(rows) - len(bad)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="check-log-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the writer thread die
                log.exception("核查日志写入线程出错")


def _unreachable(exc: BaseException) -> bool:
    """The database could not be reached or is busy (retry later), as opposed to a row it refused."""
    import psycopg
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | psycopg.OperationalError) and not isinstance(
        exc, psycopg.errors.QueryCanceled)


def _write_halves(conn: Connection, rows: list[tuple[Any, ...]], bad: list[tuple[tuple[Any, ...], str]]) -> None:
    try:
        with conn.begin_nested():
            write_rows(conn, rows)
    except Exception as exc:
        if _unreachable(exc):
            raise
        if len(rows) == 1:
            bad.append((rows[0], f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]))
            return
        mid = len(rows) // 2
        _write_halves(conn, rows[:mid], bad)
        _write_halves(conn, rows[mid:], bad)


def quarantine_path() -> Path:
    return get_settings().var_dir / "quarantine" / "check_logs.jsonl"


def quarantine(bad: list[tuple[tuple[Any, ...], str]]) -> None:
    """Appends rows the database refused, one JSON object a line (columns, error), for the office to inspect."""
    path = quarantine_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        for row, error in bad:
            record = {**dict(zip(LOG_COLUMNS, row, strict=False)), "error": error}
            # what a user typed (matter, purpose) may hold an ID number: masked like every log line
            f.write(mask_id_numbers(json.dumps(scrub(record), ensure_ascii=False, default=str)) + "\n")


def read_quarantine() -> list[dict[str, Any]]:
    path = quarantine_path()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


ids = IdAllocator()
buffer = CheckLogBuffer()


@atexit.register
def _flush_at_exit() -> None:
    if buffer.pending():
        buffer.flush()
