"""Monitoring benchmark: `stats build` for one month against one plain GROUP BY scan, page p95, report time.

    .venv/bin/python bench/bench_stats.py --records 1000000 --db postgresql,sqlite [--keep]

Builds (once, kept in PostgreSQL database xinyong_bench_stats_<N> / var/bench/stats-<N>.db unless dropped) a
city of N/10 subjects in 12 regions and N records of 5 catalog items from 20 departments, written by SQL
(generate_series / a recursive CTE), created evenly over the 24 months before the current one, 1 in 13 late.
Then, in the same run:
  scan    SELECT dept_id, item_code, count(*) FROM records GROUP BY dept_id, item_code (the raw comparison)
  build   xinyong.stats.service.build_month for the last closed month (rebuild), i.e. `stats build --month`
  months  builds the other months once (--months, default 24: the board's 24-month trends)
  pages   GET /admin/stats (operator) and /statistics, 200 requests each in process (TestClient): p50/p95
  report  the month's XLSX + PDF (report_data, to_xlsx, to_pdf)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("XINYONG_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
os.environ.setdefault("XINYONG_SECRET_KEY", "bench-secret-key-0123456789abcdef")
REGIONS = ("371402", "371403", "371422", "371423", "371424", "371425", "371426", "371427", "371428", "371471",
           "371481", "371482")
ITEMS = ("admin_penalty", "admin_license", "admin_inspection", "registration", "honour")


def db_url(kind: str, n: int) -> str:
    if kind == "sqlite":
        path = ROOT / "var" / "bench" / f"stats-{n}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    return PG_ADMIN.rsplit("/", 1)[0] + f"/xinyong_bench_stats_{n}"


def use(url: str) -> None:
    from xinyong.core import crypto
    from xinyong.core.db import reset_engine
    from xinyong.core.settings import reset_settings

    os.environ["XINYONG_DATABASE_URL"] = url
    reset_settings()
    crypto.clear_key_cache()
    reset_engine()


def first_month(today: date) -> date:
    index = today.year * 12 + today.month - 1 - 24
    return date(index // 12, index % 12 + 1, 1)


def _case(expr: str, values: tuple[str, ...]) -> str:
    return "CASE " + " ".join(f"WHEN {expr} = {i} THEN '{v}'" for i, v in enumerate(values)) + " END"


def build(kind: str, n: int) -> str:
    from sqlalchemy import create_engine, func, select, text

    url = db_url(kind, n)
    if kind == "postgresql":
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.scalar(text("select 1 from pg_database where datname = :d"), {"d": url.rsplit("/", 1)[1]}):
                conn.execute(text(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"'))
        admin.dispose()
    use(url)
    from xinyong import db_models  # noqa: F401
    from xinyong.accounts import service as accounts
    from xinyong.core.db import Base, get_engine, session_scope
    from xinyong.records.models import Record

    engine = get_engine()
    Base.metadata.create_all(engine)
    with session_scope() as s:
        have = s.scalar(select(func.count()).select_from(Record))
    if have == n:
        return url
    if have:
        sys.exit(f"{url} holds {have} records, not {n}: drop it first")
    started = time.perf_counter()
    subjects = max(1, n // 10)
    days = (date.today().replace(day=1) - first_month(date.today())).days
    start = first_month(date.today()).isoformat()
    with session_scope() as s:
        accounts.add_department(s, "XYB", "信用办", credit_office=True)
        for i in range(1, 20):
            accounts.add_department(s, f"D{i:02d}", f"德州市第{i}局")
        accounts.create_user(s, "admin", "admin12345", dept_code="XYB", role="operator")
    region = _case("i % 12", REGIONS)
    item = _case("i % 5", ITEMS)
    if kind == "postgresql":
        series = "generate_series(1, {n}) AS g(i)"
        subj = (f"INSERT INTO subjects (id, kind, name, uscc, region_code, status, created_at, updated_at) "
                f"SELECT i, CASE WHEN i % 4 = 0 THEN 'natural_person' ELSE 'legal_person' END, '测试主体' || i, "
                f"CASE WHEN i % 4 = 0 THEN NULL ELSE lpad(i::text, 18, '0') END, {region}, '存续', now(), now() "
                f"FROM {series.format(n=subjects)}")
        rec = (f"INSERT INTO records (id, subject_id, item_code, dept_id, record_key, key64, content_hash, decision_no, "
               f"decision_date, state, version, report_workdays, late, layout_id, payload, created_at) "
               f"SELECT i, 1 + (i::bigint * 7919) % {subjects}, {item}, 1 + i % 20, md5(i::text), "
               f"('x' || substr(md5(i::text), 1, 16))::bit(64)::bigint, md5(i::text), '第' || i || '号', "
               f"DATE '{start}' + (i % {days}), 'active', 1, i % 9, i % 13 = 0, 1, '[]', "
               f"TIMESTAMPTZ '{start} 04:00:00+00' + ((i % {days}) * INTERVAL '1 day') "
               f"FROM {series.format(n=n)}")
    else:
        series = "(WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n}) SELECT i FROM g)"
        subj = (f"INSERT INTO subjects (id, kind, name, uscc, region_code, status, created_at, updated_at) "
                f"SELECT i, CASE WHEN i % 4 = 0 THEN 'natural_person' ELSE 'legal_person' END, '测试主体' || i, "
                f"CASE WHEN i % 4 = 0 THEN NULL ELSE printf('%018d', i) END, {region}, '存续', "
                f"'2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000' FROM {series.format(n=subjects)}")
        rec = (f"INSERT INTO records (id, subject_id, item_code, dept_id, record_key, key64, content_hash, decision_no, "
               f"decision_date, state, version, report_workdays, late, layout_id, payload, created_at) "
               f"SELECT i, 1 + (i * 7919) % {subjects}, {item}, 1 + i % 20, printf('%016x%016x', i, i), i, "
               f"printf('%032d', i), "
               f"'第' || i || '号', date('{start}', '+' || (i % {days}) || ' days'), 'active', 1, i % 9, i % 13 = 0, 1, "
               f"'[]', strftime('%Y-%m-%d 04:00:00.000000', '{start}', '+' || (i % {days}) || ' days') "
               f"FROM {series.format(n=n)}")
    with engine.begin() as conn:
        conn.execute(text(subj))
        conn.execute(text(rec))
    if kind == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE records"))
            conn.execute(text("VACUUM ANALYZE subjects"))
    print(f"built {kind} city of {subjects} subjects / {n} records in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    return url


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(kind: str, n: int, requests: int, months: int) -> dict[str, object]:
    from sqlalchemy import text

    from xinyong.core.db import session_scope
    from xinyong.stats import report, service
    from xinyong.stats.rules import month_of

    url = build(kind, n)
    use(url)
    today = date.today()
    month = month_of(today).previous()
    out: dict[str, object] = {"db": kind, "records": n, "month": month.label, "machine": f"{os.cpu_count()} cores, "
                              f"{platform.python_version()}", "load": os.getloadavg()[0]}
    # Alternate scan and build, three rounds (the machine is shared: the minimum is the least disturbed run;
    # the first build also loads the catalog and the indicator files).
    scans, builds = [], []
    for _ in range(3):
        with session_scope() as s:
            t = time.perf_counter()
            s.execute(text("SELECT dept_id, item_code, count(*) FROM records GROUP BY dept_id, item_code")).all()
            scans.append(time.perf_counter() - t)
        with session_scope() as s:
            t = time.perf_counter()
            service.build_month(s, month.label, today=today, actor="bench", rebuild=True)
            builds.append(time.perf_counter() - t)
    out["scan_s"] = [round(x, 3) for x in scans]
    out["build_s"] = [round(x, 3) for x in builds]
    out["ratio_min"] = round(min(builds) / min(scans), 2)
    out["ratio_median"] = round(statistics.median(builds) / statistics.median(scans), 2)
    t = time.perf_counter()
    for back in range(1, months):
        with session_scope() as s:
            service.build_month(s, month.shift(-back).label, today=today, actor="bench", rebuild=True)
    out[f"other_{months - 1}_months_s"] = round(time.perf_counter() - t, 1)

    from fastapi.testclient import TestClient

    from xinyong.web.app import create_app

    with TestClient(create_app()) as client:
        import re

        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/verify").text)
        login = client.post("/admin/login", data={"username": "admin", "password": "admin12345",
                                                  "csrf_token": token.group(1) if token else ""},
                            follow_redirects=False)
        assert login.status_code == 303, login.status_code
        for path in ("/admin/stats", "/statistics"):
            times = []
            for _ in range(requests):
                t = time.perf_counter()
                r = client.get(path, follow_redirects=False)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200 and "chart-table" in r.text, (path, r.status_code)
            out[f"{path}_p50_ms"] = round(statistics.median(times), 1)
            out[f"{path}_p95_ms"] = round(pct(times, 0.95), 1)
    with session_scope() as s:
        t = time.perf_counter()
        data = report.report_data(s, month)
        xlsx, pdf = report.to_xlsx(data), report.to_pdf(data)
        out["report_s"] = round(time.perf_counter() - t, 2)
        out["report_bytes"] = {"xlsx": len(xlsx), "pdf": len(pdf)}
    return out


def drop(kind: str, n: int) -> None:
    from sqlalchemy import create_engine, text

    from xinyong.core.db import reset_engine

    reset_engine()
    url = db_url(kind, n)
    if kind == "sqlite":
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", default="postgresql,sqlite")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--months", type=int, default=24, help="months built for the board's trends")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases for the next run")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    for kind in args.db.split(","):
        try:
            print(json.dumps(run(kind, args.records, args.requests, args.months), ensure_ascii=False), flush=True)
        finally:
            if not args.keep:
                drop(kind, args.records)


if __name__ == "__main__":
    main()
