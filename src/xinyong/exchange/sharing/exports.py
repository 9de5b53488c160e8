"""Bulk snapshots of one catalog item within a partner's scope, for a partner starting from nothing:
`GET /api/v1/exports/{item}.parquet` and `.csv`.

One query read through a server-side cursor (PostgreSQL: in a REPEATABLE READ transaction) is one consistent
moment; it is written out in chunks of CHUNK rows (a Parquet row group each, or a CSV slice), each sent as soon as
it is written, so memory stays flat whatever the size. The feed cursor of the moment (taken just before the
snapshot, so the feed may repeat, never miss) comes in the X-Feed-Cursor header.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from xinyong.catalog.service import get_catalog
from xinyong.core.db import dialect_name
from xinyong.core.errors import Forbidden, NotFound
from xinyong.exchange.sharing import feed, rules
from xinyong.exchange.sharing.models import Partner
from xinyong.lists.models import ListEntryEvent
from xinyong.records.models import Record, RecordEvent
from xinyong.records.service import layout_fields

log = logging.getLogger("xinyong.exchange.sharing")

CHUNK = 10_000
FORMATS = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv; charset=utf-8"}
# The record's own columns, then the item's fields (named as in the catalog; decision number and date among them).
BASE_COLUMNS: tuple[str, ...] = ("record_key", "record_id", "record_version", "record_state", "record_severity",
                                 "publish_from", "publish_until")


@dataclass(frozen=True)
class ExportPlan:
    partner_id: int
    item: str
    fmt: str
    fields: tuple[str, ...]
    level: str
    today: date
    scope: feed.Scope


def plan(session: Session, partner: Partner, name: str, today: date) -> ExportPlan:
    """What `{item}.{fmt}` names, checked against the partner's scope; refusals before anything is streamed."""
    item_code, _, fmt = name.rpartition(".")
    if fmt not in FORMATS or not item_code:
        raise NotFound(f"导出文件“{name}”不存在：请按 /api/v1/exports/<信息项>.parquet 或 .csv 请求")
    scope = feed.scope_of(session, partner)
    s = scope.items.get(item_code)
    if s is None:
        if item_code in scope.lists:
            raise NotFound(f"名单“{item_code}”没有批量导出，请通过变更订阅（/api/v1/feed）获取")
        raise Forbidden(f"信息项“{item_code}”不在本合作方的共享范围内：可导出 {'、'.join(scope.items) or '（无）'}")
    item = get_catalog().get(item_code)
    hidden = scope.hidden.get(item_code, frozenset())
    fields = tuple(f.name for f in item.fields if f.name not in hidden and f.name not in BASE_COLUMNS)
    return ExportPlan(partner.id, item_code, fmt, fields, s.level, today, scope)


def feed_cursor_now(session: Session, partner: Partner) -> str:
    final = feed.horizon(session)  # not past a record still in flight
    pos = (min(session.scalar(select(func.max(Record.id))) or 0, final),
           session.scalar(select(func.max(RecordEvent.id))) or 0,
           session.scalar(select(func.max(ListEntryEvent.id))) or 0)
    return feed.encode_cursor(partner.id, pos)


def _query(p: ExportPlan) -> Any:
    q = (select(*feed._RECORD_COLS).where(Record.item_code == p.item,
                                          Record.state.in_(tuple(rules.VISIBLE_STATES)),
                                          or_(Record.publish_until.is_(None), Record.publish_until > p.today))
         .order_by(Record.id))
    if p.level == "public":
        q = q.where(Record.publish_from.is_not(None))
    return q


