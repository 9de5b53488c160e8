"""The 前置机 drop (a real directory) and the 前置库 (a real second database: a SQLite file, and a PostgreSQL
database), with feedback through each; on SQLite and PostgreSQL platform databases."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.orm import Session

from xinyong.exchange import outbox, service
from xinyong.exchange.adapters import database as dbadapter
from xinyong.exchange.config import get_targets
from xinyong.exchange.models import OutboxEvent

PG_ADMIN = os.environ.get("XINYONG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _queue(db: Session, n: int, target: str) -> None:
    for i in range(n):
        outbox.enqueue(db, target=target, event_type="penalty.insert", payload={"CF_WSH": f"罚〔2026〕{i}号"},
                       key=f"record:{i}", record_key=f"record:{i}")
    db.commit()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_file_drop_with_manifest(db: Session, tmp_path: Path, targets: Callable[..., Any], fmt: str) -> None:
    drop = tmp_path / "qianzhiji"
    targets(code="national", adapter="file", file={"directory": str(drop), "format": fmt}, batch_size=4)
    _queue(db, 10, "national")
    report = service.deliver_target(db, get_targets()["national"], owner="t")
    assert report.delivered == 10 and report.batches == 3
    manifests = sorted(drop.glob("*.manifest.json"))
    assert len(manifests) == 3
    keys = []
    for m in manifests:  # in name order = delivery order
        meta = json.loads(m.read_text(encoding="utf-8"))
        data = (drop / meta["data_file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == meta["sha256"]
        if fmt == "json":
            rows = [json.loads(line) for line in data.decode().splitlines()]
        else:
            rows = list(csv.DictReader(io.StringIO(data.decode())))
        assert len(rows) == meta["count"]
        keys += [r["key"] for r in rows]
    assert keys == [f"record:{i}" for i in range(10)]
    assert not list(drop.glob(".*.tmp"))


def test_feedback_files_reject_rows_and_bad_files_are_set_aside(db: Session, tmp_path: Path,
                                                                targets: Callable[..., Any]) -> None:
    drop = tmp_path / "drop"
    targets(code="national", adapter="file", file={"directory": str(drop)})
    _queue(db, 3, "national")
    target = get_targets()["national"]
    service.deliver_target(db, target, owner="t")
    fb = drop / "feedback"
    fb.mkdir()
    (fb / "001.json").write_text(json.dumps({"results": [
        {"key": "record:1", "status": "rejected", "reason": "处罚决定日期晚于报送日期"},
        {"key": "record:999", "status": "rejected", "reason": "?"}]}, ensure_ascii=False), encoding="utf-8")
    (fb / "002.json").write_text("not json", encoding="utf-8")
    service.deliver_target(db, target, owner="t")
    db.expire_all()
    ev = db.scalars(select(OutboxEvent).where(OutboxEvent.key == "record:1")).one()
    assert (ev.state, ev.feedback) == ("rejected", "处罚决定日期晚于报送日期")
    assert (fb / "done" / "001.json").exists()
    assert (fb / "error" / "002.json").exists() and "无法读取" in (fb / "error" / "002.json.txt").read_text("utf-8")
    status = {s["code"]: s for s in service.target_status(db, today=ev.created_at.date())}["national"]
    assert "未知事件键" in status["last_problem"] and "002.json" in status["last_problem"]
    assert (status["delivered"], status["rejected"]) == (2, 1)


def test_unwritable_drop_is_retried(db: Session, tmp_path: Path, targets: Callable[..., Any]) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    targets(code="national", adapter="file", file={"directory": str(blocker / "sub")})
    _queue(db, 2, "national")
    assert service.deliver_target(db, get_targets()["national"], owner="t").failed == 2
    db.expire_all()
    assert all("无法写入前置机目录" in (e.last_error or "") for e in db.scalars(select(OutboxEvent)))


@pytest.fixture(params=["sqlite", "postgresql"])
def second_db(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'qianzhiku.db'}"
        dbadapter.dispose_all()
        return
    name = f"xy_qzk_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    dbadapter.dispose_all()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_database_adapter_one_transaction_per_batch(db: Session, second_db: str,
                                                    targets: Callable[..., Any]) -> None:
    targets(code="provincial", adapter="database", database={"url": second_db}, batch_size=5)
    _queue(db, 12, "provincial")
    target = get_targets()["provincial"]
    assert service.deliver_target(db, target, owner="t").delivered == 12
    _, rows, feedback = dbadapter.tables("xy_exchange_rows")
    remote = create_engine(second_db)
    with remote.connect() as conn:
        got = conn.execute(select(rows.c.key, rows.c.seq, rows.c.batch).order_by(rows.c.seq)).all()
    assert [g.key for g in got] == [f"record:{i}" for i in range(12)]
    assert len({g.batch for g in got}) == 3
    # a replay writes no second row: the key is the primary key
    for e in db.scalars(select(OutboxEvent)):
        e.state = "dead"
    db.commit()
    service.replay(db, "provincial", actor="op")
    db.commit()
    assert service.deliver_target(db, target, owner="t").delivered == 12
    with remote.begin() as conn:
        assert conn.execute(select(rows.c.key)).all().__len__() == 12
        conn.execute(insert(feedback), [{"key": "record:4", "status": "rejected", "reason": "相对人名称为空"},
                                        {"key": "nope", "status": "rejected", "reason": "?"}])
    service.deliver_target(db, target, owner="t")
    db.expire_all()
    ev = db.scalars(select(OutboxEvent).where(OutboxEvent.key == "record:4")).one()
    assert (ev.state, ev.feedback) == ("rejected", "相对人名称为空")
    with remote.connect() as conn:
        assert conn.execute(select(feedback.c.key)).all() == []
    remote.dispose()


def test_unreachable_database_is_retried(db: Session, tmp_path: Path, targets: Callable[..., Any]) -> None:
    targets(code="provincial", adapter="database",
            database={"url": "postgresql+psycopg://nobody@127.0.0.1:9/none"})
    _queue(db, 1, "provincial")
    assert service.deliver_target(db, get_targets()["provincial"], owner="t").failed == 1
    db.expire_all()
    assert "写入前置库失败" in (db.scalars(select(OutboxEvent)).one().last_error or "")
