"""Sharing benchmark: a partner reads the change feed, and exports an item to Parquet, from a real server.

    .venv/bin/python bench/bench_sharing.py --rows 1000000          # PostgreSQL
    .venv/bin/python bench/bench_sharing.py --rows 100000 --keep    # keep the database for another run

Setup (once per database, kept with --keep): penalty rows from `xinyong.demo.fast.write_penalty_csv`, dated
around today, ingested by `ingest_file` into a fresh PostgreSQL database, then every record put in force by one
UPDATE (the generated decisions span years: most windows would be over, and the export would be small). Then a
real `uvicorn` server process (one worker) serves the app, and this process, as the partner, reads
`GET /api/v1/feed` page by page (limit 10,000) to the end, and streams `GET /api/v1/exports/admin_penalty.parquet`
to a file. The server's peak RSS (VmHWM) is read from /proc, for the feed and (reset in between) for the export. The raw comparison, in the same run: the same
rows read by one plain SELECT through psycopg (the floor a feed of these rows cannot go under).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PORT = int(os.environ.get("BENCH_PORT", "18731"))


def _env(url: str, var: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(XINYONG_DATABASE_URL=url, XINYONG_VAR_DIR=str(var), XINYONG_KEY_FILE=str(var / "secret.key"),
               XINYONG_AUDIT_WITNESS_DIR=str(var / "witness"), PYTHONPATH=str(Path(__file__).parents[1] / "src"))
    return env


def prepare(url: str, var: Path, rows: int) -> dict[str, Any]:
    code = f"""
import time
from datetime import date
from pathlib import Path
from xinyong.core.migrate import upgrade
from xinyong.core.keyring import ensure_key_file
from xinyong.accounts import service as accounts
from xinyong.core.db import session_scope
from xinyong.demo.fast import write_penalty_csv
from xinyong.ingest.service import ingest_file
ensure_key_file()
upgrade()
path = Path({str(var)!r}) / "penalties.csv"
write_penalty_csv(path, {rows}, today=date.today())
with session_scope() as s:
    accounts.add_department(s, "SCJG", "德州市市场监督管理局")
t = time.perf_counter()
with session_scope() as s:
    summary = ingest_file(s, path, "admin_penalty", "SCJG", today=date.today())
print(summary.accepted, round(time.perf_counter() - t, 1))
path.unlink()
# Every record in force (the generated decisions span years, most windows would be over): the export then
# carries every row, and the feed sends every row as an upsert.
from sqlalchemy import text
with session_scope() as s:
    s.execute(text("UPDATE records SET state = 'active', publish_until = NULL, "
                   "publish_from = COALESCE(publish_from, decision_date)"))
from xinyong.core.db import get_engine
with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as c:
    c.execute(text("VACUUM ANALYZE records"))
"""
    out = subprocess.run([sys.executable, "-c", code], env=_env(url, var), check=True, capture_output=True,
                         text=True)
    accepted, seconds = out.stdout.split()[-2:]
    return {"records": int(accepted), "ingest_s": float(seconds)}


def partner_key(url: str, var: Path, code: str) -> str:
    snippet = f"""
from xinyong.core.db import session_scope
from xinyong.exchange.sharing import service
with session_scope() as s:
    _, key = service.add_partner(s, {code!r}, "压测合作方", [service.ScopeIn("admin_penalty", "shared", "masked")],
                                 rate_limit="100000 per minute", purpose="压测")
print(key)
"""
    out = subprocess.run([sys.executable, "-c", snippet], env=_env(url, var), check=True, capture_output=True,
                         text=True)
    return out.stdout.strip().splitlines()[-1]


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (its own, not the database server's)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(url: str, var: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "xinyong.web.app:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(PORT), "--log-level", "warning"],
                            env=_env(url, var))
    import httpx

    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def read_feed(key: str, limit: int) -> dict[str, Any]:
    import httpx
    import orjson

    started = time.perf_counter()
    changes = pages = 0
    cursor = None
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=300,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            r = client.get("/api/v1/feed", params=params)
            r.raise_for_status()
            body = orjson.loads(r.content)
            changes += len(body["changes"])
            pages += 1
            cursor = body["cursor"]
            if not body["more"]:
                break
    seconds = time.perf_counter() - started
    return {"changes": changes, "pages": pages, "seconds": round(seconds, 1), "per_s": round(changes / seconds)}


def export(key: str, out: Path) -> dict[str, Any]:
    import httpx
    import pyarrow.parquet as pq

    started = time.perf_counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=600,
                      headers={"Authorization": f"Bearer {key}"}) as client, \
            client.stream("GET", "/api/v1/exports/admin_penalty.parquet") as r, out.open("wb") as fh:
        r.raise_for_status()
        for block in r.iter_bytes(1 << 20):
            fh.write(block)
    seconds = time.perf_counter() - started
    rows = pq.ParquetFile(out).metadata.num_rows
    return {"rows": rows, "seconds": round(seconds, 1), "mb": round(out.stat().st_size / 1e6, 1),
            "per_s": round(rows / seconds)}


def raw_select(dsn: str) -> dict[str, Any]:
    import psycopg

    started = time.perf_counter()
    n = 0
    with psycopg.connect(dsn) as conn, conn.cursor(name="raw") as cur:
        cur.itersize = 10_000
        cur.execute("SELECT id, record_key, item_code, state, version, supersedes_id, decision_no, decision_date, "
                    "severity, publish_from, publish_until, layout_id, payload, secrets FROM records ORDER BY id")
        for _ in cur:
            n += 1
    seconds = time.perf_counter() - started
    return {"rows": n, "seconds": round(seconds, 1), "per_s": round(n / seconds)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--limit", type=int, default=10_000)
    ap.add_argument("--keep", action="store_true", help="keep (and reuse) the database bench_sharing_<rows>")
    args = ap.parse_args()
    import psycopg

    name = f"bench_sharing_{args.rows}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
        if exists and not args.keep:
            admin.execute(f'DROP DATABASE "{name}"')
            exists = False
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    url = dsn.replace("postgresql://", "postgresql+psycopg://")
    var = Path(tempfile.gettempdir()) / f"xinyong-bench-sharing-{args.rows}"
    var.mkdir(exist_ok=True)
    result: dict[str, Any] = {"rows": args.rows, "load_avg_1m_at_start": os.getloadavg()[0],
                              "today": date.today().isoformat()}
    if not exists:
        result["prepare"] = prepare(url, var, args.rows)
    key = partner_key(url, var, f"BENCH{int(time.time())}")
    server = start_server(url, var)
    try:
        result["server_rss_at_start_mb"] = vm_hwm_mb(server.pid)
        cpu = cpu_s(server.pid)
        result["feed"] = read_feed(key, args.limit)
        result["feed"]["server_cpu_s"] = round(cpu_s(server.pid) - cpu, 1)
        result["feed"]["server_peak_rss_mb"] = vm_hwm_mb(server.pid)
        result["raw_select"] = raw_select(dsn)
        Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) for the export
        cpu = cpu_s(server.pid)
        result["export_parquet"] = export(key, var / "export.parquet")
        result["export_parquet"]["server_cpu_s"] = round(cpu_s(server.pid) - cpu, 1)
        result["export_parquet"]["server_peak_rss_mb"] = vm_hwm_mb(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    if not args.keep:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
