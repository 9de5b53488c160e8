"""Database engine and sessions. SQLite (WAL) by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, DateTime, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from xinyong.core.settings import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT primary keys on PostgreSQL, INTEGER (rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def _sqlite_savepoint(conn: Any, _name: str) -> None:
    """pysqlite begins a transaction only before a write, so a SAVEPOINT (Session.begin_nested) issued after
    reads alone would start one of its own, and releasing it would COMMIT: a claimed idempotency key or a
    form's writes would outlive the request's rollback. Begin the transaction first, as the first write would."""
    if not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN")


NUL_SHOWN_AS = "\ufffd"
# What no text column can store: NUL (PostgreSQL refuses it) and lone surrogates (not encodable as UTF-8; JSON's
# "\ud800" yields one). Both are shown as U+FFFD, on both databases, by the ORM path and every fast path alike.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def scrub_text(value: str) -> str:
    """`value` with every character a text column cannot store replaced by U+FFFD."""
    return _UNSTORABLE.sub(NUL_SHOWN_AS, value) if _UNSTORABLE.search(value) else value


def scrub(value: Any) -> Any:
    """scrub_text applied to every string in `value` (a string, or dicts, lists and tuples of them)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(v) for v in value)
    return value


def needs_scrub(value: Any) -> bool:
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(needs_scrub(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(needs_scrub(v) for v in value)
    return False


def _scrub_nul(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               _executemany: bool) -> tuple[str, Any]:
    """PostgreSQL text cannot hold NUL, which user input can carry (JSON's \\u0000, a form field), nor can
    either database store a lone surrogate: every bound string has them replaced by U+FFFD (`scrub`), on both
    databases alike, instead of a failed statement."""
    if parameters and needs_scrub(parameters):
        parameters = scrub(parameters)
    return statement, parameters


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_savepoint)
    else:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
    event.listen(engine, "before_cursor_execute", _scrub_nul, retval=True)
    return engine


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache(maxsize=1)
def _factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def reset_engine() -> None:
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    _factory.cache_clear()


def new_session() -> Session:
    return _factory()()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error. Used by CLI commands and jobs."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def engine_of(session: Session) -> Engine:
    """The engine a session is bound to (its bind may be a Connection of that engine)."""
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def dialect_name(session_or_engine: Session | Engine) -> str:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name
