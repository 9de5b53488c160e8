"""Evaluation benchmark: a full run of the comprehensive model with Polars, facts read vs a plain COPY of the
same columns, an incremental refresh of 1,000 changed subjects, and Spark local[2] against Polars.

    .venv/bin/python bench/bench_evaluation.py --subjects 100000 [--spark] [--json]

The city is bench_checks.py's (built once in PostgreSQL database xinyong_bench_<N>, reused): N organisations
with 10 records each. Then, in a fresh child process (so its peak RSS is the run's own):
  full     service.run(city_comprehensive): extraction (COPY … TO STDOUT into Polars), scoring (narwhals on
           Polars), results written by COPY FROM, the switch of current grades; seconds and peak RSS;
  facts    the extraction alone vs `COPY (SELECT …) TO STDOUT` of the same statements discarded (rows/s);
  refresh  1,000 subjects get a new record each; service.refresh() re-evaluates only them;
  spark    (--spark) the same facts through run_spark (local[2], XINYONG_SPARK_MASTER) and run_polars:
           identical scores and grades, both times.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(n: int, spark: bool) -> dict[str, object]:
    import bench_checks

    bench_checks.use(bench_checks.db_url("postgresql", n))
    from sqlalchemy import text

    from xinyong.core import clock
    from xinyong.core.db import new_session
    from xinyong.evaluation import engine as eng
    from xinyong.evaluation import service
    from xinyong.evaluation.config import get_model
    from xinyong.web.app import load_domains

    load_domains()
    out: dict[str, object] = {"subjects": n}
    model = "city_comprehensive"
    started, cpu = time.perf_counter(), _cpu()
    full = service.run(model)
    out["full_seconds"] = round(time.perf_counter() - started, 2)
    out["full_cpu_seconds_client"] = round(_cpu() - cpu, 2)
    out["load_average"] = os.getloadavg()[0]
    out["full_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out["grades"] = full.grades
    loaded = get_model(model)
    with new_session() as s:
        t = time.perf_counter()
        facts = eng.extract(s, loaded.model, clock.today())
        extract_s = time.perf_counter() - t
        rows = facts.facts.height + facts.population.height
        raw = s.connection().connection.driver_connection
        queries = [eng.population_query(loaded.model), *eng.facts_queries(s, loaded.model, clock.today())]
        t = time.perf_counter()
        copied = 0
        for q in queries:
            with raw.cursor() as cur, cur.copy(f"COPY ({eng.copy_sql(s, q)}) TO STDOUT") as cp:
                for chunk in cp:
                    copied += bytes(chunk).count(b"\n")
        copy_s = time.perf_counter() - t
    out["facts_rows"] = rows
    out["facts_seconds"] = round(extract_s, 2)
    out["facts_rows_per_s"] = round(rows / extract_s)
    out["plain_copy_rows"] = copied
    out["plain_copy_seconds"] = round(copy_s, 2)
    out["plain_copy_rows_per_s"] = round(copied / copy_s)
    t = time.perf_counter()
    scored = eng.run_polars(loaded, facts)
    out["polars_scoring_seconds"] = round(time.perf_counter() - t, 2)
    # 1,000 changed subjects: one new inspection record each (what an ingest would add)
    with new_session() as s:
        s.execute(text(
            "INSERT INTO records (subject_id, item_code, dept_id, record_key, key64, content_hash, decision_no,"
            " decision_date, severity, publish_from, publish_until, state, version, late, layout_id, payload, created_at)"
            " SELECT r.subject_id, r.item_code, r.dept_id, k.key, ('x' || substr(k.key, 1, 16))::bit(64)::bigint,"
            " md5(random()::text), r.decision_no || 'x',"
            " current_date - 3, r.severity, current_date - 3, current_date + 362, 'active', 1, false, r.layout_id,"
            " r.payload, now() FROM records r CROSS JOIN LATERAL (SELECT md5(random()::text || r.id) AS key) k"
            " WHERE r.item_code = 'admin_penalty' AND r.subject_id IN"
            " (SELECT id FROM subjects ORDER BY id LIMIT 1000 OFFSET 5000)"
            " AND r.id IN (SELECT min(id) FROM records WHERE item_code = 'admin_penalty' GROUP BY subject_id)"))
        s.commit()
    t = time.perf_counter()
    ref = service.refresh(model)[0]
    out["refresh_subjects"] = ref.subjects
    out["refresh_seconds"] = round(time.perf_counter() - t, 2)
    out["refresh_moved"] = sum(k for a, b, k in ref.migrations if a != b)
    if spark:
        t = time.perf_counter()
        sp = eng.run_spark(loaded, facts)
        out["spark_seconds"] = round(time.perf_counter() - t, 2)
        cols = ["subject_id", "score", "grade", "override"]
        out["spark_identical"] = scored.select(cols).equals(sp.select(cols))
        out["spark_subjects"] = sp.height
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=100_000)
    ap.add_argument("--spark", action="store_true")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.subjects, args.spark), ensure_ascii=False))
        return
    import bench_checks

    t = time.perf_counter()
    bench_checks.build("postgresql", args.subjects)
    print(f"city ready in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    with_env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, __file__, "--child", "--subjects", str(args.subjects)] + (["--spark"] if args.spark else [])
    res = subprocess.run(cmd, env=with_env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(res.stderr[-4000:])
    data = json.loads(res.stdout.strip().splitlines()[-1])
    print(json.dumps(data, ensure_ascii=False, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
