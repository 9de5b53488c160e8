"""Substring search in SQL: pg_trgm on PostgreSQL, an FTS5 trigram table on SQLite, one small interface.

Both implementations answer the same two questions for organisations only (natural persons are never in
the index and never in the results):
    name_rows(session, patterns, limit)  — names matching any of the LIKE patterns
    code_rows(session, fragment, limit)  — unified codes containing the fragment
The trigram index narrows the candidates; a LIKE on subjects.name (with ESCAPE) decides, so index
quirks never change what is found, only how fast. Patterns without a run of three characters ("华为", "恒_机械")
go to the side table of two-character runs (subjects.grams, `subject_grams`) on both databases.

DDL: `install_search_sql(connection)` creates the index objects (the Alembic migration calls it);
DDL events on the subjects table do the same for `Base.metadata.create_all` (tests, `xinyong init`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, event, text
from sqlalchemy.orm import Session

from xinyong.core.db import dialect_name
from xinyong.search.query import Pattern
from xinyong.subjects.grams import START, query_gram
from xinyong.subjects.models import Subject

log = logging.getLogger("xinyong.search")

Row = tuple[int, str, str | None, str, str | None]  # id, name, uscc, kind, region_code
_COLUMNS = "s.id, s.name, s.uscc, s.kind, s.region_code"
_ORG = "s.kind <> 'natural_person'"


class SearchSQL(Protocol):
    def name_rows(self, session: Session, patterns: Sequence[Pattern], limit: int) -> list[Row]: ...

    def code_rows(self, session: Session, fragment: str, limit: int) -> list[Row]: ...


def _like_clause(patterns: Sequence[Pattern], op: str | Callable[[Pattern], str], params: dict[str, Any]) -> str:
    clauses = []
    for i, pattern in enumerate(patterns):
        params[f"p{i}"] = pattern.like()
        clauses.append(f"s.name {op(pattern) if callable(op) else op} :p{i} ESCAPE '\\'")
    return "(" + " OR ".join(clauses) + ")"


def _rows(session: Session, sql: str, params: dict[str, Any]) -> list[Row]:
    return [(r[0], r[1], r[2], r[3], r[4]) for r in session.execute(text(sql), params)]


def _pg_like(pattern: Pattern) -> str:
    """ILIKE folds case character by character and costs several times LIKE: only when letters are involved."""
    return "ILIKE" if any(ch.isascii() and ch.isalpha() for part in pattern.parts for ch in part) else "LIKE"


def gram_plan(pattern: Pattern) -> list[str] | None:
    """The side table's grams (subjects.grams) every name matching the pattern has: for a pattern with no run a
    trigram index can use ("华为", "恒_机械"). At most two, the first most selective: the name's start when the
    pattern is anchored, else a run of the longest part. None when no part has two characters."""
    grams: list[str] = []
    first = pattern.parts[0]
    if (pattern.anchored or pattern.whole) and len(first) >= 2 and (g := query_gram(first[:2])) is not None:
        grams.append(START + g)
    for part in sorted(pattern.parts, key=len, reverse=True):
        if len(grams) >= 2 or len(part) < 2:
            break
        g = next((g for i in range(len(part) - 1) if (g := query_gram(part[i:i + 2])) is not None), None)
        if g is not None and g not in grams and START + g not in grams:  # "^华为" already implies "华为"
            grams.append(g)
    return grams or None


def gram_rows(session: Session, patterns: Sequence[Pattern], limit: int,
              like: str | Callable[[Pattern], str]) -> list[Row] | None:
    """Names matching any pattern, found through the two-character side table (an intersection of its index
    ranges), the LIKE deciding as everywhere. None when a pattern has no gram (the caller scans)."""
    plans = [gram_plan(p) for p in patterns]
    if any(plan is None for plan in plans):
        return None
    out: dict[int, Row] = {}
    for pattern, plan in zip(patterns, plans, strict=True):
        assert plan is not None
        params: dict[str, Any] = {"limit": limit}
        joins = "".join(f" JOIN subject_grams g{i} ON g{i}.gram = :g{i} AND g{i}.subject_id = g0.subject_id"
                        for i in range(1, len(plan)))
        params.update({f"g{i}": g for i, g in enumerate(plan)})
        where = _like_clause([pattern], like, params)
        for row in _rows(session, f"SELECT {_COLUMNS} FROM subject_grams g0{joins} JOIN subjects s ON s.id = g0.subject_id "
                                  f"WHERE g0.gram = :g0 AND {_ORG} AND {where} LIMIT :limit", params):
            out.setdefault(row[0], row)
        if len(out) >= limit:
            break
    return list(out.values())[:limit]


class PostgresSearch:
    """GIN trigram indexes (partial: organisations only). ILIKE with literal runs of ≥3 characters uses them."""

    def name_rows(self, session: Session, patterns: Sequence[Pattern], limit: int) -> list[Row]:
        params: dict[str, Any] = {"limit": limit}
        where = _like_clause(patterns, _pg_like, params)
        sql = f"SELECT {_COLUMNS} FROM subjects s WHERE {_ORG} AND {where} LIMIT :limit"
        if not all(p.runs() for p in patterns):
            # Two-character runs: the side table, one subject looked up by key per entry. Left to itself the
            # planner hashes the whole subjects table for a common pair ("工程": 110 ms instead of a few).
            session.execute(text("SET LOCAL enable_hashjoin = off"))
            session.execute(text("SET LOCAL enable_mergejoin = off"))
            try:
                found = gram_rows(session, patterns, limit, _pg_like)
            finally:
                session.execute(text("SET LOCAL enable_hashjoin = on"))
                session.execute(text("SET LOCAL enable_mergejoin = on"))
            # no run of two characters either: a scan that stops at `limit`
            return found if found is not None else _rows(session, sql, params)
        # With a LIMIT the planner bets on a sequential scan finding matches early; for rare names it
        # reads the whole table. The trigram index is never slower here, so insist on it.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        try:
            return _rows(session, sql, params)
        finally:
            session.execute(text("SET LOCAL enable_seqscan = on"))

    def code_rows(self, session: Session, fragment: str, limit: int) -> list[Row]:
        params: dict[str, Any] = {"limit": limit, "code": f"%{fragment}%"}
        return _rows(session, f"SELECT {_COLUMNS} FROM subjects s WHERE {_ORG} AND s.uscc LIKE :code LIMIT :limit",
                     params)


def fts_phrase(text_: str) -> str:
    """An FTS5 string literal: everything inside is data (operators, NEAR(, *, quotes)."""
    return '"' + text_.replace('"', '""') + '"'


class SqliteSearch:
    """An external-content FTS5 table with the trigram tokenizer over organisations' names and codes."""

    def name_rows(self, session: Session, patterns: Sequence[Pattern], limit: int) -> list[Row]:
        params: dict[str, Any] = {"limit": limit}
        where = _like_clause(patterns, "LIKE", params)
        groups: list[str] = []
        for pattern in patterns:
            runs = pattern.runs()
            if not runs:
                groups = []  # one pattern without a trigram: the index cannot bound the OR
                break
            phrases = [fts_phrase(r) for r in runs]
            if (pattern.anchored or pattern.whole) and len(pattern.parts[0]) >= 3:
                # ^: the phrase starts the column, so a common prefix ("有限公司") is not a join per row
                phrases[0] = "^" + phrases[0]
            groups.append("(" + " AND ".join(phrases) + ")")
        if not groups:
            found = gram_rows(session, patterns, limit, "LIKE")  # two-character runs: the side table
            if found is not None:
                return found
            # One-character runs only: a bounded scan.
            return _rows(session, f"SELECT {_COLUMNS} FROM subjects s WHERE {_ORG} AND {where} LIMIT :limit", params)
        params["match"] = "name : (" + " OR ".join(groups) + ")"
        # CROSS JOIN keeps the FTS table as the outer loop, so LIMIT stops the posting-list walk early.
        return _rows(session, f"SELECT {_COLUMNS} FROM subjects_fts f CROSS JOIN subjects s ON s.id = f.rowid "
                              f"WHERE subjects_fts MATCH :match AND {_ORG} AND {where} LIMIT :limit", params)

    def code_rows(self, session: Session, fragment: str, limit: int) -> list[Row]:
        params: dict[str, Any] = {"limit": limit, "code": f"%{fragment}%", "match": "uscc : " + fts_phrase(fragment)}
        return _rows(session, f"SELECT {_COLUMNS} FROM subjects_fts f CROSS JOIN subjects s ON s.id = f.rowid "
                              f"WHERE subjects_fts MATCH :match AND {_ORG} AND s.uscc LIKE :code LIMIT :limit", params)


def backend(session: Session) -> SearchSQL:
    return PostgresSearch() if dialect_name(session) == "postgresql" else SqliteSearch()


# ---- DDL ---------------------------------------------------------------------------------------------

PG_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_subjects_name_trgm ON subjects USING gin (name gin_trgm_ops) "
    "WHERE kind <> 'natural_person'",
    "CREATE INDEX IF NOT EXISTS ix_subjects_uscc_trgm ON subjects USING gin (uscc gin_trgm_ops) "
    "WHERE kind <> 'natural_person'",
)
PG_DROP = ("DROP INDEX IF EXISTS ix_subjects_uscc_trgm", "DROP INDEX IF EXISTS ix_subjects_name_trgm")

