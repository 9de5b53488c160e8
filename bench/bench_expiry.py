"""Daily end-of-publication job at scale: the due-date table (now) against the partial index (before).

    .venv/bin/python bench/bench_expiry.py --records 1000000

PostgreSQL (127.0.0.1:5432, user postgres), a fresh database dropped at the end. N records of ~560 bytes (the
ingest benchmark's mean) are generated in the server, active, their window ends spread over 1,000 days, and
record_due filled as ingest fills it (one row per end day per 25,000-record chunk). Then, for one ordinary
day (about N/1000 records due):
  after   repair.service.expire_publication (due-date table, no index on records.publish_until)
  before  the former job: the same INSERT … SELECT and UPDATE over `state = 'active' AND publish_until <= day`,
          with the partial index ix_records_active_until built (and, for reference, without it: a scan)
Each run is rolled back, so all three see the same rows. The index build time is printed too: what every bulk
load paid to keep it (by index maintenance, not a build, but the same order).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("XINYONG_SECRET_KEY", "bench-secret-key-0123456789abcdef")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from xinyong import db_models
from xinyong.core.db import Base, make_engine

_ = db_models
PG_ADMIN = os.environ.get("XINYONG_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = date(2026, 1, 1)
CHUNK = 25_000


def build(url: str, n: int) -> float:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO records (id, subject_id, item_code, dept_id, batch_id, record_key, key64, content_hash, state, "
            "version, late, layout_id, payload, publish_from, publish_until, created_at) "
            "SELECT g, g % 200000, 'admin_penalty', 1, g / 25000, md5(g::text), "
            "('x' || substr(md5(g::text), 1, 16))::bit(64)::bigint, md5(g::text), 'active', 1, false, 1, "
            "repeat('x', 480), :start, :start + ((g::bigint * 7919) % 1000)::int, now() FROM generate_series(1, :n) g"),
            {"n": n, "start": START})
        conn.execute(text(
            "INSERT INTO record_due (due_on, ids) SELECT publish_until, json_agg(id ORDER BY id)::text FROM records "
            "GROUP BY id / :chunk, publish_until"), {"chunk": CHUNK})
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("VACUUM ANALYZE records"))
        conn.execute(text("VACUUM ANALYZE record_due"))
    engine.dispose()
    return time.perf_counter() - started


def old_job(session: Session, day: date) -> int:
    due = "state = 'active' AND publish_until IS NOT NULL AND publish_until <= :day"
    session.execute(text(f"INSERT INTO record_events (record_id, at, actor, action, from_state, to_state, note) "
                         f"SELECT id, now(), 'system', 'expired', 'active', 'expired', 'x' FROM records WHERE {due}"),
                    {"day": day})
    result = session.execute(text(f"UPDATE records SET state = 'expired' WHERE {due}"), {"day": day})
    return int(result.rowcount)  # type: ignore[attr-defined]


def timed(url: str, fn: object, day: date, repeat: int) -> tuple[float, int]:
    from collections.abc import Callable

    assert callable(fn)
    job: Callable[[Session, date], int] = fn
    engine = make_engine(url)
    best, count = float("inf"), 0
    for _ in range(repeat):
        with Session(engine) as session:
            t0 = time.perf_counter()
            count = job(session, day)
            session.flush()
            best = min(best, time.perf_counter() - t0)
            session.rollback()
    engine.dispose()
    return best, count


def main() -> None:
    from xinyong.repair.service import expire_publication

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    name = f"xinyong_expiry_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        print(f"built {args.records:,} records in {build(url, args.records):.1f} s", file=sys.stderr)
        day = START  # windows end from START on: one day's records are due, as on any ordinary day
        after, n_after = timed(url, expire_publication, day, args.repeat)
        scan, n_scan = timed(url, old_job, day, args.repeat)
        engine = make_engine(url)
        with engine.begin() as conn:
            t0 = time.perf_counter()
            conn.execute(text("CREATE INDEX ix_records_active_until ON records (publish_until) "
                              "WHERE state = 'active' AND publish_until IS NOT NULL"))
            build_s = time.perf_counter() - t0
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("ANALYZE records"))
        engine.dispose()
        before, n_before = timed(url, old_job, day, args.repeat)
        print(f"records: {args.records:,}; due on {day}: {n_after:,} (same in all three: {n_after == n_scan == n_before})")
        print(f"after (due-date table, no index): {after * 1000:.0f} ms")
        print(f"before (partial index): {before * 1000:.0f} ms; index build {build_s:.1f} s")
        print(f"without any index (a scan): {scan * 1000:.0f} ms")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
