"""Batch checks: up to 100,000 subjects, set-based.

- parse: the unified codes validated in one vectorised pass (Polars); only the other inputs go through
  service.parse_query;
- subjects: one statement per list with the whole list bound as one parameter (PostgreSQL `unnest(array) JOIN
  subjects`, SQLite `IN (SELECT value FROM json_each(?))` per 20,000);
- facts: the records in force of the weighed items (checks.rules.WEIGHED_ITEMS) aggregated per subject in SQL,
  for the subjects named by code on a second pooled connection in a helper thread while the request's
  connection reads the subjects (not when this transaction has written: then on the request's connection);
  the few listed subjects by one query, their entries through the lists domain;
- verdicts: rules.classify once per distinct set of facts (a few hundred calls for 100,000 subjects);
- log: one INSERT ... SELECT from arrays (PostgreSQL unnest, SQLite json_each) in the request's transaction,
  executed in a helper thread (without the GIL) while the answers are built;
- no cyclic garbage collection during a batch (core.gcpause).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.catalog.service import get_catalog
from xinyong.checks import rules, service
from xinyong.checks.logbuffer import BLOCK_BITS, LOG_COLUMNS, sqlite_timestamp, take_block
from xinyong.checks.models import BatchCheck, CheckLog
from xinyong.core import audit, clock, exports
from xinyong.core.db import scrub, scrub_text, utcnow
from xinyong.core.errors import Refused
from xinyong.core.gcpause import gc_paused
from xinyong.core.regions import lookup_region
from xinyong.ingest.readers import formula_text, open_source, too_long_length
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

MAX_BATCH = 100_000
CHUNK = 20_000
SUMMARY_KEYS = ("total", "clean", "attention", "dishonest", "not_found", "ambiguous", "invalid")


def _chunks(values: list[Any], size: int = CHUNK) -> list[list[Any]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


class _Db:
    """A DBAPI connection and its dialect: statements with a whole list bound as one parameter."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection, self.dialect = connection, dialect

    @classmethod
    def of(cls, session: Session) -> _Db:
        conn = session.connection()
        return cls(conn.connection.dbapi_connection, conn.dialect.name)

    def rows(self, sql: str, values: list[Any], *params: Any) -> list[tuple[Any, ...]]:
        """Run `sql` with `values` bound once as a whole (the {values} placeholder: a PostgreSQL array, or a
        JSON array for SQLite's json_each), then `params`; fetch plain tuples. Neither thousands of bound
        parameters nor literals to render and parse, and none of SQLAlchemy's per-row result processing
        (seconds for a few hundred thousand rows)."""
        if not values:
            return []
        if self.dialect == "postgresql":
            bound, kind = _pg_array(values)
            text = (sql.replace("%", "%%").replace("{values}", f"ANY(%s::{kind})").replace("{array}", f"%s::{kind}")
                    .replace("?", "%s"))
        else:
            text, bound = sql.replace("{values}", "(SELECT value FROM json_each(?))"), _json_array(values)
        cur = self.connection.cursor()
        try:
            cur.execute(text, (bound, *scrub(params)))
            return list(cur.fetchall())
        finally:
            cur.close()

    def tune(self) -> None:
        """PostgreSQL, for this transaction only: no JIT compilation (~0.15 s when the planner's estimate for a
        long list crosses jit_above_cost)."""
        if self.dialect == "postgresql":
            cur = self.connection.cursor()
            try:
                cur.execute("SET LOCAL jit = off")
            finally:
                cur.close()


def _json_array(values: list[Any]) -> str:
    """A JSON array for SQLite's json_each, text scrubbed as the ORM path does when it holds a NUL (where
    SQLite's JSON functions would cut the value short) or a lone surrogate (which orjson refuses)."""
    try:
        data = orjson.dumps(values).decode()
    except orjson.JSONEncodeError:
        return orjson.dumps(scrub(values)).decode()
    return orjson.dumps(scrub(values)).decode() if "\\u0000" in data else data


