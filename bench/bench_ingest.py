"""Ingest benchmark: raw COPY vs `ingest_file` on PostgreSQL, ingest on SQLite, peak memory.

    .venv/bin/python bench/bench_ingest.py --rows 1000000            # both databases
    .venv/bin/python bench/bench_ingest.py --rows 250000 --only sqlite
    .venv/bin/python bench/bench_ingest.py --rows 1000000 --json results.json

The penalty CSV comes from `xinyong.demo.fast.write_penalty_csv` (national 双公示 format, every catalog
column, ~540 bytes a row). PostgreSQL (127.0.0.1:5432, user postgres) gets a fresh database per run,
dropped at the end: the same file is first COPYed raw into a plain table of text columns, then ingested,
then COPYed raw once more (the raw rate is the mean of the two, so that a noisy neighbour hurts both
sides alike). Then the records the ingest wrote are COPYed back into a fresh table shaped like `records`,
without and with its indexes: the floor an ingest writing those rows cannot go under. Every ingest runs in a child process that reports its own peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TODAY = date(2025, 6, 30)
VARIANTS = False  # --floor-variants  # the demo writer's anchor day: dates in the file are relative to it


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines()
                          if x.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration):
        mem_kb = 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"nproc": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1), "cpu": cpu,
            "python": platform.python_version(), "load_avg_1m_at_start": load}


# ---- child: one ingest, measured from inside its own process ---------------------------------------


def child(url: str, path: str) -> None:
    os.environ["XINYONG_DATABASE_URL"] = url
    os.environ.setdefault("XINYONG_SECRET_KEY", "bench-secret-key-0123456789")
    from xinyong import db_models  # noqa: F401
    from xinyong.accounts import service as accounts
    from xinyong.core.db import Base, get_engine, session_scope
    from xinyong.ingest.service import ingest_file

    Base.metadata.create_all(get_engine())
    with session_scope() as session:
        accounts.add_department(session, "SCJG", "德州市市场监督管理局")
    server_before = _server_cpu()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with session_scope() as session:
        summary = ingest_file(session, Path(path), "admin_penalty", "SCJG", today=TODAY)
        server_after = _server_cpu()  # the batch's backends are still connected here
    seconds = time.perf_counter() - started  # includes the commit
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {"seconds": seconds, "rows": summary.rows, "accepted": summary.accepted,
           "rejected": summary.rejected, "duplicates": summary.duplicates,
           "peak_rss_mb": round(usage.ru_maxrss / 1024),
           # CPU of the ingest itself (imports and schema creation before it left out)
           "cpu_user_s": round(usage.ru_utime - before.ru_utime, 2),
           "cpu_sys_s": round(usage.ru_stime - before.ru_stime, 2)}
    if url.startswith("postgresql"):
        # every PostgreSQL process (the batch's two backends, WAL writer, checkpointer …) during the ingest;
        # on a shared machine it also counts other sessions' queries
        out["server_cpu_s"] = round(sum(cpu - server_before.get(pid, 0.0) for pid, cpu in server_after.items()), 2)
    get_engine().dispose()  # SQLite: the last connection closed checkpoints the WAL, so db_mb is the database
    print(json.dumps(out))


def _server_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of every process named postgres, by pid (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        if raw[raw.index("(") + 1:raw.rindex(")")] != "postgres":
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        out[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def run_child(url: str, path: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", url, str(path)], check=True,
                         capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["rows_per_s"] = round(result["rows"] / result["seconds"])
    return result


# ---- PostgreSQL -------------------------------------------------------------------------------------


def raw_copy(dsn: str, path: Path) -> float:
    import psycopg

    with path.open("rb") as fh:
        columns = fh.readline().decode("utf-8-sig").count(",") + 1
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS raw_copy")
        conn.execute("CREATE TABLE raw_copy (" + ", ".join(f"c{i} text" for i in range(columns)) + ")")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY raw_copy FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                path.open("rb") as fh:
            while block := fh.read(1 << 20):
                copy.write(block)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE raw_copy")
        conn.commit()
    return seconds


def records_floor(dsn: str, tmp: Path) -> dict[str, float]:
    """The ingest's unavoidable part: the same records rows COPYed back in, with and without their indexes.

    Run after the ingest, on its own output: `records` is dumped in the text format and loaded into a fresh
    table shaped like it (LIKE ... INCLUDING DEFAULTS: no indexes; INCLUDING ALL: its indexes too). The
    difference between the ingest and these is what reading, checking and matching cost on top.
    """
    import psycopg

    dump = tmp / "records.tsv"
    out: dict[str, float] = {}
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur, cur.copy("COPY records TO STDOUT") as copy, dump.open("wb") as fh:
            for block in copy:
                fh.write(block)
        out["records_mb"] = round(dump.stat().st_size / 1e6, 1)
        for name, like in (("heap_only", "INCLUDING DEFAULTS"), ("with_indexes", "INCLUDING ALL")):
            conn.execute("DROP TABLE IF EXISTS floor_records")
            conn.execute(f"CREATE TABLE floor_records (LIKE records {like})")
            conn.commit()
            conn.execute("CHECKPOINT")
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy("COPY floor_records FROM STDIN") as copy, dump.open("rb") as fh:
                while block := fh.read(1 << 20):
                    copy.write(block)
            conn.commit()
            out[f"records_copy_{name}_s"] = round(time.perf_counter() - started, 2)
        # index by index: the heap plus one index at a time, each as the records table defines it
        indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'records' "
                               "ORDER BY indexname").fetchall()
        for index, definition in indexes:
            conn.execute("DROP TABLE IF EXISTS floor_records")
            conn.execute("CREATE TABLE floor_records (LIKE records INCLUDING DEFAULTS)")
            conn.execute(definition.replace(f"INDEX {index} ON", "INDEX floor_ix ON", 1)
                         .replace("public.records", "public.floor_records", 1))
            conn.commit()
            conn.execute("CHECKPOINT")
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy("COPY floor_records FROM STDIN") as copy, dump.open("rb") as fh:
                while block := fh.read(1 << 20):
                    copy.write(block)
            conn.commit()
            out[f"records_copy_heap_and_{index}_s"] = round(time.perf_counter() - started, 2)
        conn.execute("DROP TABLE floor_records")
        conn.commit()
    dump.unlink()
    return out


def _timed_copy(conn: Any, dump: Path, target: str = "floor_records", options: str = "") -> float:
    conn.execute("CHECKPOINT")
    started = time.perf_counter()
    with conn.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN{options}") as copy, dump.open("rb") as fh:
        while block := fh.read(1 << 20):
            copy.write(block)
    conn.commit()
    return round(time.perf_counter() - started, 2)


def floor_variants(dsn: str, tmp: Path) -> dict[str, float]:
    """What PostgreSQL offers append-mostly tables, each variant COPYing the same records dump into a fresh
    table shaped like `records` (issue 16): its indexes as defined; the btree indexes at fillfactor 100
    (pages packed full: the keys arrive in random order except the id, so the gain is in size, not splits);
    a BRIN on id instead of the primary key's btree (not a candidate, as it cannot enforce uniqueness: shown
    for scale); heap only with `COPY … FREEZE` into a table created in the same transaction (what a first
    load into a fresh partition would get), against the plain heap-only COPY."""
    import psycopg

    dump = tmp / "records-variants.tsv"
    out: dict[str, float] = {}
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur, cur.copy("COPY records TO STDOUT") as copy, dump.open("wb") as fh:
            for block in copy:
                fh.write(block)
        indexes = [d for (d,) in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'records' "
                                              "ORDER BY indexname").fetchall()]

        def fresh(defs: list[str]) -> None:
            conn.execute("DROP TABLE IF EXISTS floor_records")
            conn.execute("CREATE TABLE floor_records (LIKE records INCLUDING DEFAULTS)")
            for n, d in enumerate(defs):
                name = d.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
                conn.execute(d.replace(f"INDEX {name} ON", f"INDEX floor_ix{n} ON", 1)
                             .replace("public.records", "public.floor_records", 1))
            conn.commit()

        for round_ in (1, 2):  # twice, interleaved, so that a noisy neighbour hurts every variant alike
            fresh([])
            out[f"heap_only_{round_}"] = _timed_copy(conn, dump)
            conn.execute("DROP TABLE IF EXISTS floor_records")
            conn.execute("CREATE TABLE floor_records (LIKE records INCLUDING DEFAULTS)")
            out[f"heap_only_freeze_{round_}"] = _timed_copy(conn, dump, options=" (FREEZE)")  # same transaction
            fresh(indexes)
            out[f"as_defined_{round_}"] = _timed_copy(conn, dump)
            fresh([d + " WITH (fillfactor = 100)" if " USING btree " in d else d for d in indexes])
            out[f"fillfactor_100_{round_}"] = _timed_copy(conn, dump)
            fresh([d if "pk_records" not in d else
                   "CREATE INDEX pk_brin ON public.records USING brin (id)" for d in indexes])
            out[f"brin_id_instead_of_pk_{round_}"] = _timed_copy(conn, dump)
        conn.execute("DROP TABLE floor_records")
        conn.commit()
    dump.unlink()
    return out


def bench_postgres(path: Path, rows: int) -> dict[str, Any]:
    import psycopg

    name = f"xinyong_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        first = raw_copy(dsn, path)
        ingest = run_child(dsn.replace("postgresql://", "postgresql+psycopg://", 1), path)
        second = raw_copy(dsn, path)
        floor = records_floor(dsn, path.parent)
        variants = floor_variants(dsn, path.parent) if VARIANTS else {}
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    raw_seconds = (first + second) / 2
    raw_rate = rows / raw_seconds
    return {"raw_copy_seconds": [round(first, 2), round(second, 2)], "raw_copy_rows_per_s": round(raw_rate),
            "ingest": ingest, "ratio": round(ingest["rows_per_s"] / raw_rate, 3), "records_floor": floor,
            # the best ratio an ingest writing these records could reach, with nothing else to do
            "floor_ratio": round(raw_seconds / floor["records_copy_with_indexes_s"], 3),
            **({"floor_variants": variants} if variants else {})}


def sqlite_floor(db: Path, tmp: Path) -> dict[str, float]:
    """SQLite's floor, as PostgreSQL's: the records the ingest wrote, inserted again by one `executemany` in
    one transaction (as the loader does, rows as tuples) into a fresh file with the `records` table as the
    application creates it, with and without its indexes; and the journal / synchronous choices with the
    indexes. WAL + NORMAL is what the application runs: a crash leaves nothing of an uncommitted batch in
    every mode here, but OFF can corrupt the database on a power loss, so it is measured, not a candidate."""
    import sqlite3

    src = sqlite3.connect(db)
    table_sql = src.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'records'").fetchone()[0]
    index_sql = [r[0] for r in src.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' "
                                           "AND sql IS NOT NULL ORDER BY name")]
    columns = [r[1] for r in src.execute("PRAGMA table_info(records)")]
    rows = src.execute("SELECT * FROM records ORDER BY id").fetchall()
    src.close()
    insert = f"INSERT INTO records ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    out: dict[str, float] = {"rows": len(rows)}
    variants = [("heap_only", "WAL", "NORMAL", False), ("with_indexes", "WAL", "NORMAL", True),
                ("with_indexes_wal_full", "WAL", "FULL", True), ("with_indexes_delete_normal", "DELETE", "NORMAL", True),
                ("with_indexes_wal_off", "WAL", "OFF", True)]
    for name, journal, sync, indexed in variants:
        target = tmp / f"floor-{uuid.uuid4().hex[:8]}.db"
        conn = sqlite3.connect(target, isolation_level=None)
        for pragma in (f"journal_mode={journal}", f"synchronous={sync}", "temp_store=MEMORY", "cache_size=-65536"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute(table_sql)
        for ddl in index_sql if indexed else []:
            conn.execute(ddl)
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(insert, rows)
        conn.execute("COMMIT")
        out[f"records_insert_{name}_s"] = round(time.perf_counter() - started, 2)
        conn.close()
        for p in tmp.glob(target.name + "*"):
            p.unlink()
    out["floor_rows_per_s"] = round(len(rows) / out["records_insert_with_indexes_s"])
    return out


def bench_sqlite(path: Path, tmp: Path) -> dict[str, Any]:
    db = tmp / f"bench-{uuid.uuid4().hex[:8]}.db"  # a fresh file per run
    try:
        result = run_child(f"sqlite:///{db}", path)
        result["db_mb"] = round(sum(p.stat().st_size for p in tmp.glob(db.name + "*")) / 1e6)
        return {"ingest": result, "records_floor": sqlite_floor(db, tmp)}
    finally:
        for p in tmp.glob(db.name + "*"):
            p.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--floor-variants", action="store_true",
                        help="PostgreSQL: also COPY the records with fillfactor 100, a BRIN for the key, FREEZE")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    global VARIANTS
    VARIANTS = args.floor_variants
    from xinyong.demo.fast import write_penalty_csv

    results: dict[str, Any] = {"machine": machine(), "command": " ".join([Path(sys.executable).name, *sys.argv]),
                               "runs": []}
    with tempfile.TemporaryDirectory(prefix="xinyong-bench-") as tmpdir:
        tmp = Path(tmpdir)
        for rows in args.rows:
            path = tmp / f"penalties-{rows}.csv"
            write_penalty_csv(path, rows, seed=7)
            run: dict[str, Any] = {"rows": rows, "file_mb": round(path.stat().st_size / 1e6, 1)}
            if args.only != "sqlite":
                run["postgresql"] = bench_postgres(path, rows)
            if args.only != "postgresql":
                run["sqlite"] = bench_sqlite(path, tmp)
            results["runs"].append(run)
            print(json.dumps(run, ensure_ascii=False), flush=True)
            path.unlink()
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(results["machine"], ensure_ascii=False))


if __name__ == "__main__":
    main()
