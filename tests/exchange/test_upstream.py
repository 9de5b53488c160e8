"""Upstream reporting end to end: 双公示 records (written one by one and through an ingest batch), ends of
publication, list entries and exits, corrections queued by objections/repair — scanned by the worker, pushed
in the national field codes to a real receiving process and to a file drop. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from exchange_support import Receiver, service_target
from sqlalchemy import select
from sqlalchemy.orm import Session

from due_process_support import listed, org, penalty, world
from xinyong.catalog.service import get_catalog
from xinyong.core.clock import FixedClock
from xinyong.exchange import rules, service
from xinyong.exchange.models import OutboxEvent
from xinyong.exchange.worker import Worker
from xinyong.ingest.service import ingest_for
from xinyong.lists import service as lists
from xinyong.records import service as records

TODAY = date(2026, 12, 2)


def _setup(targets: Callable[..., Any], receiver: Receiver, tmp_path: Path) -> Path:
    targets(**service_target(receiver, code="provincial", receives=["dual_publicity", "updates", "lists"]))
    drop = tmp_path / "national-drop"
    targets(code="national", adapter="file", file={"directory": str(drop)}, receives=["dual_publicity"])
    return drop


def _received(receiver: Receiver) -> list[dict[str, Any]]:
    return list(receiver.state()["order"])


def test_dual_publicity_lists_and_ends_reach_the_province(db: Session, clock: FixedClock, receiver: Receiver,
                                                          targets: Callable[..., Any], tmp_path: Path) -> None:
    clock.set(TODAY)
    drop = _setup(targets, receiver, tmp_path)
    w = world(db)
    firm = org(db)
    rec = penalty(db, firm, w.scjg, decided=date(2026, 11, 27))
    db.commit()
    result = Worker(interval=5, run_jobs=False).run_once()
    assert result["queued"]["records"] == 2  # one event for each target
    assert result["delivered"]["provincial"]["delivered"] == 1
    ev = db.scalars(select(OutboxEvent).where(OutboxEvent.target == "provincial")).one()
    payload = json.loads(ev.payload)
    assert payload["op"] == "insert" and payload["dataset"] == "penalty"
    assert payload["fields"]["CF_WSH"] == rec.decision_no  # national field codes
    assert payload["fields"]["CF_XDR_SHXYM"] == firm.uscc
    assert ev.deadline == rules.push_deadline(date(2026, 11, 27)) and ev.dept_id == w.scjg.id
    assert [json.loads(line)["key"] for line in next(drop.glob("*.jsonl")).read_text("utf-8").splitlines()] == \
        [f"record:{rec.id}"]
    # list entry (published), end of publication (deletion), list exit
    entry = listed(db, w.scjg, firm, rec, TODAY)
    records.end_publication(db, rec.id, TODAY, actor="test", reason="公示期满")
    lists.exit_entries_for_record(db, rec.id, actor="test", reason="信用修复")
    db.commit()
    Worker(interval=5, run_jobs=False).run_once()
    keys = receiver.state()["order"]
    assert keys[0] == f"record:{rec.id}"
    kinds = [json.loads(e.payload)["op"] for e in db.scalars(
        select(OutboxEvent).where(OutboxEvent.target == "provincial").order_by(OutboxEvent.id))]
    assert kinds == ["insert", "delete", "insert", "delete"]  # record, unpublish, list entry, list exit
    types = list(db.scalars(select(OutboxEvent.event_type).where(OutboxEvent.target == "provincial")
                            .order_by(OutboxEvent.id)))
    assert types == ["penalty.insert", "record.unpublished", "list.entry", "list.exit"]
    assert entry.id > 0
    # the national target receives only 双公示
    assert set(db.scalars(select(OutboxEvent.event_type).where(OutboxEvent.target == "national"))) == \
        {"penalty.insert"}
    # a second pass queues nothing twice
    assert sum(Worker(interval=5, run_jobs=False).run_once()["queued"].values()) == 0


def test_an_ingested_batch_is_queued_within_one_interval(db: Session, clock: FixedClock, receiver: Receiver,
                                                         targets: Callable[..., Any], tmp_path: Path) -> None:
    clock.set(TODAY)
    _setup(targets, receiver, tmp_path)
    w = world(db)
    path = tmp_path / "penalties.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["行政相对人名称", "行政相对人代码_1(统一社会信用代码)", "行政处罚决定书文号", "处罚类别",
                      "罚款金额(万元)", "处罚决定日期", "处罚机关"])
        out.writerow(["德州甲有限公司", "914403001922038216", "德市监罚〔2026〕101号", "罚款", "1.5", "2026-11-30",
                      "德州市市场监督管理局"])
        out.writerow(["德州乙有限公司", "91110000710926094P", "德市监罚〔2026〕102号", "警告", "", "2026-12-01",
                      "德州市市场监督管理局"])
    summary = ingest_for(db, path, get_catalog().get("admin_penalty"), w.scjg, today=TODAY)
    db.commit()
    committed = time.monotonic()
    assert summary.accepted == 2
    worker = Worker(interval=5, run_jobs=False)
    worker.scan()
    assert time.monotonic() - committed < worker.interval
    got = list(db.scalars(select(OutboxEvent.key).where(OutboxEvent.target == "provincial")))
    assert len(got) == 2
    worker.deliver()
    assert receiver.state()["count"] == 2
    status = {s["code"]: s for s in service.target_status(db, today=TODAY)}
    assert status["provincial"]["delivered"] == 2 and status["provincial"]["last_success"] is not None
    assert status["national"]["delivered"] == 2


def test_corrections_from_objections_travel_with_their_key(db: Session, clock: FixedClock, receiver: Receiver,
                                                           targets: Callable[..., Any], tmp_path: Path) -> None:
    from xinyong.cases import casework

    clock.set(TODAY)
    _setup(targets, receiver, tmp_path)
    casework.queue_sync(db, "record.revoked", {"record_id": 5, "case_no": "YY1", "on": TODAY}, ["provincial"])
    casework.queue_sync(db, "record.revoked", {"record_id": 5, "case_no": "YY1", "on": TODAY}, ["provincial"])
    db.commit()
    Worker(interval=5, run_jobs=False).deliver()
    st = receiver.state()
    assert st["count"] == 1 and st["order"][0].startswith("record.revoked:")