class _Sink(io.RawIOBase):
    """Where the Parquet writer writes; what it wrote is taken out after every row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.parts.append(data)
        self.pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self.pos

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts = []
        return out


def _schema(p: ExportPlan) -> pa.Schema:
    types = [pa.string(), pa.int64(), pa.int32(), pa.string(), pa.string(), pa.date32(), pa.date32()]
    return pa.schema([*zip(BASE_COLUMNS, types, strict=True), *((f, pa.string()) for f in p.fields)])


_PG_EXPORT = (f"SELECT {', '.join(c.key for c in feed._RECORD_COLS)} FROM records WHERE item_code = %s "
              "AND state IN ('active', 'objection') AND (publish_until IS NULL OR publish_until > %s) {public} "
              "ORDER BY id")


def _chunks(session: Session, p: ExportPlan) -> Iterator[Sequence[Any]]:
    """The snapshot's rows, CHUNK at a time: on PostgreSQL through a server-side cursor of the driver (plain
    values; ORM result rows would cost more than writing the file), elsewhere through the ORM's partitions."""
    if dialect_name(session) == "postgresql":
        sql = _PG_EXPORT.format(public="AND publish_from IS NOT NULL" if p.level == "public" else "")
        driver: Any = session.connection().connection.dbapi_connection  # psycopg's own connection
        cur = driver.cursor(name="xinyong_export")
        try:
            cur.itersize = CHUNK
            cur.execute(sql, (p.item, p.today))
            while rows := cur.fetchmany(CHUNK):
                yield [feed.RecordRow._make(r) for r in rows]
        finally:
            cur.close()
        return
    result = session.execute(_query(p), execution_options={"yield_per": CHUNK, "stream_results": True})
    try:
        yield from result.partitions(CHUNK)
    finally:
        result.close()


def _frame(session: Session, p: ExportPlan, chunk: Sequence[Any]) -> pl.DataFrame:
    """One chunk as columns. Payloads are decoded by Polars (one JSON parse per layout in the chunk, in Rust);
    a scope that receives ID numbers in clear decrypts row by row (feed.record_values, rare)."""
    cols = list(zip(*chunk, strict=True))
    at = {c.key: i for i, c in enumerate(feed._RECORD_COLS)}
    base = pl.DataFrame({"record_key": cols[at["record_key"]], "record_id": cols[at["id"]],
                         "record_version": cols[at["version"]], "record_state": cols[at["state"]],
                         "record_severity": cols[at["severity"]], "publish_from": cols[at["publish_from"]],
                         "publish_until": cols[at["publish_until"]], "_layout": cols[at["layout_id"]],
                         "_payload": cols[at["payload"]]},
                        schema={"record_key": pl.String, "record_id": pl.Int64, "record_version": pl.Int32,
                                "record_state": pl.String, "record_severity": pl.String, "publish_from": pl.Date,
                                "publish_until": pl.Date, "_layout": pl.Int64, "_payload": pl.String})
    if not p.scope.masked_only.get(p.item, True):
        values = [feed.record_values(session, p.scope, row) for row in chunk]
        return base.drop("_layout", "_payload").with_columns(
            *(pl.Series(f, [v.get(f) for v in values], dtype=pl.String) for f in p.fields))
    parts = []
    for layout_id in base.get_column("_layout").unique(maintain_order=True).to_list():
        part = base.filter(pl.col("_layout") == layout_id)
        fields = p.scope.layouts.get(layout_id)
        if fields is None:
            fields = p.scope.layouts[layout_id] = layout_fields(session, layout_id)
        part = part.with_columns(pl.col("_payload").str.json_decode(pl.List(pl.String)).alias("_values"))
        decoded = pl.col("_values")
        parts.append(part.with_columns(
            *((decoded.list.get(fields.index(f), null_on_oob=True) if f in fields else pl.lit(None, pl.String))
              .alias(f) for f in p.fields)).drop("_values"))
    frame = pl.concat(parts) if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        frame = frame.sort("record_id")
    return frame.drop("_layout", "_payload")


def stream(engine: Engine, p: ExportPlan, done: Any = None) -> Iterator[bytes]:
    """The file, chunk by chunk; `done(rows)` is called at the end (also when the client went away)."""
    rows_sent = 0
    with Session(engine) as session:
        if dialect_name(engine) == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            if p.fmt == "parquet":
                sink = _Sink()
                schema = _schema(p)
                writer = pq.ParquetWriter(sink, schema, compression="zstd")
                for chunk in _chunks(session, p):
                    writer.write_table(_frame(session, p, chunk).to_arrow().cast(schema))
                    rows_sent += len(chunk)
                    yield sink.take()
                writer.close()
                yield sink.take()
            else:
                yield ("\ufeff" + ",".join([*BASE_COLUMNS, *p.fields]) + "\r\n").encode("utf-8")
                for chunk in _chunks(session, p):
                    buf = io.BytesIO()
                    _frame(session, p, chunk).write_csv(buf, include_header=False, line_terminator="\r\n")
                    rows_sent += len(chunk)
                    yield buf.getvalue()
        finally:
            session.rollback()
            if done is not None:
                try:
                    done(rows_sent)
                except Exception:  # the log of a finished stream must not turn into a broken response
                    log.exception("partner export read log failed")