# The view is the content table, so 'rebuild' re-reads exactly what the triggers index.
SQLITE_DDL = (
    "CREATE VIEW IF NOT EXISTS subjects_search_src AS "
    "SELECT id, name, uscc FROM subjects WHERE kind <> 'natural_person'",
    "CREATE VIRTUAL TABLE IF NOT EXISTS subjects_fts USING fts5(name, uscc, content='subjects_search_src', "
    "content_rowid='id', tokenize='trigram')",
    # The index's term list (no storage of its own): two-character runs are looked up here.
    "CREATE VIRTUAL TABLE IF NOT EXISTS subjects_fts_vocab USING fts5vocab(subjects_fts, 'col')",
    "CREATE TRIGGER IF NOT EXISTS subjects_fts_ai AFTER INSERT ON subjects WHEN new.kind <> 'natural_person' BEGIN "
    "INSERT INTO subjects_fts(rowid, name, uscc) VALUES (new.id, new.name, new.uscc); END",
    "CREATE TRIGGER IF NOT EXISTS subjects_fts_ad AFTER DELETE ON subjects WHEN old.kind <> 'natural_person' BEGIN "
    "INSERT INTO subjects_fts(subjects_fts, rowid, name, uscc) VALUES ('delete', old.id, old.name, old.uscc); END",
    "CREATE TRIGGER IF NOT EXISTS subjects_fts_au AFTER UPDATE OF name, uscc, kind ON subjects BEGIN "
    "INSERT INTO subjects_fts(subjects_fts, rowid, name, uscc) "
    "SELECT 'delete', old.id, old.name, old.uscc WHERE old.kind <> 'natural_person'; "
    "INSERT INTO subjects_fts(rowid, name, uscc) SELECT new.id, new.name, new.uscc "
    "WHERE new.kind <> 'natural_person'; END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS subjects_fts_au",
    "DROP TRIGGER IF EXISTS subjects_fts_ad",
    "DROP TRIGGER IF EXISTS subjects_fts_ai",
    "DROP TABLE IF EXISTS subjects_fts_vocab",
    "DROP TABLE IF EXISTS subjects_fts",
    "DROP VIEW IF EXISTS subjects_search_src",
)


