"""Bulk snapshots of one catalog item within a partner's scope, for a partner starting from nothing:
`GET /api/v1/exports/{item}.parquet` and `.csv`.

One query read through a server-side cursor (PostgreSQL: in a REPEATABLE READ transaction) is one consistent
moment; it is written out in chunks of CHUNK rows (a Parquet row group each, or a CSV slice), each sent as soon as
it is written, so memory stays flat whatever the size. The feed cursor of the moment (taken just before the
snapshot, so the feed may repeat, never miss) comes in the X-Feed-Cursor header.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

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

log = logging.getLogger("xinyong.exchange.sharing")

CHUNK = 50_000
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
    pos = (session.scalar(select(func.max(Record.id))) or 0, session.scalar(select(func.max(RecordEvent.id))) or 0,
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


def _rows(session: Session, p: ExportPlan, chunk: Sequence[Any]) -> list[list[Any]]:
    out = []
    for row in chunk:
        values = feed.record_values(session, p.scope, row)
        out.append([row.record_key, row.id, row.version, row.state, row.severity, row.publish_from,
                    row.publish_until, *(values.get(f) for f in p.fields)])
    return out


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


def stream(engine: Engine, p: ExportPlan, done: Any = None) -> Iterator[bytes]:
    """The file, chunk by chunk; `done(rows)` is called at the end (also when the client went away)."""
    rows_sent = 0
    with Session(engine) as session:
        if dialect_name(engine) == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        result = session.execute(_query(p), execution_options={"yield_per": CHUNK, "stream_results": True})
        try:
            if p.fmt == "parquet":
                sink = _Sink()
                schema = _schema(p)
                writer = pq.ParquetWriter(sink, schema, compression="zstd")
                for chunk in result.partitions(CHUNK):
                    rows = _rows(session, p, chunk)
                    columns = list(zip(*rows, strict=True))
                    writer.write_table(pa.Table.from_arrays(
                        [pa.array(col, type=t) for col, t in zip(columns, schema.types, strict=True)], schema=schema))
                    rows_sent += len(rows)
                    yield sink.take()
                writer.close()
                yield sink.take()
            else:
                buf = io.StringIO()
                writer_csv = csv.writer(buf, lineterminator="\r\n")
                writer_csv.writerow([*BASE_COLUMNS, *p.fields])
                yield ("\ufeff" + buf.getvalue()).encode("utf-8")
                for chunk in result.partitions(CHUNK):
                    buf.seek(0)
                    buf.truncate()
                    rows = _rows(session, p, chunk)
                    writer_csv.writerows(rows)
                    rows_sent += len(rows)
                    yield buf.getvalue().encode("utf-8")
        finally:
            result.close()
            session.rollback()
            if done is not None:
                try:
                    done(rows_sent)
                except Exception:  # the log of a finished stream must not turn into a broken response
                    log.exception("partner export read log failed")
