"""Credit check benchmark: service p99, HTTP throughput against /healthz (wrk), batch of 100,000 codes.

    .venv/bin/python bench/bench_checks.py --subjects 500000 --db sqlite,postgresql [--http] [--keep]

Builds (once, cached under var/bench/ or in PostgreSQL database xinyong_bench_<N>) a city of N organisations
with 10 records each, written directly in bulk: 1 registration, 4 licences, 2 inspections (shared), 2
penalties (decided over the last 4 years, public for a year), 1 tax-credit rating (3 % D); 2 % of subjects
in the business-abnormal directory, 1 % on the court's 失信被执行人 list, 1 % sharing a name with another.
Then:
  service  check_one() for 5,000 random codes (found and unknown), p50/p95/p99 per call, log buffered;
  batch    check_batch() with 100,000 codes (90 % found), one transaction, the log rows by one INSERT ... SELECT;
           --batch-rounds N repeats it (warm); each run's steps (check_batch(timings=...)) and load average;
  http     `xinyong serve` (uvicorn, 1 worker) on that database; wrk -t2 -c16 -d10s on /healthz and on
           POST /api/v1/checks (random codes from 2,000), alternating for --rounds rounds against the same
           server; ratio = checks/healthz per round, with the load average and the server's CPU per request.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("XINYONG_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
os.environ.setdefault("XINYONG_SECRET_KEY", "bench-secret-key-0123456789abcdef")
CHUNK = 50_000


def db_url(kind: str, n: int) -> str:
    if kind == "sqlite":
        path = ROOT / "var" / "bench" / f"city-{n}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    return PG_ADMIN.rsplit("/", 1)[0] + f"/xinyong_bench_{n}"


def use(url: str) -> None:
    from xinyong.core import crypto
    from xinyong.core.db import reset_engine
    from xinyong.core.settings import reset_settings

    os.environ["XINYONG_DATABASE_URL"] = url
    reset_settings()
    crypto.clear_key_cache()
    reset_engine()


def uscc_of(i: int) -> str:
    from xinyong.core.identifiers import make_uscc

    return make_uscc("91", "371402", f"{i:08d}")


def build(kind: str, n: int) -> str:
    """Create and fill the bench database unless it already holds n subjects."""
    from sqlalchemy import create_engine, func, select, text

    url = db_url(kind, n)
    if kind == "postgresql":
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(text("select 1 from pg_database where datname = :d"), {"d": f"xinyong_bench_{n}"})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "xinyong_bench_{n}"'))
        admin.dispose()
    use(url)
    from xinyong import db_models  # noqa: F401
    from xinyong.core.db import Base, get_engine, session_scope
    from xinyong.subjects.models import Subject

    engine = get_engine()
    Base.metadata.create_all(engine)
    from sqlalchemy import inspect

    if "layout_id" not in {c["name"] for c in inspect(engine).get_columns("records")}:
        sys.exit(f"{url} was built before positional payloads (records.layout_id): drop it first")
    with session_scope() as s:
        have = s.scalar(select(func.count()).select_from(Subject))
    if have == n:
        return url
    if have:
        sys.exit(f"{url} holds {have} subjects, not {n}: drop it first")
    started = time.perf_counter()
    _fill(engine, kind, n)
    print(f"built {kind} city of {n} subjects / {n * 10} records in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return url


def _fill(engine, kind: str, n: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert

    from xinyong.accounts import service as accounts
    from xinyong.catalog.service import get_catalog
    from xinyong.core.db import session_scope
    from xinyong.records.models import Record
    from xinyong.records.service import catalog_fields, layout_for, payload_text
    from xinyong.subjects.models import Subject

    codes = ("registration", "admin_license", "admin_inspection", "admin_penalty", "tax_credit_rating",
             "business_abnormal", "dishonest_judgment_debtor")
    with session_scope() as s:
        accounts.add_department(s, "XYB", "信用办", credit_office=True)
        for code in ("SCJG", "SW", "FY"):
            accounts.add_department(s, code, code)
        layouts = {c: layout_for(s, get_catalog().get(c)) for c in codes}
    fields = {c: catalog_fields(get_catalog().get(c)) for c in codes}
    rnd = random.Random(42)
    today = date.today()
    now = datetime.now(UTC)
    rid = 0
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        subjects, records = [], []
        for i in range(lo, hi):
            sid = i + 1
            name = f"德州市测试{i // 2 if i % 100 == 1 else i}号商贸有限公司"  # 1 % share a name
            subjects.append({"id": sid, "kind": "legal_person", "name": name, "uscc": uscc_of(i), "region_code": "371402",
                             "status": "存续", "created_at": now, "updated_at": now})
            items = ["registration"] + ["admin_license"] * 4 + ["admin_inspection"] * 2 + ["admin_penalty"] * 2 + ["tax_credit_rating"]
            if i % 50 == 7:
                items[1] = "business_abnormal"
            if i % 100 == 13:
                items[2] = "dishonest_judgment_debtor"
            for j, item in enumerate(items):
                rid += 1
                decided = today - timedelta(days=rnd.randrange(1, 1460))
                start, until, values = decided, None, {"subject_name": name, "uscc": uscc_of(i), "decision_no": f"第{rid}号"}
                if item == "admin_penalty":
                    until = decided + timedelta(days=365)
                elif item == "dishonest_judgment_debtor":
                    until = decided + timedelta(days=730)
                elif item in ("admin_inspection", "tax_credit_rating"):
                    start = None
                    if item == "tax_credit_rating":
                        values["rating"] = "D" if rnd.random() < 0.03 else "B"
                records.append({"id": rid, "subject_id": sid, "item_code": item, "dept_id": 2, "record_key": f"{rid:016x}" * 2, "key64": rid,
                                "content_hash": f"{rid:032x}", "decision_no": f"第{rid}号", "decision_date": decided,
                                "severity": "一般" if item == "admin_penalty" else None, "publish_from": start,
                                "publish_until": until, "state": "active", "version": 1, "late": False,
                                "layout_id": layouts[item], "payload": payload_text(fields[item], values), "created_at": now, "batch_id": None, "source_row": j,
                                "supersedes_id": None, "report_workdays": None})
        with engine.begin() as conn:
            if kind == "postgresql":
                _copy(conn, Subject.__table__, subjects)
                _copy(conn, Record.__table__, records)
            else:
                conn.execute(insert(Subject.__table__), subjects)
                conn.execute(insert(Record.__table__), records)
        print(f"  {hi}/{n}", file=sys.stderr, end="\r")
    if kind == "postgresql":
        with engine.begin() as conn:
            from sqlalchemy import text

            for t in ("subjects", "records"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"))
        # what autovacuum does on a running server (it may be off on a development machine): without it the
        # first query to read the 5M fresh rows sets their hint bits, i.e. rewrites the 1.5 GB of records
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            from sqlalchemy import text

            conn.execute(text("VACUUM (ANALYZE)"))
    else:
        with engine.begin() as conn:
            from sqlalchemy import text

            conn.execute(text("ANALYZE"))


def _copy(conn, table, rows) -> None:  # type: ignore[no-untyped-def]
    cols = list(rows[0])
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in cols])


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def bench_service(n: int, samples: int = 5000) -> dict[str, float]:
    from xinyong.accounts import service as accounts
    from xinyong.checks import fast, service
    from xinyong.checks.logbuffer import buffer
    from xinyong.core.db import new_session

    rnd = random.Random(1)
    session = new_session()
    dept = accounts.get_department(session, "SCJG")
    codes = [uscc_of(rnd.randrange(n)) if k % 10 else uscc_of(n + rnd.randrange(n)) for k in range(samples)]
    for code in codes[:200]:  # warm the caches and the id block
        service.check_one(session, dept=dept, subject=code, matter="基准测试", matter_type="other")
    session.expunge(dept)
    times, slow, results = [], [], {}
    for code in codes:  # the HTTP hot path: fast.check_json (one query on a kept DBAPI connection, JSON bytes)
        t = time.perf_counter()
        data = fast.check_json(dept, code, "基准测试", "other", "")
        times.append((time.perf_counter() - t) * 1000)
        if data is None:  # listed subjects take the regular path
            out = service.check_one(session, dept=dept, subject=code, matter="基准测试", matter_type="other")
            session.rollback()
        else:
            out = json.loads(data)
        results[out["result"]] = results.get(out["result"], 0) + 1
    for code in codes[:1000]:  # the regular path (Session, ORM-free Core statement) for comparison
        t = time.perf_counter()
        service.check_one(session, dept=dept, subject=code, matter="基准测试", matter_type="other")
        session.rollback()  # like a request: its own transaction
        slow.append((time.perf_counter() - t) * 1000)
    session.close()
    buffer.flush()
    return {"samples": samples, "p50_ms": round(statistics.median(times), 3), "p95_ms": round(_pct(times, 0.95), 3),
            "p99_ms": round(_pct(times, 0.99), 3), "max_ms": round(max(times), 3), "results": results,  # type: ignore[dict-item]
            "regular_path_p50_ms": round(statistics.median(slow), 3), "regular_path_p99_ms": round(_pct(slow, 0.99), 3)}


def bench_batch(n: int, size: int = 100_000, rounds: int = 1) -> dict[str, object]:
    """check_batch + commit, `rounds` times (the first is the one inside the full run; later ones are warm)."""
    from xinyong.accounts import service as accounts
    from xinyong.catalog.service import get_catalog
    from xinyong.checks import batch
    from xinyong.core.db import new_session

    get_catalog()  # a server has it loaded at start-up
    import polars  # noqa: F401  (so has it Polars, which its ingest routes import: 0.3-1 s the first time)

    rnd = random.Random(2)
    codes = [uscc_of(rnd.randrange(n)) if k % 10 else uscc_of(n + k) for k in range(size)]
    runs = []
    for _ in range(rounds):
        session = new_session()
        dept = accounts.get_department(session, "SCJG")
        load = os.getloadavg()[0]
        cpu = time.process_time()
        t = time.perf_counter()
        steps: dict[str, float] = {}
        out = batch.check_batch(session, dept=dept, queries=codes, matter="批量基准", matter_type="procurement",
                                timings=steps)
        session.commit()
        seconds = time.perf_counter() - t
        runs.append({"seconds": round(seconds, 2), "steps": steps,
                     "process_cpu_s": round(time.process_time() - cpu, 2),
                     "load_average": [round(load, 2), round(os.getloadavg()[0], 2)]})
        session.close()
    t = time.perf_counter()
    body = json.dumps(out, ensure_ascii=False)
    encode = time.perf_counter() - t
    return {"codes": size, "seconds": runs[0]["seconds"], "runs": runs, "json_encode_s": round(encode, 2),
            "json_mb": round(len(body) / 1e6, 1), "summary": out["summary"]}


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process so far (Linux), 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _wrk(url: str, seconds: int, script: Path | None = None, pid: int | None = None) -> dict[str, float]:
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency"] + (["-s", str(script)] if script else []) + [url]
    cpu = _cpu_seconds(pid)
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    cpu = _cpu_seconds(pid) - cpu
    rps = float(next(line.split()[1] for line in text.splitlines() if line.startswith("Requests/sec")))
    errors = sum(int(w) for line in text.splitlines() if "Non-2xx" in line or "Socket errors" in line
                 for w in line.replace(",", " ").split() if w.isdigit())
    p99 = next((line.split()[1] for line in text.splitlines() if line.strip().startswith("99%")), "?")
    requests = int(next(line.split()[0] for line in text.splitlines() if "requests in" in line))
    out = {"rps": rps, "errors": errors, "p99": p99}
    if pid and requests:  # server CPU per request: what the ratio would be on an otherwise idle machine
        out["server_cpu_us"] = round(cpu / requests * 1e6)
    return out  # type: ignore[return-value]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:  # other developers' benchmarks may hold a fixed port on this machine
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_http(url: str, n: int, seconds: int = 10, port: int = 0, rounds: int = 3) -> dict[str, object]:
    from xinyong.accounts import service as accounts
    from xinyong.core.db import session_scope

    if not shutil.which("wrk"):
        return {"skipped": "wrk 未安装（apt-get install wrk）"}
    with session_scope() as s:
        key = accounts.create_api_key(s, "SCJG", "bench")
    rnd = random.Random(3)
    codes = [uscc_of(rnd.randrange(n)) for _ in range(2000)]
    tmp = Path(tempfile.mkdtemp())
    script = tmp / "post.lua"
    script.write_text(
        "local codes = {" + ",".join(f'"{c}"' for c in codes) + "}\n"
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {key}"\n'
        # the requests are formatted once per wrk thread: wrk shares the 2 CPUs with the server, and a
        # wrk.format() per request would cost the server CPU that /healthz (no script) does not pay
        "local reqs = {}\ninit = function(args)\n  for i, c in ipairs(codes) do\n"
        '    reqs[i] = wrk.format(nil, "/api/v1/checks", nil, \'{"subject":"\' .. c .. \'","matter":"基准测试","matter_type":"license","purpose":"压测"}\')\n'
        "  end\nend\nrequest = function()\n  return reqs[math.random(#reqs)]\nend\n",
        encoding="utf-8")
    env = {**os.environ, "XINYONG_DATABASE_URL": url, "XINYONG_VAR_DIR": str(tmp), "XINYONG_LOG_LEVEL": "WARNING",
           "XINYONG_RUN_SCHEDULER": "0"}  # daily jobs over a 5M-record city would compete with the measurement
    port = port or _free_port()
    server = subprocess.Popen([str(ROOT / ".venv/bin/xinyong"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                import httpx

                if server.poll() is None and httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except Exception:
                time.sleep(0.2)
        if server.poll() is not None:
            raise RuntimeError(f"xinyong serve exited with {server.returncode}")
        _wrk(base + "/healthz", 2)  # warm-up
        _wrk(base + "/api/v1/checks", 2, script)
        pairs = []
        for _ in range(rounds):  # alternating, so that the other load on the machine hits both alike
            load = os.getloadavg()[0]
            health = _wrk(base + "/healthz", seconds, pid=server.pid)
            checks = _wrk(base + "/api/v1/checks", seconds, script, pid=server.pid)
            pairs.append({"healthz": health, "checks": checks, "ratio": round(checks["rps"] / health["rps"], 3),
                          "load_average": [round(load, 2), round(os.getloadavg()[0], 2)]})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
    ratios = sorted(p["ratio"] for p in pairs)
    return {"rounds": pairs, "ratio_median": ratios[len(ratios) // 2],
            "ratio_of_totals": round(sum(p["checks"]["rps"] for p in pairs) / sum(p["healthz"]["rps"] for p in pairs), 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=20_000)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--http", action="store_true", help="also run wrk against `xinyong serve`")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="alternating /healthz and check runs of --seconds each")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: service,batch")
    ap.add_argument("--batch-rounds", type=int, default=1, help="batches of 100,000 in a row (the 2nd and later: warm)")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    report = {"machine": f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPU",
              "python": platform.python_version(), "subjects": args.subjects, "records": args.subjects * 10, "runs": {}}
    for kind in args.db.split(","):
        url = build(kind, args.subjects)
        use(url)
        run: dict[str, object] = {}
        if "service" not in skip:
            run["service"] = bench_service(args.subjects)
        if "batch" not in skip:
            run["batch"] = bench_batch(args.subjects, rounds=args.batch_rounds)
        if args.http:
            run["http"] = bench_http(url, args.subjects, args.seconds, rounds=args.rounds)
        report["runs"][kind] = run  # type: ignore[index]
        print(json.dumps({kind: run}, ensure_ascii=False), file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
