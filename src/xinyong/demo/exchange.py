"""The demo city's data exchange: a slice of the 双公示 records queued for the provincial and national
platforms, some delivered to the 前置机 drop, some rejected by the province's feedback file (with reasons, for
the departments), some dead after the national platform kept failing (replayable on /admin/exchange), the rest
queued for `xinyong worker`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.catalog.service import get_catalog
from xinyong.core.db import utcnow
from xinyong.exchange import service, upstream
from xinyong.exchange.adapters.file import FileAdapter
from xinyong.exchange.config import get_targets
from xinyong.exchange.models import ExchangeCursor, OutboxEvent
from xinyong.records.models import Record

REASONS = ["行政相对人代码_1(统一社会信用代码)校验位错误", "处罚决定日期晚于数据报送日期", "许可机关统一社会信用代码为空"]


def setup_exchange(*, today: date) -> dict[str, Any]:
    from xinyong.core.db import session_scope

    with session_scope() as session:
        return _setup(session, today=today)


def _setup(session: Session, *, today: date) -> dict[str, Any]:
    targets = {c: t for c, t in get_targets().items() if t.enabled}
    if not targets:
        return {}
    # Only a slice, to stay fast: start the scan at the first 双公示 record (nothing of interest lies before
    # it); `xinyong worker` queues the rest.
    dp = [i.code for i in get_catalog().list() if i.dual_publicity]
    first = session.scalar(select(func.min(Record.id)).where(Record.item_code.in_(dp))) if dp else None
    if first is not None:
        cursor = session.get(ExchangeCursor, "upstream:records")
        if cursor is None:
            session.add(ExchangeCursor(name="upstream:records", position=first - 1, updated_at=utcnow()))
        session.flush()
    upstream.scan(session, chunk=400, max_rows=400, targets=targets)
    session.commit()
    result: dict[str, Any] = {}
    province = targets.get("provincial")
    if province is not None:
        small = province.model_copy(update={"batch_size": 60})
        service.deliver_target(session, small, owner="demo", max_batches=1)
        delivered = list(session.scalars(select(OutboxEvent).where(OutboxEvent.target == "provincial",
                                                                   OutboxEvent.state == "delivered")
                                         .order_by(OutboxEvent.id).limit(len(REASONS))))
        if province.adapter == "file" and delivered:
            adapter = FileAdapter(province)
            feedback = adapter.directory / "feedback"
            feedback.mkdir(parents=True, exist_ok=True)
            (feedback / f"feedback_{today:%Y%m%d}.json").write_text(json.dumps(
                {"results": [{"key": e.key, "status": "rejected", "reason": r} for e, r in zip(delivered, REASONS, strict=False)]},
                ensure_ascii=False), encoding="utf-8")
            service.deliver_target(session, province, owner="demo", max_batches=0)  # reads the feedback file
    national = targets.get("national")
    if national is not None:
        failing = list(session.scalars(select(OutboxEvent).where(OutboxEvent.target == "national",
                                                                 OutboxEvent.state == "queued")
                                       .order_by(OutboxEvent.id).limit(4)))
        for ev in failing:  # what the worker leaves after the national platform answered 503 for three days
            ev.state, ev.attempts = "dead", 12
            ev.created_at = utcnow() - timedelta(hours=national.dead_after_hours + 1)
            ev.last_error = "接收方返回 HTTP 503：服务维护中（演示）"
        session.commit()
    for row in service.target_status(session, today=today):
        result[row["code"]] = {s: row[s] for s in ("queued", "delivered", "rejected", "dead")}
    return result
