"""Search benchmark: latency (p50/p95/p99) and top-10 recall against a brute-force rapidfuzz oracle.

    .venv/bin/python bench/bench_search.py --subjects 500000 --db sqlite,postgresql

Builds a demo city of N organisations (plus the natural persons the demo generator mixes in, which must
never be found) directly in bulk, then runs queries of five classes through search_subjects():
  substring    4–8 consecutive characters of a real name
  traditional  the same, converted to traditional characters (only where that changes the text)
  typo         6–10 characters of a real name with one character replaced, dropped or doubled
  code         a whole unified code, or 6–10 of its characters
  short        2 characters of a real name (the side table of two-character runs, subjects.grams; timed only)
Recall: for each query the oracle scores every organisation name with rapidfuzz partial_ratio against the
simplified query; the relevant set is every name scoring at least the 10th best score (ties included);
recall = |our top 10 ∩ relevant| / min(10, |relevant|), averaged. "target" = the name the query was
built from is in our top 10 (or an equally-named one is).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("XINYONG_SECRET_KEY", "bench-secret-key-0123456789abcdef")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rapidfuzz import fuzz, process
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from xinyong import db_models
from xinyong.core.db import Base, make_engine
from xinyong.search.query import normalise_query, to_traditional
from xinyong.search.service import search_subjects
from xinyong.subjects.grams import grams_frame

_ = db_models
PG_ADMIN = os.environ.get("XINYONG_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TODAY = date(2025, 11, 1)


# ---- the city -----------------------------------------------------------------------------------

def generate(n_orgs: int, seed: int) -> list[tuple[str, str, str | None, str]]:
    """(kind, name, uscc, region) rows: n_orgs organisations plus the persons generated among them."""
    try:
        from xinyong.demo.subjects import make_subject
    except ImportError:  # demo generator not available: a compact stand-in
        return _compact(n_orgs, seed)
    rows: list[tuple[str, str, str | None, str]] = []
    orgs = i = 0
    while orgs < n_orgs:
        s = make_subject(seed, i, TODAY)
        i += 1
        if s.kind == "natural_person":
            rows.append((s.kind, s.name, None, s.region))
        else:
            rows.append((s.kind, s.name, s.uscc, s.region))
            orgs += 1
    return rows


def _compact(n_orgs: int, seed: int) -> list[tuple[str, str, str | None, str]]:
    from xinyong.core.identifiers import make_uscc

    rng = random.Random(seed)
    heads = ["德州市德城区", "德州市陵城区", "宁津县", "庆云县", "临邑县", "齐河县", "平原县", "夏津县", "武城县", "乐陵市", "禹城市"]
    trades = [a + b for a in "恒鑫金华宏瑞永德润晨中信盛博佳天齐鲁万福汇和聚鼎东新兴泰众益嘉丰" for b in "达源丰图祥泰润光正远美衢通信瑞顺"]
    inds = ["机械制造", "商贸", "建材", "食品", "科技", "物流", "农业科技", "化工", "纺织", "餐饮管理", "建筑工程", "汽车销售"]
    forms = ["有限公司", "有限责任公司", "股份有限公司"]
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    rows: list[tuple[str, str, str | None, str]] = []
    for i in range(n_orgs):
        body = "MA" + "".join(alphabet[(i // 31**k) % 31] for k in range(6))
        name = rng.choice(heads) + rng.choice(trades) + rng.choice(inds) + rng.choice(forms)
        rows.append(("legal_person", name, make_uscc("91", "371402", body), "371402"))
    return rows


def load(url: str, rows: list[tuple[str, str, str | None, str]]) -> float:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            buf = io.StringIO()
            for i, (kind, name, uscc, region) in enumerate(rows):
                buf.write(f"{kind}\t{name}\t{uscc or chr(92) + 'N'}\t"
                          f"{'bench' + str(i) if kind == 'natural_person' else chr(92) + 'N'}\t{region}\t存续\t{now.isoformat()}\t{now.isoformat()}\n")
            buf.seek(0)
            with cur.copy("COPY subjects (kind, name, uscc, id_hash, region_code, status, created_at, updated_at) "  # type: ignore[attr-defined]
                          "FROM STDIN") as copy:
                while chunk := buf.read(1 << 20):
                    copy.write(chunk)
            raw.commit()
            _load_grams(raw, postgres=True)
            # VACUUM flushes the GIN pending list, as autovacuum does in service.
            with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text("VACUUM ANALYZE subjects"))
                conn.execute(text("VACUUM ANALYZE subject_grams"))
        else:
            sql = ("INSERT INTO subjects (kind, name, uscc, id_hash, region_code, status, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, '存续', ?, ?)")
            stamp = now.isoformat(" ")
            for start in range(0, len(rows), 50_000):
                cur.executemany(sql, [(k, n, u, f"bench{start + j}" if k == "natural_person" else None, r, stamp, stamp)
                                      for j, (k, n, u, r) in enumerate(rows[start:start + 50_000])])
            raw.commit()
            _load_grams(raw, postgres=False)
            cur.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
    took = time.perf_counter() - started
    engine.dispose()
    return took


def _load_grams(raw: Any, *, postgres: bool) -> None:
    """The side table of two-character runs, as ingest writes it (subjects.grams.grams_frame), in bulk."""
    cur = raw.cursor()
    cur.execute("SELECT id, name FROM subjects WHERE kind <> 'natural_person' ORDER BY id")
    while rows := cur.fetchmany(100_000):
        frame = grams_frame([r[0] for r in rows], [r[1] for r in rows])
        if postgres:
            out = io.BytesIO()
            frame.write_csv(out, include_header=False, separator="\t", quote_style="never")
            with raw.cursor() as w, w.copy("COPY subject_grams (gram, subject_id) FROM STDIN") as copy:
                copy.write(out.getvalue())
        else:
            raw.cursor().executemany("INSERT INTO subject_grams (gram, subject_id) VALUES (?, ?)", frame.iter_rows())
    raw.commit()


# ---- queries --------------------------------------------------------------------------------------

def build_queries(orgs: list[tuple[int, str, str]], per_class: int, seed: int) -> list[tuple[str, str, int]]:
    """(class, query, target subject id)."""
    rng = random.Random(seed)
    alphabet = sorted({ch for _, name, _ in orgs[:20_000] for ch in name})
    out: list[tuple[str, str, int]] = []

    def pick(min_len: int) -> tuple[int, str, str]:
        while True:
            row = orgs[rng.randrange(len(orgs))]
            if len(row[1]) >= min_len:
                return row

    def window(name: str, lo: int, hi: int) -> str:
        size = rng.randint(lo, min(hi, len(name)))
        start = rng.randrange(len(name) - size + 1)
        return name[start:start + size]

    for _ in range(per_class):
        sid, name, _u = pick(4)
        out.append(("substring", window(name, 4, 8), sid))
    made = 0
    while made < per_class:
        sid, name, _u = pick(4)
        trad = to_traditional(window(name, 4, 8))
        if normalise_query(trad).primary != trad:
            out.append(("traditional", trad, sid))
            made += 1
    made = 0
    while made < per_class:
        sid, name, _u = pick(6)
        w = window(name, 6, 10)
        i = rng.randrange(len(w))
        edit = rng.random()
        if edit < 0.6:
            typo = w[:i] + rng.choice(alphabet) + w[i + 1:]
        elif edit < 0.8 and 0 < i < len(w) - 1:
            typo = w[:i] + w[i + 1:]
        else:
            typo = w[:i] + w[i] + w[i:]
        if typo != w and typo not in name:
            out.append(("typo", typo, sid))
            made += 1
    for k in range(per_class):
        sid, _n, uscc = pick(1)
        q = uscc if k % 2 == 0 else window(uscc, 6, 10)
        out.append(("code", q, sid))
    for _ in range(per_class):
        sid, name, _u = pick(2)
        out.append(("short", window(name, 2, 2), sid))
    return out


def oracle(query: str, names: list[str], ids: list[int]) -> set[int]:
    q = normalise_query(query).primary
    found = process.extract(q, names, scorer=fuzz.partial_ratio, limit=None, score_cutoff=50)
    if not found:
        return set()
    found.sort(key=lambda r: -r[1])
    cut = found[min(9, len(found) - 1)][1]
    return {ids[idx] for _, score, idx in found if score >= cut}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def run(url: str, label: str, rows: list[tuple[str, str, str | None, str]], per_class: int, seed: int,
        repeat: int, busy_clients: int = 0, busy_rows: int = 0) -> dict[str, object]:
    load_s = load(url, rows)
    print(f"[{label}] loaded {len(rows):,} subjects in {load_s:.1f} s ({len(rows) / load_s:,.0f}/s, index included)",
          file=sys.stderr)
    engine = make_engine(url)
    with Session(engine) as session:
        orgs = [(r[0], r[1], r[2]) for r in session.execute(
            text("SELECT id, name, uscc FROM subjects WHERE kind <> 'natural_person' ORDER BY id"))]
        names = [o[1] for o in orgs]
        ids = [o[0] for o in orgs]
        name_of = dict(zip(ids, names, strict=True))
        queries = build_queries(orgs, per_class, seed)
        for _cls, q, _ in queries[:: max(1, len(queries) // 30)]:  # warm caches
            search_subjects(session, q, limit=10)
        timings: dict[str, list[float]] = {}
        recalls: dict[str, list[float]] = {}
        targets: dict[str, list[bool]] = {}
        for cls, q, target in queries:
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                result = search_subjects(session, q, limit=10)
                best = min(best, (time.perf_counter() - t0) * 1000)
                session.rollback()
            timings.setdefault(cls, []).append(best)
            got = [item.id for item in result.items]
            targets.setdefault(cls, []).append(target in got or name_of[target] in {name_of[i] for i in got})
            if cls in ("substring", "traditional", "typo"):
                relevant = oracle(q, names, ids)
                if relevant:
                    recalls.setdefault(cls, []).append(len(set(got) & relevant) / min(10, len(relevant)))
    engine.dispose()
    under_load = busy(url, queries, busy_clients, busy_rows, seed) if busy_clients else None
    all_ms = [t for cls, ts in timings.items() if cls != "short" for t in ts]
    report: dict[str, object] = {
        "database": label, "subjects": len(rows), "organisations": len(orgs), "load_seconds": round(load_s, 1),
        "p50_ms": round(pct(all_ms, 50), 1), "p95_ms": round(pct(all_ms, 95), 1), "p99_ms": round(pct(all_ms, 99), 1),
        "recall_at_10": round(statistics.mean([r for rs in recalls.values() for r in rs]), 4),
        "classes": {
            cls: {"n": len(ts), "p50_ms": round(pct(ts, 50), 1), "p95_ms": round(pct(ts, 95), 1),
                  "max_ms": round(max(ts), 1),
                  "recall_at_10": round(statistics.mean(recalls[cls]), 4) if recalls.get(cls) else None,
                  "target_in_top10": round(sum(targets[cls]) / len(targets[cls]), 4)}
            for cls, ts in timings.items()
        },
    }
    if under_load is not None:
        report["under_load"] = under_load
    return report


# ---- under load: many clients searching while an ingest runs ----------------------------------------


def _client(url: str, queries: list[str], seed: int, ready: Any, go: Any, stop: Any, out: Any) -> None:
    """One client process: connects, says it is ready, waits for go, then searches (random two-character and
    substring queries) back to back until stop; puts its (class, wall time, milliseconds) triples on out."""
    rng = random.Random(seed)
    engine = make_engine(url)
    timings: list[tuple[str, float, float]] = []
    with Session(engine) as session:
        search_subjects(session, queries[0], limit=10)
        session.rollback()
        ready.put(1)
        go.wait()
        while not stop.is_set():
            q = rng.choice(queries)
            now = time.time()
            t0 = time.perf_counter()
            search_subjects(session, q, limit=10)
            timings.append(("short" if len(q) == 2 else "substring", now, (time.perf_counter() - t0) * 1000))
            session.rollback()
    engine.dispose()
    out.put(timings)


def _ingest(url: str, path: str, ready: Any, go: Any, out: Any) -> None:
    os.environ["XINYONG_DATABASE_URL"] = url
    from xinyong.accounts import service as accounts
    from xinyong.accounts.models import Department
    from xinyong.core.db import session_scope
    from xinyong.ingest.service import ingest_file

    with session_scope() as session:
        if session.query(Department).filter_by(code="SCJG").first() is None:
            accounts.add_department(session, "SCJG", "德州市市场监督管理局")
    ready.put(1)  # imported and connected: under 60 busy clients on 2 cores, importing alone took minutes
    go.wait()
    started = time.time()
    with session_scope() as session:
        ingest_file(session, Path(path), "admin_penalty", "SCJG", today=TODAY)
    out.put((started, time.time()))


def busy(url: str, queries: list[tuple[str, str, int]], clients: int, rows: int, seed: int) -> dict[str, object]:
    """`clients` processes, connected and warm, search back to back (the benchmark's two-character and
    substring queries, half each) while a penalty file of `rows` rows is ingested into the same database by
    another process; the latencies per class of the searches made while the ingest ran (start to commit)."""
    import multiprocessing as mp

    from xinyong.demo.fast import write_penalty_csv

    ctx = mp.get_context("spawn")
    pool = [q for cls, q, _ in queries if cls in ("short", "substring")]
    with tempfile.TemporaryDirectory(prefix="xinyong-bench-") as tmp:
        path = Path(tmp) / "penalties.csv"
        write_penalty_csv(path, rows, seed=seed)
        results: Any = ctx.Queue()
        ready: Any = ctx.Queue()
        ingest_done: Any = ctx.Queue()
        go, stop = ctx.Event(), ctx.Event()
        procs = [ctx.Process(target=_client, args=(url, pool, seed + i, ready, go, stop, results))
                 for i in range(clients)]
        ingest = ctx.Process(target=_ingest, args=(url, str(path), ready, go, ingest_done))
        ingest.start()
        for proc in procs:
            proc.start()
        for _ in range(len(procs) + 1):  # every client and the ingest connected and warm before any starts
            ready.get()
        go.set()
        began, ended = ingest_done.get()
        stop.set()
        timings: list[tuple[str, float, float]] = []
        for _ in procs:
            timings += results.get()
        for proc in procs:
            proc.join()
        ingest.join()
    # only the searches that started while the ingest was reading and writing count
    during = [(c, ms) for c, at, ms in timings if began <= at <= ended]
    report: dict[str, object] = {"clients": clients, "ingest_rows": rows, "ingest_seconds": round(ended - began, 1),
                                 "searches": len(timings), "searches_during_ingest": len(during)}
    for cls in ("short", "substring"):
        ts = [ms for c, ms in during if c == cls]
        if ts:
            report[cls] = {"n": len(ts), "p50_ms": round(pct(ts, 50), 1), "p95_ms": round(pct(ts, 95), 1),
                           "max_ms": round(max(ts), 1)}
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subjects", type=int, default=500_000, help="organisations in the demo city (default 500000)")
    ap.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both (comma-separated)")
    ap.add_argument("--queries", type=int, default=100, help="queries per class (default 100)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per query; the fastest counts (default 3)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path, help="write the results here as JSON")
    ap.add_argument("--busy", type=int, default=0, metavar="CLIENTS",
                    help="then search from this many client processes while a penalty file is ingested")
    ap.add_argument("--busy-rows", type=int, default=500_000, help="rows of that penalty file (default 500000)")
    args = ap.parse_args()
    print(f"generating {args.subjects:,} organisations …", file=sys.stderr)
    t0 = time.perf_counter()
    rows = generate(args.subjects, args.seed)
    print(f"generated {len(rows):,} subjects in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    reports = []
    for db in [d.strip() for d in args.db.split(",") if d.strip()]:
        if db == "sqlite":
            with tempfile.TemporaryDirectory(prefix="xinyong-bench-") as tmp:
                reports.append(run(f"sqlite:///{tmp}/bench.db", "SQLite", rows, args.queries, args.seed, args.repeat,
                                   args.busy, args.busy_rows))
        elif db == "postgresql":
            name = f"xinyong_bench_{os.getpid()}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                reports.append(run(PG_ADMIN.rsplit("/", 1)[0] + "/" + name, "PostgreSQL", rows, args.queries,
                                   args.seed, args.repeat, args.busy, args.busy_rows))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        else:
            raise SystemExit(f"未知数据库 {db}：只支持 sqlite 和 postgresql")
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"\nmachine: {machine}")
    for r in reports:
        print(f"\n{r['database']}: {r['organisations']:,} organisations ({r['subjects']:,} subjects), "
              f"load {r['load_seconds']} s; all queries except short: p50 {r['p50_ms']} ms, "
              f"p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms; recall@10 {r['recall_at_10']:.1%}")
        print("| class | n | p50 ms | p95 ms | max ms | recall@10 | target in top 10 |")
        print("|---|---|---|---|---|---|---|")
        for cls, c in r["classes"].items():  # type: ignore[attr-defined]
            rec = f"{c['recall_at_10']:.1%}" if c["recall_at_10"] is not None else "—"
            print(f"| {cls} | {c['n']} | {c['p50_ms']} | {c['p95_ms']} | {c['max_ms']} | {rec} | {c['target_in_top10']:.1%} |")
        if "under_load" in r:
            print(f"under load: {json.dumps(r['under_load'], ensure_ascii=False)}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": reports}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
