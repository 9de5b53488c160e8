"""Upstream push benchmark: the outbox's delivery to a local receiving platform (a separate process that stores
every event in its own SQLite database, one row per key), against that receiver's own ingest of a pre-built
JSON-lines file of the same events, in the same run.

Target: push ≥ 5,000 records/s sustained; push / receiver-ingest ≥ 0.5.

Usage: .venv/bin/python bench/bench_exchange.py [--records 200000] [--batch 2000] [--db sqlite|postgresql]
PostgreSQL: XINYONG_TEST_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/test); a scratch database is
created and dropped. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("XINYONG_SECRET_KEY", "bench-secret-key-0123456789abcdef")

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
RECEIVER = ROOT / "tests" / "exchange" / "receiver.py"
PG_ADMIN = os.environ.get("XINYONG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-province-secret"


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


def _payload(i: int, rnd: random.Random) -> dict[str, object]:
    """A 双公示 penalty in the national field codes, as upstream.scan builds it (about 600 bytes)."""
    return {"op": "insert", "dataset": "penalty", "item": "admin_penalty", "record_id": i, "supersedes_id": None,
            "version": 1, "decision_no": f"德市监罚〔2026〕{i}号", "decision_date": "2026-11-27",
            "publish_until": "2027-11-27",
            "fields": {"CF_XDR_MC": f"德州某某食品有限公司{i}", "CF_XDR_SHXYM": f"91371400MA{i:08d}",
                       "CF_WSH": f"德市监罚〔2026〕{i}号", "CF_CFLB": "罚款", "CF_NR_FK": f"{rnd.randint(1, 500) / 10}",
                       "CF_WFXW": "销售不符合食品安全标准的食品", "CF_SY": "经查，当事人销售的食品经抽检不合格",
                       "CF_YJ": "《中华人民共和国食品安全法》第一百二十四条", "CF_JDRQ": "2026-11-27",
                       "CF_CFJG": "德州市市场监督管理局", "CF_CFJGDM": "11371400MB1234567X",
                       "CF_SJLY": "德州市市场监督管理局", "CF_SJLYDM": "11371400MB1234567X"}}


def prepare(n: int, path: Path) -> float:
    """n queued events for target `provincial`, and the same events as a JSON-lines file; returns seconds."""
    from xinyong.core.db import get_engine, utcnow
    from xinyong.exchange import outbox
    from xinyong.exchange.adapters.base import WireEvent
    from xinyong.exchange.models import OutboxEvent

    started = time.perf_counter()
    rnd = random.Random(7)
    now = utcnow()
    engine = get_engine()
    table = OutboxEvent.__table__
    with open(path, "w", encoding="utf-8") as fh, engine.begin() as conn:
        chunk: list[dict[str, object]] = []
        for i in range(1, n + 1):
            body = outbox.dumps(_payload(i, rnd))
            key = f"record:{i}"
            chunk.append({"id": i, "target": "provincial", "event_type": "penalty.insert", "key": key,
                          "record_key": key, "payload": body, "state": "queued", "attempts": 0, "created_at": now,
                          "next_attempt_at": now})
            fh.write(WireEvent(i, key, "penalty.insert", key, body).to_json() + "\n")
            if len(chunk) == 20000:
                conn.execute(table.insert(), chunk)  # type: ignore[attr-defined]
                chunk = []
        if chunk:
            conn.execute(table.insert(), chunk)  # type: ignore[attr-defined]
    return time.perf_counter() - started


def run(n: int, batch: int, db: str, tmp: Path) -> dict[str, object]:
    from xinyong.exchange import service
    from xinyong.exchange.config import Target

    port = 18000 + os.getpid() % 1000
    receiver_db = tmp / "province.sqlite"
    proc = subprocess.Popen([sys.executable, str(RECEIVER), str(port), SECRET, str(receiver_db)],
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    base = f"http://127.0.0.1:{port}"
    try:
        events_file = tmp / "events.jsonl"
        prep = prepare(n, events_file)
        target = Target.model_validate({"code": "provincial", "name": "省平台", "adapter": "service",
                                        "service": {"url": f"{base}/exchange", "secret": SECRET,
                                                    "timeout_seconds": 120}, "batch_size": batch})
        from xinyong.core.db import new_session

        started = time.perf_counter()
        delivered = 0
        with new_session() as session:
            while True:
                report = service.deliver_target(session, target, owner="bench", budget_seconds=3600)
                delivered += report.delivered
                if report.delivered == 0:
                    break
        push_seconds = time.perf_counter() - started
        stored = httpx.get(f"{base}/_state", timeout=60).json()["count"]
        httpx.post(f"{base}/_reset", timeout=60).raise_for_status()
        started = time.perf_counter()
        answer = httpx.post(f"{base}/_ingest", json={"path": str(events_file)}, timeout=3600).json()
        ingest_seconds = time.perf_counter() - started
        push_rate, ingest_rate = delivered / push_seconds, answer["count"] / ingest_seconds
        return {"db": db, "records": n, "batch": batch, "prepare_s": round(prep, 1), "push_s": round(push_seconds, 1),
                "push_per_s": round(push_rate), "receiver_stored": stored, "ingest_s": round(ingest_seconds, 1),
                "ingest_per_s": round(ingest_rate), "ratio": round(push_rate / ingest_rate, 2),
                "file_mb": round(events_file.stat().st_size / 1e6, 1)}
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-exchange-") as tmpdir:
        tmp = Path(tmpdir)
        if args.db == "sqlite":
            _use(f"sqlite:///{tmp / 'platform.db'}")
            print(json.dumps(run(args.records, args.batch, "sqlite", tmp)))
            return
        name = f"bench_exchange_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            _use(PG_ADMIN.rsplit("/", 1)[0] + "/" + name)
            print(json.dumps(run(args.records, args.batch, "postgresql", tmp)))
        finally:
            from xinyong.core.db import reset_engine

            reset_engine()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