def install_search_sql(connection: Connection, *, rebuild: bool = True) -> None:
    """Create the search index objects (idempotent). On SQLite, rebuild fills the index from existing rows."""
    name = connection.dialect.name
    if name == "postgresql":
        for stmt in PG_DDL:
            connection.execute(text(stmt))
    elif name == "sqlite":
        for stmt in SQLITE_DDL:
            connection.execute(text(stmt))
        if rebuild:
            connection.execute(text("INSERT INTO subjects_fts(subjects_fts) VALUES ('rebuild')"))
    else:  # pragma: no cover - only the two supported databases
        log.warning("no search index for database %s", name)


def uninstall_search_sql(connection: Connection) -> None:
    name = connection.dialect.name
    for stmt in PG_DROP if name == "postgresql" else SQLITE_DROP if name == "sqlite" else ():
        connection.execute(text(stmt))


def _after_create(target: Any, connection: Connection, **_: Any) -> None:
    if connection.dialect.name == "sqlite":
        uninstall_search_sql(connection)  # left over from a dropped subjects table
    install_search_sql(connection, rebuild=False)  # the table was just created: nothing to index


def _before_drop(target: Any, connection: Connection, **_: Any) -> None:
    uninstall_search_sql(connection)


def register_ddl_events() -> None:
    table = Subject.__table__
    if not event.contains(table, "after_create", _after_create):
        event.listen(table, "after_create", _after_create)
        event.listen(table, "before_drop", _before_drop)