def _raw(session: Session, sql: str, values: list[Any], *params: Any) -> list[tuple[Any, ...]]:
    return _Db.of(session).rows(sql, values, *params)


def _pg_array(values: list[Any]) -> tuple[str, str]:
    """(array literal, its type): psycopg's adaptation of a Python list costs ~1 s per 100,000 values (0.2 s
    this way). Every element quoted, backslash and quote escaped; text scrubbed with the ORM path's function
    (`scrub_text`: NUL and lone surrogates to U+FFFD), applied to the whole literal since quoting leaves those
    characters alone. A hypothesis test checks that PostgreSQL reads back exactly the scrubbed values."""
    if values and isinstance(values[0], int):
        return "{" + ",".join(str(int(v)) for v in values) + "}", "bigint[]"
    quoted = ('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return scrub_text("{" + ",".join(quoted) + "}"), "text[]"


# subject columns read for a batch: id, kind, name, uscc, id_masked, region_code (then the value looked up)
_SUBJECT_COLUMNS = "s.id, s.kind, s.name, s.uscc, s.id_masked, s.region_code"


def _find(session: Session, column: str, values: list[str], extra: str = "") -> dict[str, list[tuple[Any, ...]]]:
    """value -> the subjects it names (plain tuples in _SUBJECT_COLUMNS order, by id)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    if session.get_bind().dialect.name == "postgresql":
        # one join for the whole list: the planner picks a hash join over subjects for a long list (0.25 s
        # for 90,000 codes against 500,000 subjects, where as many index probes took 1.3 s) and an index
        # lookup per value for a short one
        sql = f"SELECT {_SUBJECT_COLUMNS}, q.k FROM unnest({{array}}) AS q(k) JOIN subjects s ON s.{column} = q.k"
        size = MAX_BATCH
    else:
        sql, size = f"SELECT {_SUBJECT_COLUMNS}, s.{column} FROM subjects s WHERE s.{column} IN {{values}}", CHUNK
    for chunk in _chunks(sorted(set(values)), size):
        for row in _raw(session, sql + extra, chunk):
            same = found.get(row[6])
            if same is None:
                found[row[6]] = [row]
            else:
                same.append(row)
    for same in found.values():
        if len(same) > 1:
            same.sort()  # candidates in a fixed order (by id), as the single check lists them
    return found


def _in(session: Session, column: str) -> str:
    return _in_list(session.get_bind().dialect.name, column)


def _in_list(dialect: str, column: str) -> str:
    return f"{column} = {{values}}" if dialect == "postgresql" else f"{column} IN {{values}}"


def _listed(session: Session, subject_ids: list[int]) -> set[int]:
    """The few subjects with a list entry in force (one query per chunk)."""
    if not subject_ids:
        return set()
    states = ", ".join(f"'{x}'" for x in service.LIVE_LIST_STATES)
    sql = f"SELECT DISTINCT subject_id FROM list_entries WHERE {_in(session, 'subject_id')} AND state IN ({states})"
    out: set[int] = set()
    for chunk in _chunks(subject_ids):
        out.update(row[0] for row in _raw(session, sql, chunk))
    return out


def parse_all(queries: list[str]) -> tuple[list[str], list[str], dict[int, service.Query]]:
    """(kind, value) of each query as parse_query decides them, the unified codes validated in one vectorised
    pass (Polars); and the Query of each one that is not a valid code, by position (the few others)."""
    import polars as pl

    from xinyong.core.identifiers import uscc_valid_expr

    frame = (pl.LazyFrame({"raw": queries}, schema={"raw": pl.String})
             .select(pl.col("raw").str.to_uppercase().alias("up"))
             .select(pl.col("up"), (~uscc_valid_expr("up")).alias("bad")).collect())
    values: list[str] = frame.get_column("up").to_list()
    kinds = ["uscc"] * len(values)
    others: dict[int, service.Query] = {}
    seen: dict[str, service.Query] = {}
    for i in frame.select(pl.arg_where(pl.col("bad"))).to_series().to_list():
        raw = queries[i]
        q = seen.get(raw)
        if q is None:
            q = seen[raw] = service.parse_query(raw)
        others[i], kinds[i], values[i] = q, q.kind, q.value
    return kinds, values, others


def _quoted(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


# a subject's weighed records in force, aggregated: (item_code, state, grade or "", latest decision date)
Fact = tuple[str, str, str, date | None]


def _weighed_facts(db: _Db, subject_ids: list[int], today: date) -> dict[int, tuple[Fact, ...]]:
    """Records in force of the weighed items that a department may see, aggregated per subject in SQL.
    The facts of a subject come sorted, and the decision date only where rules.classify weighs it (rated
    items), so that equal facts are equal tuples: one verdict for all subjects that share them."""
    catalog = get_catalog()
    visible = [i.code for i in catalog.list() if i.code in rules.WEIGHED_ITEMS and i.disclosure in ("public", "shared")]
    unpublished_ok = [c for c in visible if catalog.get(c).disclosure != "public"] or ["-"]
    if not visible:
        return {}
    rated = _quoted(sorted(rules.RATED_ITEMS))
    # ratings other than the weighed grade never change a result: they stay in the database
    grade = f"CASE WHEN r.item_code IN ({rated}) AND {_rating_is_d(db)} THEN 'D' ELSE '' END"
    # the window is the one of records.rules.visible(..., "department", today)
    sql = (f"SELECT r.subject_id, r.item_code, r.state, {grade}, max(r.decision_date) FROM records r "
           f"WHERE {_in_list(db.dialect, 'r.subject_id')} AND r.item_code IN ({_quoted(visible)}) "
           f"AND r.state IN ({_quoted(sorted(rules.LIVE_STATES))}) "
           f"AND ((r.publish_from IS NULL AND r.item_code IN ({_quoted(unpublished_ok)})) OR "
           f"(r.publish_from IS NOT NULL AND (r.publish_until IS NULL OR r.publish_until > ?))) "
           f"AND (r.item_code NOT IN ({rated}) OR {grade} = 'D') "
           f"GROUP BY r.subject_id, r.item_code, r.state, {grade}")
    day: Any = today if db.dialect == "postgresql" else today.isoformat()
    facts: dict[int, list[Fact]] = defaultdict(list)
    for chunk in _chunks(subject_ids):
        for subject_id, item_code, state, grade_, latest in db.rows(sql, chunk, day):
            if item_code not in rules.RATED_ITEMS:
                latest = None
            elif isinstance(latest, str):  # SQLite gives dates as text
                latest = date.fromisoformat(latest[:10])
            facts[subject_id].append((item_code, state, grade_ or "", latest))
    return {sid: tuple(sorted(f, key=lambda fact: fact[:3])) for sid, f in facts.items()}


def _rating_is_d(db: _Db) -> str:
    """SQL: whether a record's `rating` value is "D". Payloads are positional (records.service): the value's
    position depends on the record's layout, so one CASE branch per layout of a rated item that has the field
    (a handful of rows in payload_layouts, read on every batch: no cache to go stale)."""
    branches = []
    for layout_id, fields in db.rows(f"SELECT id, fields FROM payload_layouts WHERE {_in_list(db.dialect, 'item_code')}",
                                     sorted(rules.RATED_ITEMS)):
        names = orjson.loads(fields)
        if "rating" in names:
            k = names.index("rating")
            value = f"(r.payload::json ->> {k})" if db.dialect == "postgresql" else f"json_extract(r.payload, '$[{k}]')"
            branches.append(f"WHEN {int(layout_id)} THEN {value}")
    if not branches:
        return "1 = 0"  # a constant would not do: PostgreSQL refuses a GROUP BY on one
    return f"(CASE r.layout_id {' '.join(branches)} END) = 'D'"


def _facts_by_code(engine: Engine, codes: list[str], today: date) -> tuple[set[int], dict[int, tuple[Fact, ...]]]:
    """The subjects named by `codes` and their facts, on a pooled connection of its own (in a helper thread,
    while the request's connection reads the subjects): (their ids, their facts)."""
    raw = engine.raw_connection()
    try:
        db = _Db(raw.dbapi_connection, engine.dialect.name)
        db.tune()
        ids: set[int] = set()
        sql = ("SELECT s.id FROM unnest({array}) AS q(k) JOIN subjects s ON s.uscc = q.k" if db.dialect == "postgresql"
               else "SELECT s.id FROM subjects s WHERE s.uscc IN {values}")
        for chunk in _chunks(codes, MAX_BATCH if db.dialect == "postgresql" else CHUNK):
            ids.update(row[0] for row in db.rows(sql, chunk))
        return ids, _weighed_facts(db, sorted(ids), today)
    finally:
        raw.close()  # back to the pool, rolled back


def _reads_apart(session: Session) -> bool:
    """Whether another connection sees what this session's may read: a database file or server, and no
    write of this transaction yet (PostgreSQL reads in READ COMMITTED see what is committed anyway)."""
    conn = session.connection()
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql("SELECT txid_current_if_assigned()").scalar() is None
    database = conn.engine.url.database or ""
    return bool(database) and database != ":memory:" and "mode=memory" not in database and not raw.in_transaction  # type: ignore[union-attr]


class _Verdicts:
    """rules.classify, once per distinct (facts, list facts): a few hundred calls for 100,000 subjects."""

    def __init__(self, today: date) -> None:
        self.today = today
        self._seen: dict[tuple[Any, ...], tuple[str, tuple[str, ...]]] = {}

    def __call__(self, facts: tuple[Fact, ...], entries: list[dict[str, Any]]) -> tuple[str, tuple[str, ...]]:
        """(result, reasons)"""
        lists = tuple(service.list_facts(entries)) if entries else ()
        key = (facts, lists)
        known = self._seen.get(key)
        if known is None:
            records = [rules.RecordFact(item, state, None, None, latest, grade or None)
                       for item, state, grade, latest in facts]
            verdict = rules.classify(True, records, lists, self.today)
            known = self._seen[key] = (verdict.result, verdict.reasons)
        return known


_LOG_INSERT = {
    # the rows as 4 arrays, the values every row shares bound once: no 100,000 rows to format and ship
    "postgresql": "INSERT INTO check_logs ({columns}) SELECT %s::bigint + q.seq, %s::timestamptz, %s::int, %s::int, "
                  "%s::text, %s::text, %s::text, q.sid, q.kind, q.ref, q.res, %s::bigint, q.seq::int "
                  "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS q(sid, kind, ref, res, seq)",
    # one JSON array of [subject_id, kind, ref, result]: one statement, executed without the GIL
    "sqlite": "INSERT INTO check_logs ({columns}) SELECT ? + key + 1, ?, ?, ?, ?, ?, ?, json_extract(value, '$[0]'), "
              "json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'), ?, key + 1 "
              "FROM json_each(?)",
}


def _write_log(connection: Any, dialect: str, shared: tuple[Any, ...], subject_ids: list[int | None], kinds: list[str],
               refs: list[str], results: list[str]) -> None:
    """Insert a batch's check_logs rows (seq 1..n, id base + seq) on the DBAPI `connection`, in its transaction.
    `shared`: base, at, dept_id, user_id, matter, matter_type, purpose, batch_id."""
    sql = _LOG_INSERT[dialect].format(columns=", ".join(LOG_COLUMNS))
    base, at, *rest, batch_id = scrub(shared)  # the DBAPI cursor skips the engine's scrub: the same rule here
    if dialect == "postgresql":
        ids = "{" + ",".join("NULL" if v is None else str(v) for v in subject_ids) + "}"
        params: tuple[Any, ...] = (base, at, *rest, batch_id, ids, _pg_array(kinds)[0], _pg_array(refs)[0],
                                   _pg_array(results)[0])
    else:  # refs hold no NUL (service.Query.ref replaces it), which SQLite's JSON functions would stop at
        data = orjson.dumps([list(r) for r in zip(subject_ids, kinds, refs, results, strict=True)]).decode()
        params = (base, sqlite_timestamp(at), *rest, batch_id, data)
    cur = connection.cursor()
    try:
        cur.execute(sql, params)
    finally:
        cur.close()


class _Background:
    """Run fn(*args) in a thread; join() waits and returns what it returned, or raises what it raised."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self._error: BaseException | None = None
        self._value: Any = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), name="batch-check", daemon=True)
        self._thread.start()

    def _run(self, fn: Any, args: tuple[Any, ...]) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to join()
            self._error = exc

    def join(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _storable(queries: list[str]) -> list[str]:
    """The queries, scrubbed as the ORM path scrubs text if any holds a lone surrogate (which neither Polars nor
    the database takes; a JSON file's "\\ud800" yields one). One encode of the whole list decides."""
    try:
        "".join(queries).encode("utf-8")
    except UnicodeEncodeError:
        return [scrub_text(q) for q in queries]
    return queries


def check_batch(session: Session, *, dept: Department, queries: list[str], matter: str, matter_type: str,
                purpose: str = "", today: date | None = None, user_id: int | None = None,
                file_name: str | None = None, timings: dict[str, float] | None = None) -> dict[str, Any]:
    """`timings`, when given, receives the seconds spent in each step (the benchmark's breakdown)."""
    with gc_paused():
        return _check_batch(session, dept=dept, queries=_storable(queries), matter=matter, matter_type=matter_type,
                            purpose=purpose, today=today, user_id=user_id, file_name=file_name,
                            timings={} if timings is None else timings)


def _check_batch(session: Session, *, dept: Department, queries: list[str], matter: str, matter_type: str,
                 purpose: str, today: date | None, user_id: int | None, file_name: str | None,
                 timings: dict[str, float]) -> dict[str, Any]:
    started = time.perf_counter()
    steps = _Steps(started, timings)
    today = today or clock.today()
    matter, matter_type, purpose = service.validate_matter(matter, matter_type, purpose)
    if not queries:
        raise Refused("核查名单为空：请至少提供一个统一社会信用代码、名称或公民身份号码")
    if len(queries) > MAX_BATCH:
        raise Refused(f"一次最多核查 {MAX_BATCH} 个主体（收到 {len(queries)} 个），请拆分为多个批次提交")
    kinds, values, others = parse_all(queries)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for q in others.values():
        by_kind[q.kind].append(q.value)
    if by_kind.get("citizen_id") and not purpose.strip():
        raise Refused("核查名单中含有公民身份号码：核查自然人须填写核查目的（purpose）")
    steps("parse")
    connection = session.connection()
    dialect = connection.dialect.name
    db = _Db.of(session)
    db.tune()
    codes = sorted({v for k, v in zip(kinds, values, strict=True) if k == "uscc"})
    # the records of the subjects named by code are read on a second connection while this one reads the
    # subjects (the two statements run side by side: in the server, or in SQLite without the GIL)
    ahead = _Background(_facts_by_code, connection.engine, codes, today) if codes and _reads_apart(session) else None
    try:
        hashes = {v: subjects.citizen_id_hash(v) for v in by_kind.get("citizen_id", [])}
        lookups = {"uscc": _find(session, "uscc", codes),
                   "name": _find(session, "name", by_kind.get("name", []), " AND s.kind <> 'natural_person'")}
        by_hash = _find(session, "id_hash", list(hashes.values()))
        lookups["citizen_id"] = {v: by_hash[h] for v, h in hashes.items() if h in by_hash}
        found_ids = sorted({same[0][0] for found in lookups.values() for same in found.values() if len(same) == 1})
        steps("subjects")
    finally:
        covered, facts = ahead.join() if ahead is not None else (set(), {})
    facts.update(_weighed_facts(db, [sid for sid in found_ids if sid not in covered], today))
    steps("records")
    entries = service.list_entries_bulk(session, found_ids, today, listed=_listed(session, found_ids))
    steps("lists")

    at = utcnow()
    batch = BatchCheck(at=at, dept_id=dept.id, user_id=user_id, matter=matter, matter_type=matter_type,
                       purpose=purpose, file_name=file_name, total=len(queries))
    session.add(batch)
    session.flush()
    base = take_block(owner=f"batch:{batch.id}", connection=connection) << BLOCK_BITS

    # each subject's verdict, then what each query found and what the log keeps of it
    verdict = _Verdicts(today)
    result_of = dict.fromkeys(found_ids, "clean")
    reasons_of: dict[int, tuple[str, ...]] = {}  # subjects with weighed records or list entries
    for sid in {*facts, *(sid for sid, listed in entries.items() if listed)}:
        if sid in result_of:
            result_of[sid], reasons_of[sid] = verdict(facts.get(sid, ()), entries.get(sid) or [])
    by_uscc = lookups["uscc"]
    matches = [by_uscc.get(v) for v in values]
    refs = list(values)
    for i, q in others.items():
        matches[i] = lookups[q.kind].get(q.value) if q.kind in lookups else None
        if q.kind != "name":
            refs[i] = q.ref()
    subject_ids = [m[0][0] if m is not None and len(m) == 1 else None for m in matches]
    logged = [result_of[sid] if sid is not None else "not_found" if m is None else "ambiguous"
              for sid, m in zip(subject_ids, matches, strict=True)]
    for i, q in others.items():
        if q.kind == "invalid":
            logged[i] = "invalid"
    steps("verdicts")

    # the log rows are inserted by a helper thread (the statement runs without the GIL) while the answers are built
    shared = (base, at, dept.id, user_id, matter, matter_type, purpose, batch.id)
    writer = _Background(_write_log, db.connection, dialect, shared, subject_ids, kinds, refs, logged)
    try:
        results, persons = _results(values, others, matches, logged, reasons_of, entries)
        provider = service.grade_provider()
        if provider is not None:  # the current grade and its measures, one bulk lookup (evaluation)
            graded = provider.bulk(session, [sid for sid in subject_ids if sid is not None])
            for row, sid in zip(results, subject_ids, strict=True):
                if sid is not None and sid in graded:
                    row["evaluation"] = graded[sid]
        steps("answers")
    finally:
        writer.join()
        steps("log")
    if persons:
        audit.record(session, actor=f"dept:{dept.code}", action="check.batch_person", entity="batch_check",
                     entity_id=batch.id, after={"persons": persons, "matter": matter, "purpose": purpose})
    counts = Counter(logged)
    out_summary = {k: counts.get(k, 0) for k in SUMMARY_KEYS}
    out_summary["total"] = len(queries)
    batch.summary = json.dumps(out_summary)
    batch.seconds = round(time.perf_counter() - started, 3)
    return {"batch_check_id": batch.id, "summary": out_summary, "results": results,
            "download": f"/api/v1/checks/batch/{batch.id}.xlsx"}


class _Steps:
    def __init__(self, started: float, seconds: dict[str, float]) -> None:
        self.last = started
        self.seconds = seconds

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self.last, 3)
        self.last = now


def _results(values: list[str], others: dict[int, service.Query], matches: list[list[tuple[Any, ...]] | None],
             logged: list[str], reasons_of: dict[int, tuple[str, ...]],
             entries: dict[int, list[dict[str, Any]]]) -> tuple[list[dict[str, Any]], int]:
    """One answer per query, in order (keys in a fixed order: the JSON of the API); and how many of them found a
    natural person."""
    labels = rules.RESULT_LABELS
    regions: dict[str | None, str | None] = {}
    results: list[dict[str, Any]] = []
    persons = 0
    for seq, (value, found, result) in enumerate(zip(values, matches, logged, strict=True), start=1):
        if found is None:
            if result == "invalid":
                row = {"seq": seq, "subject": value, "result": "not_found", "error": others[seq - 1].error,
                       "result_label": labels[result]}
            else:
                row = {"seq": seq, "subject": value, "result": "not_found", "result_label": labels[result]}
        elif len(found) > 1:
            row = {"seq": seq, "subject": value, "result": "not_found", "ambiguous": True,
                   "candidates": [c[3] for c in found[:service.MAX_CANDIDATES]], "result_label": labels[result]}
        else:
            sid, kind, name, uscc, _, region_code, _ = found[0]
            try:
                region = regions[region_code]
            except KeyError:
                known = lookup_region(region_code) if region_code else None
                region = regions[region_code] = known.full_name if known else None
            if kind == "natural_person":
                name = service.mask_name(name)
                persons += 1
            reasons = reasons_of.get(sid)
            if reasons is None:
                row = {"seq": seq, "subject": value, "result": result, "uscc": uscc, "name": name, "region": region,
                       "result_label": labels[result]}
            else:
                row = {"seq": seq, "subject": value, "result": result, "reasons": list(reasons), "uscc": uscc,
                       "name": name, "region": region}
                listed = entries.get(sid)
                if listed:
                    row["lists"] = len(listed)
                row["result_label"] = labels[result]
        results.append(row)
    for i, q in others.items():
        if q.kind == "citizen_id":
            found = matches[i]
            results[i]["subject"] = found[0][4] if found else "（公民身份号码，已隐藏）"
    return results, persons


# ---- uploads ----------------------------------------------------------------------------------------

_HEADERS = ("统一社会信用代码", "社会信用代码", "信用代码", "核查对象", "公民身份号码", "身份证号码", "身份证号",
            "主体名称", "企业名称", "单位名称", "名称", "subject", "uscc", "name")
_HEADER_KEYS = {h.lower() for h in _HEADERS}
UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".json", ".jsonl")
_NO_SUBJECTS = "文件「{name}」中没有找到核查对象：请在第一列（或“统一社会信用代码”“名称”列）填写"


def _header_score(values: list[str]) -> int:
    """A known header wins; otherwise the first non-empty row is the header (or, holding a code, the first row)."""
    cells = [v.strip().lower() for v in values]
    if any(c in _HEADER_KEYS for c in cells):
        return 2
    return 1 if any(cells) else 0


def _pick_column(headers: list[str]) -> tuple[str, bool]:
    """(the column to read, whether its header cell is itself a subject: a file without a header row)."""
    lowered = [h.strip().lower() for h in headers]
    for wanted in _HEADERS:
        if wanted.lower() in lowered:
            return headers[lowered.index(wanted.lower())], False
    first = service.parse_query(headers[0])
    return headers[0], first is not None and first.kind in ("uscc", "citizen_id")


def _query_text(value: str) -> str:
    """A cell as a query; the reader's markers (a cut-off cell, a formula) become text that parses as invalid."""
    length = too_long_length(value)
    if length is not None:
        return f"（内容过长，{length} 字）"
    formula = formula_text(value)
    return formula if formula is not None else value.strip()


def read_upload(path: Path, file_name: str | None) -> list[str]:
    """The subjects in an uploaded list file: one column of codes, names or ID numbers.

    Read by ingest's readers (the same size, encoding, binary and XLSX guards as a department's batch); the
    file type comes from the content, the name only has to carry an accepted extension.
    """
    shown = file_name or "上传的文件"
    suffix = Path(file_name or "").suffix.lower()
    if suffix and suffix not in UPLOAD_SUFFIXES:
        raise Refused(f"不支持的文件类型「{shown}」：请上传 .csv 或 .xlsx 文件，第一列为统一社会信用代码、名称或公民身份号码",
                      rule="checks.upload_type")
    values: list[str] = []
    with open_source(path, header_score=_header_score, min_score=1, chunk_rows=CHUNK, max_cell_chars=200,
                     original_name=file_name) as src:
        column, headerless = _pick_column(src.headers)
        if headerless:
            values.append(column.strip())
        for chunk in src.chunks():
            cells = chunk.frame.get_column(column).drop_nulls().to_list()
            values.extend(v for v in map(_query_text, cells) if v)
            if len(values) > MAX_BATCH:
                raise Refused(f"一次最多核查 {MAX_BATCH} 个主体（文件「{shown}」超过此数），请拆分为多个文件分批提交",
                              rule="checks.batch_size")
    if not values:
        raise Refused(_NO_SUBJECTS.format(name=shown), rule="checks.no_subjects")
    return values


# ---- results as XLSX ---------------------------------------------------------------------------------


def get_batch(session: Session, batch_id: int, dept: Department) -> BatchCheck:
    from xinyong.access.actors import actor_for_dept
    from xinyong.access.policy import may_read_check_batch
    from xinyong.core.errors import Forbidden, NotFound

    batch = session.get(BatchCheck, batch_id)
    if batch is None:
        raise NotFound(f"批量核查 {batch_id} 不存在，请核对编号")
    if not may_read_check_batch(actor_for_dept(dept), dept_id=batch.dept_id):
        raise Forbidden("只能下载本部门的批量核查结果")
    return batch


def batch_xlsx(session: Session, batch_id: int, dept: Department) -> bytes:
    from io import BytesIO

    batch = get_batch(session, batch_id, dept)
    c, s = CheckLog.__table__, Subject.__table__
    rows = session.execute(
        select(c.c.seq, c.c.query_kind, c.c.query_ref, c.c.result, s.c.uscc, s.c.name, s.c.kind, s.c.id_masked,
               s.c.region_code)
        .select_from(c.outerjoin(s, s.c.id == c.c.subject_id))
        # a batch's rows carry its department and its time (batches logged before 2026-11-26: a few ms after
        # it): a short range of ix_check_logs_dept_at finds them (there is no index on batch_id)
        .where(c.c.dept_id == batch.dept_id, c.c.at >= batch.at, c.c.at < batch.at + timedelta(minutes=1),
               c.c.batch_id == batch.id).order_by(c.c.seq))
    buf = BytesIO()
    wb = exports.workbook(buf, constant_memory=True)
    ws = wb.add_worksheet("核查结果")
    bold = wb.add_format({"bold": True})
    ws.write_row(0, 0, ["序号", "核查对象", "统一社会信用代码", "名称", "地区", "核查结果"], bold)
    for i, r in enumerate(rows, start=1):
        person = r.kind == "natural_person"
        shown = r.id_masked if r.query_kind == "citizen_id" else r.query_ref
        if r.query_kind == "citizen_id" and not shown:
            shown = "（公民身份号码，已隐藏）"
        if shown and shown.startswith("hash:"):
            shown = "（已隐藏）"
        name = (r.name[:1] + "*" * max(1, len(r.name) - 1)) if person and r.name else (r.name or "")
        region = lookup_region(r.region_code) if r.region_code else None
        ws.write_row(i, 0, [r.seq, shown or "", r.uscc or "", name, region.full_name if region else "",
                            rules.RESULT_LABELS.get(r.result, r.result)])
    ws.set_column(1, 3, 30)
    info = wb.add_worksheet("说明")
    summary = json.loads(batch.summary or "{}")
    for i, (k, v) in enumerate([("批量核查编号", str(batch.id)), ("核查部门", dept.name if batch.dept_id == dept.id else str(batch.dept_id)),
                                ("核查事项", batch.matter), ("事项类型", rules.MATTER_TYPES.get(batch.matter_type, "")),
                                ("核查目的", batch.purpose), ("核查时间（UTC）", batch.at.strftime("%Y-%m-%d %H:%M:%S")),
                                *[(rules.RESULT_LABELS.get(key, "合计"), str(summary.get(key, 0))) for key in SUMMARY_KEYS]]):
        info.write_row(i, 0, [k, v])
    info.set_column(0, 1, 24)
    wb.close()
    return buf.getvalue()
