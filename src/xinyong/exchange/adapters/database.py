"""Database adapter (前置库): each batch is written to a table of another database (any SQLAlchemy URL) in one
transaction; the key is the table's primary key, so a batch written again after a crash adds no second row.
The receiver answers in a feedback table (`<table>_feedback`: key, status, reason) that the worker reads
and empties of what it has taken."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from xinyong.core.db import utcnow
from xinyong.exchange.adapters.base import Adapter, DeliveryError, Outcomes, WireEvent

_engines: dict[str, Engine] = {}


def _engine(url: str) -> Engine:
    if url not in _engines:
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        _engines[url] = create_engine(url, **kwargs)
    return _engines[url]


def tables(name: str) -> tuple[MetaData, Table, Table]:
    meta = MetaData()
    rows = Table(name, meta,
                 Column("key", String(200), primary_key=True),
                 Column("seq", Integer, nullable=False),
                 Column("batch", String(120), nullable=False),
                 Column("target", String(64), nullable=False),
                 Column("event_type", String(40), nullable=False),
                 Column("record_key", String(100)),
                 Column("data", Text, nullable=False),
                 Column("written_at", DateTime(timezone=True), nullable=False))
    feedback = Table(f"{name}_feedback", meta,
                     Column("key", String(200), primary_key=True),
                     Column("status", String(16), nullable=False),
                     Column("reason", Text))
    return meta, rows, feedback


class DatabaseAdapter(Adapter):
    def _setup(self) -> tuple[Engine, Table, Table]:
        assert self.target.database is not None
        engine = _engine(self.target.database.resolved_url())
        meta, rows, feedback = tables(self.target.database.table)
        meta.create_all(engine)
        return engine, rows, feedback

    def deliver(self, batch_id: str, events: list[WireEvent]) -> Outcomes:
        try:
            engine, rows, _ = self._setup()
            now = utcnow()
            values = [{"key": e.key, "seq": e.seq, "batch": batch_id, "target": self.target.code,
                       "event_type": e.type, "record_key": e.record_key, "data": e.data, "written_at": now}
                      for e in events]
            insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
            with engine.begin() as conn:  # one transaction per batch
                conn.execute(insert(rows).on_conflict_do_nothing(index_elements=["key"]), values)
        except SQLAlchemyError as exc:
            raise DeliveryError(f"写入前置库失败：{type(exc).__name__}：{str(exc).splitlines()[0][:300]}") from exc
        return {}

    def collect_feedback(self) -> tuple[Outcomes, list[str]]:
        try:
            engine, _, feedback = self._setup()
            with engine.begin() as conn:
                found = conn.execute(select(feedback.c.key, feedback.c.status, feedback.c.reason)).all()
                if found:
                    conn.execute(delete(feedback).where(feedback.c.key.in_([r[0] for r in found])))
        except SQLAlchemyError as exc:
            return {}, [f"读取前置库回执失败：{type(exc).__name__}"]
        outcomes: Outcomes = {}
        problems: list[str] = []
        for key, status, reason in found:
            if status not in ("accepted", "rejected"):
                problems.append(f"前置库回执 {key} 的状态 {status!r} 无法识别")
                continue
            outcomes[key] = (status, reason or "")
        return outcomes, problems

    def close(self) -> None:
        pass


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
