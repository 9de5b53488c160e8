"""Joint reward and punishment benchmarks, on SQLite and PostgreSQL.

1. Publishing one entry whose list type triggers 30 measures, each implemented by 20 departments
   (600 tasks, one set-based INSERT): target ≤ 50 ms.
2. The daily overdue scan over 1,000,000 tasks (one UPDATE over the (state, due_date) index): target ≤ 5 s.

Usage: .venv/bin/python bench/bench_joint.py [--db sqlite|postgresql|both] [--tasks 1000000] [--runs 20]
PostgreSQL: XINYONG_TEST_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/test); a scratch database is
created and dropped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("XINYONG_SECRET_KEY", "bench-secret-key-0123456789abcdef")

from sqlalchemy import create_engine, text

PG_ADMIN = os.environ.get("XINYONG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TODAY = date(2026, 3, 2)


def _use(url: str) -> None:
    from xinyong import db_models  # noqa: F401
    from xinyong.core import crypto
    from xinyong.core.db import Base, get_engine, reset_engine
    from xinyong.core.settings import reset_settings

    os.environ["XINYONG_DATABASE_URL"] = url
    reset_settings()
    crypto.clear_key_cache()
    reset_engine()
    Base.metadata.create_all(get_engine())


BENCH_DEPTS = [f"D{i:02d}" for i in range(20)]


def _synthetic_config(directory: Path, n_measures: int) -> None:
    """A copy of config/ with one more list type, bench_list, whose publication triggers n_measures measures,
    each implemented by every one of BENCH_DEPTS (and no other measures); XINYONG_CONFIG_DIR points at it."""
    import shutil

    import yaml

    from xinyong.core.settings import REPO_ROOT

    shutil.copytree(REPO_ROOT / "config", directory)
    lists = directory / "lists"
    source = (lists / "scjg_serious_illegal.yaml").read_text(encoding="utf-8")
    (lists / "bench_list.yaml").write_text(source.replace("code: scjg_serious_illegal", "code: bench_list", 1),
                                           encoding="utf-8")
    for old in (directory / "measures").glob("*.yaml"):
        old.unlink()
    basis = [{"document": "《企业信息公示暂行条例》", "article": "第十八条"}]
    measures = [{"code": f"m{i:02d}", "name": f"措施{i}", "type": 1 if i % 2 else 2, "legal_basis": basis,
                 "implementers": BENCH_DEPTS, "list_types": ["bench_list"]} for i in range(n_measures)]
    (directory / "measures" / "bench.yaml").write_text(yaml.safe_dump({"measures": measures}, allow_unicode=True),
                                                       encoding="utf-8")
    os.environ["XINYONG_CONFIG_DIR"] = str(directory)


def bench_publish(runs: int, with_webhooks: bool) -> list[float]:
    from xinyong.accounts import service as accounts
    from xinyong.core.db import new_session
    from xinyong.core.identifiers import make_uscc
    from xinyong.joint import (
        service,  # noqa: F401  (publishing dispatches through its listener)
        webhooks,
    )
    from xinyong.lists import service as lists
    from xinyong.lists.schemas import ListEntryIn
    from xinyong.subjects import service as subjects

    codes = BENCH_DEPTS
    db = new_session()
    scjg = accounts.add_department(db, "SCJG", "市场监督管理局")
    depts = [accounts.add_department(db, c, f"部门{c}") for c in codes]
    if with_webhooks:
        for d in depts:
            webhooks.register_webhook(db, d, url=f"http://127.0.0.1:9/{d.code}", secret="x" * 32)
    db.commit()
    timings = []
    for i in range(runs + 2):
        s = subjects.upsert_organisation(db, uscc=make_uscc("91", "371402", f"MB{i + (100000 if with_webhooks else 0):06d}"),
                                         name=f"基准测试公司{i}")
        entry = lists.propose(db, ListEntryIn(subject=s.uscc or "", list_type="bench_list", decision_no=f"B{i}-{uuid.uuid4().hex[:6]}",
                                              decision_date=TODAY - timedelta(days=3), facts="事实", basis="依据"),
                              dept=scjg, today=TODAY)
        lists.notify(db, entry.id, dept=scjg, notified_at=TODAY, channel="直接送达", today=TODAY)
        db.commit()
        t0 = time.perf_counter()
        lists.publish(db, entry.id, dept=scjg, today=TODAY)
        db.commit()
        elapsed = (time.perf_counter() - t0) * 1000
        if i >= 2:  # warm-up
            timings.append(elapsed)
    db.close()
    return timings


def bench_overdue(n: int) -> tuple[float, int, float, float, int]:
    from xinyong.core.db import dialect_name, new_session
    from xinyong.joint import service as joint

    db = new_session()
    db.execute(text("DELETE FROM joint_tasks"))
    db.commit()
    t0 = time.perf_counter()
    # 1 in 5 tasks still awaits feedback, due dates spread over 60 days around today; the rest are answered.
    select_rows = """
        SELECT i, i / 600, i / 600, 'm' || (i % 30), '1', 1 + ((i / 30) % 20),
               CASE WHEN i % 5 = 0 THEN 'open' ELSE 'applied' END,
               {start}, {due}, 'publish', 0, {now}
        FROM s"""
    cols = ("id, entry_id, subject_id, measure_code, measure_type, dept_id, state, dispatched_on, due_date, "
            "created_via, feedback_late, created_at")
    if dialect_name(db) == "postgresql":
        sql = (f"INSERT INTO joint_tasks ({cols}) " + select_rows.format(
            start="DATE '2026-01-01' + (i % 60)", due="DATE '2026-01-15' + (i % 60)", now="now()")
            .replace("FROM s", f"FROM generate_series(1, {n}) AS s(i)").replace(", 0, now()", ", false, now()"))
        db.execute(text(sql))
    else:
        sql = (f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
               f"INSERT INTO joint_tasks ({cols}) " + select_rows.format(
                   start="date('2026-01-01', '+' || (i % 60) || ' days')",
                   due="date('2026-01-15', '+' || (i % 60) || ' days')", now="CURRENT_TIMESTAMP"))
        db.execute(text(sql))
    db.commit()
    if dialect_name(db) == "postgresql":
        db.execute(text("ANALYZE joint_tasks"))
        db.commit()
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    flagged = joint.mark_overdue(db, TODAY)  # catch-up: every past-due open task at once
    db.commit()
    scan = time.perf_counter() - t0
    t0 = time.perf_counter()
    daily = joint.mark_overdue(db, TODAY + timedelta(days=5))  # a later daily run: the next group falls due
    db.commit()
    later_run = time.perf_counter() - t0
    db.close()
    return scan, flagged, load, later_run, daily


def run(backend: str, tasks: int, runs: int) -> dict[str, object]:
    drop = None
    if backend == "sqlite":
        tmp = tempfile.mkdtemp(prefix="xinyong-bench-")
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
    else:
        name = f"xinyong_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        drop = (admin, name)
    config = Path(tempfile.mkdtemp(prefix="xinyong-bench-config-")) / "config"
    try:
        _use(url)
        _synthetic_config(config, 30)
        plain = bench_publish(runs, with_webhooks=False)
        hooked = bench_publish(runs, with_webhooks=True)
        scan, flagged, load, later_run, daily = bench_overdue(tasks)
    finally:
        import shutil

        from xinyong.core.db import reset_engine

        os.environ.pop("XINYONG_CONFIG_DIR", None)
        shutil.rmtree(config.parent, ignore_errors=True)
        reset_engine()
        if drop is not None:
            admin, name = drop
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    result = {
        "backend": backend,
        "publish_600_tasks_ms_median": round(statistics.median(plain), 1),
        "publish_600_tasks_ms_p95": round(sorted(plain)[int(len(plain) * 0.95) - 1], 1),
        "publish_600_tasks_600_webhook_events_ms_median": round(statistics.median(hooked), 1),
        "overdue_scan_tasks": tasks, "overdue_flagged": flagged, "overdue_scan_s": round(scan, 2),
        "overdue_later_run_flagged": daily, "overdue_later_run_s": round(later_run, 3),
        "generate_tasks_s": round(load, 1),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    for backend in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        print(run(backend, args.tasks, args.runs), flush=True)


if __name__ == "__main__":
    main()
