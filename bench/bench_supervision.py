"""Graded supervision benchmark, on SQLite and PostgreSQL: a 双随机 draw of 10,000 subjects from a population of
1,000,000 organisations stratified by their current grade (target ≤ 1 s), with the draw's verification
(recomputed from the stored snapshot and seed) and, for comparison, a plain `SELECT id, grade` of the same
population measured in the same run.

The population is synthetic, written set-wise in SQL (subjects and evaluation_current rows; 85% graded across
A+…D-, the rest 未评价); 20 inspectors, two of them with conflicts (a region, a subject).

Usage: .venv/bin/python bench/bench_supervision.py [--db sqlite|postgresql|both] [--subjects 1000000]
       [--draw 10000] [--runs 3]
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
from pathlib import Path

os.environ.setdefault("XINYONG_SECRET_KEY", "bench-secret-key-0123456789abcdef")

from sqlalchemy import create_engine, text

PG_ADMIN = os.environ.get("XINYONG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GRADES = ["A+", "A", "B", "C", "C-", "D", "D-"]


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


def populate(backend: str, n: int) -> float:
    """n organisations (ids 1..n, regions 371402/371500/371600 by id) and their grades, written set-wise."""
    from xinyong.core.db import get_engine

    started = time.perf_counter()
    engine = get_engine()
    case = "CASE (g % 20) " + " ".join(f"WHEN {i} THEN '{g}'" for i, g in
                                          enumerate(["A+", "A", "A", "A", "B", "B", "B", "B", "B", "C", "C", "C",
                                                     "C-", "D", "D", "D-", "B"])) + " END"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO evaluation_runs (id, model_id, model_name, model_version, kind, engine, as_of, "
                          "state, subjects, grades, migrations, watermark, seconds, started_at) VALUES (1, "
                          "'city_comprehensive', '公共信用综合评价', '1', 'full', 'polars', '2026-03-31', 'done', :n, "
                          "'{}', '[]', '{}', 0, '2026-04-01 00:00:00+00')"), {"n": n})
        if backend == "postgresql":
            series = "generate_series(1, :n) AS t(g)"
        else:
            conn.execute(text("CREATE TEMP TABLE seq AS WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s "
                              "WHERE g < :n) SELECT g FROM s"), {"n": n})
            series = "seq"
        conn.execute(text(
            "INSERT INTO subjects (id, kind, name, status, region_code, created_at, updated_at) "
            f"SELECT g, 'legal_person', '德州市某某有限公司' || g, '存续', "
            "CASE g % 3 WHEN 0 THEN '371402' WHEN 1 THEN '371500' ELSE '371600' END, "
            f"'2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00' FROM {series}"), {"n": n})
        conn.execute(text(
            "INSERT INTO evaluation_current (model_id, subject_id, run_id, result_id, grade, score, as_of) "
            f"SELECT 'city_comprehensive', g, 1, g, {case}, 800, '2026-03-31' FROM {series} "
            "WHERE g % 20 < 17"), {"n": n})
        conn.execute(text("INSERT INTO departments (id, code, name, is_credit_office, created_at) "
                          "VALUES (1, 'SCJG', '德州市市场监督管理局', false, '2026-01-01 00:00:00+00')"))
    if backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE subjects"))
            conn.execute(text("VACUUM ANALYZE evaluation_current"))
    return time.perf_counter() - started


def bench(n: int, size: int, runs: int) -> dict[str, object]:
    from datetime import date

    from sqlalchemy import select

    from xinyong.accounts.models import Department
    from xinyong.core.db import new_session
    from xinyong.supervision import service

    db = new_session()
    dept = db.scalar(select(Department))
    assert dept is not None
    for i in range(20):
        service.add_inspector(db, dept, name=f"检查员{i}", badge_no=f"ZF{i:04d}", actor="bench",
                              conflict_regions=["371402"] if i == 0 else None)
    db.commit()
    # the raw comparison: the same population read with one plain query
    plain: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = db.execute(text("SELECT s.id, g.grade FROM subjects s LEFT JOIN evaluation_current g ON "
                               "g.subject_id = s.id AND g.model_id = 'city_comprehensive' WHERE s.status = '存续' "
                               "ORDER BY s.id")).fetchall()
        plain.append(time.perf_counter() - t0)
        assert len(rows) == n
        del rows
    draws: list[float] = []
    verifies: list[float] = []
    drawn = 0
    for r in range(runs):
        plan = service.create_plan(db, dept, name=f"基准抽查{r}", scheme="scjg_market", period_start=date(2026, 4, 1),
                                   period_end=date(2026, 6, 30), size=size, actor="bench")
        db.commit()
        t0 = time.perf_counter()
        service.draw_plan(db, plan, actor="bench", seed=1000 + r)
        db.commit()
        draws.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        check = service.verify(db, plan)
        verifies.append(time.perf_counter() - t0)
        assert check["verified"], check
        drawn = plan_size(db, plan.id)
    db.close()
    return {"subjects": n, "drawn": drawn, "draw_s_median": round(statistics.median(draws), 3),
            "draw_s_max": round(max(draws), 3), "verify_s_median": round(statistics.median(verifies), 3),
            "plain_select_s_median": round(statistics.median(plain), 3)}


def plan_size(db: object, plan_id: int) -> int:
    from sqlalchemy import func, select

    from xinyong.supervision.models import DrawItem

    return int(db.scalar(select(func.count(DrawItem.id)).where(DrawItem.plan_id == plan_id)) or 0)  # type: ignore[attr-defined]


def run(backend: str, n: int, size: int, runs: int) -> dict[str, object]:
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
    try:
        _use(url)
        load = populate(backend, n)
        result = {"backend": backend, "populate_s": round(load, 1), **bench(n, size, runs)}
    finally:
        from xinyong.core.db import reset_engine

        reset_engine()
        if drop is not None:
            admin, name = drop
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return result


def main() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    if os.environ.get("BENCH_PHASES"):
        logging.getLogger("xinyong.supervision").setLevel(logging.DEBUG)
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--draw", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    for backend in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        print(run(backend, args.subjects, args.draw, args.runs), flush=True)


if __name__ == "__main__":
    main()
