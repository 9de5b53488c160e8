"""Post-loan monitoring (贷后监测): a bank holding a grant for monitoring in force hears of the firm's new
administrative penalties, list entries, abnormal-operation entries and court-list records, and of its grade
changes, as webhooks through the exchange outbox (target "fi:<institution id>").

Nothing is added to ingest: the daily job reads records after a stored cursor (by id) for the watched firms
only, and list entries published since the last scan; grade changes arrive through the evaluation listener.
Every event has a stable key, so a re-scan never queues twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.core import crypto
from xinyong.core.clock import today as legal_today
from xinyong.core.jobs import register_daily
from xinyong.evaluation.grades import register_grade_listener
from xinyong.exchange.models import OutboxEvent
from xinyong.exchange.outbox import DeliveryFailed, enqueue, register_deliverer
from xinyong.financing.models import Cursor, Grant, Institution
from xinyong.lists.models import ListEntry
from xinyong.records import rules as record_rules
from xinyong.records.models import Record
from xinyong.subjects.models import Subject

PREFIX = "fi"
WATCHED_ITEMS = {"admin_penalty": "penalty.new", "business_abnormal": "abnormal.new",
                 "dishonest_judgment_debtor": "court_list.new", "serious_dishonesty": "list.new"}
SIGNATURE_HEADER = "X-Xinyong-Signature"


def target(institution_id: int) -> str:
    return f"{PREFIX}:{institution_id}"


def webhook_secret(institution_id: int) -> str:
    """The key a bank checks signatures with (shown to it once when the office sets its webhook)."""
    return crypto.keyed_hash(f"fi-webhook|{institution_id}", "fi_webhook")[:40]


def watchers(db: Session, today: date, subject_ids: list[int] | None = None) -> dict[int, set[int]]:
    """subject id → institutions holding a monitoring grant in force today."""
    query = select(Grant.subject_id, Grant.institution_id).where(
        Grant.purpose == "monitoring", Grant.revoked_on.is_(None), Grant.granted_on <= today,
        Grant.expires_on >= today)
    # A full evaluation run reports up to every subject of the city as changed: bind a few ids, but filter a long
    # list here against the (far smaller) set of grants in force, never as one IN list of a million parameters.
    wanted: set[int] | None = None
    if subject_ids is not None:
        if len(subject_ids) <= 900:
            query = query.where(Grant.subject_id.in_(subject_ids))
        else:
            wanted = set(subject_ids)
    out: dict[int, set[int]] = defaultdict(set)
    for sid, inst in db.execute(query):
        if wanted is None or sid in wanted:
            out[sid].add(inst)
    return out


def _uscc(db: Session, subject_ids: set[int]) -> dict[int, str | None]:
    if not subject_ids:
        return {}
    ids = sorted(subject_ids)
    out: dict[int, str | None] = {}
    for i in range(0, len(ids), 900):
        rows = db.execute(select(Subject.id, Subject.uscc).where(Subject.id.in_(ids[i:i + 900])))
        out.update({sid: code for sid, code in rows})
    return out


def _cursor(db: Session, name: str) -> Cursor:
    row = db.get(Cursor, name)
    if row is None:
        row = Cursor(name=name, value=0)
        db.add(row)
        db.flush()
    return row


def on_grades(db: Session, model_id: str, changes: list[tuple[int, str | None, str]]) -> None:
    today = legal_today()
    watched = watchers(db, today, [c[0] for c in changes])
    codes = _uscc(db, set(watched))
    for subject_id, old, new in changes:
        for inst in watched.get(subject_id, ()):
            enqueue(db, target=target(inst), event_type="grade.changed",
                    payload={"uscc": codes.get(subject_id), "model": model_id, "old": old, "new": new,
                             "on": today.isoformat()},
                    key=f"grade:{model_id}:{subject_id}:{old}:{new}:{today.isoformat()}",
                    record_key=f"subject:{subject_id}")


def scan(db: Session, today: date | None = None) -> int:
    """Daily: queue events for what happened to watched firms since the last scan. Returns events considered."""
    today = today or legal_today()
    watched = watchers(db, today)
    records_cursor = _cursor(db, "records")
    top = db.scalar(select(func.max(Record.id))) or 0
    lists_cursor = _cursor(db, "lists")
    since = date.fromordinal(lists_cursor.value) if lists_cursor.value else today - timedelta(days=1)
    count = 0
    if watched:
        ids = list(watched)
        codes = _uscc(db, set(ids))
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            rows = db.execute(select(Record.id, Record.subject_id, Record.item_code, Record.decision_no,
                                     Record.decision_date, Record.severity)
                              .where(Record.id > records_cursor.value, Record.id <= top,
                                     Record.item_code.in_(list(WATCHED_ITEMS)), Record.subject_id.in_(chunk),
                                     Record.state.in_(tuple(record_rules.VISIBLE_STATES))))
            for rid, sid, item, number, decided, severity in rows:
                for inst in watched[sid]:
                    enqueue(db, target=target(inst), event_type=WATCHED_ITEMS[item],
                            payload={"uscc": codes.get(sid), "item": item, "decision_no": number,
                                     "decision_date": decided, "severity": severity},
                            key=f"record:{rid}", record_key=f"subject:{sid}")
                    count += 1
            entries = db.execute(select(ListEntry.id, ListEntry.subject_id, ListEntry.list_type, ListEntry.kind,
                                        ListEntry.published_on)
                                 .where(ListEntry.state == "published", ListEntry.published_on >= since,
                                        ListEntry.subject_id.in_(chunk)))
            for eid, sid, list_type, kind, published in entries:
                for inst in watched[sid]:
                    enqueue(db, target=target(inst), event_type="list.new",
                            payload={"uscc": codes.get(sid), "list_type": list_type, "kind": kind,
                                     "published_on": published}, key=f"list:{eid}", record_key=f"subject:{sid}")
                    count += 1
    records_cursor.value = top
    lists_cursor.value = today.toordinal()
    return count


def deliver(target_code: str, batch_id: str, events: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """POST each event to its institution's webhook (a checked public address), signed with its key.

    The exchange worker's contract: the answer names rejected keys (permanent: no address, a refused address);
    a connection failure or a non-2xx answer raises DeliveryFailed, so the batch is retried with back-off (a
    receiver keeps one copy per event id)."""
    from xinyong.core.db import new_session
    from xinyong.joint.webhooks import check_target

    out: dict[str, tuple[str, str]] = {}
    with new_session() as db:
        inst = db.get(Institution, int(target_code.split(":", 1)[1]))
        url = inst.webhook_url if inst is not None else None
        inst_id = inst.id if inst is not None else None
    if inst_id is None or not url:
        return {ev["key"]: ("rejected", "金融机构未登记接收地址") for ev in events}
    try:
        checked = check_target(url)
    except Exception as exc:
        return {ev["key"]: ("rejected", str(exc)[:300]) for ev in events}
    secret = webhook_secret(inst_id).encode()
    with httpx.Client(timeout=5.0, follow_redirects=False) as client:
        for ev in events:
            body = json.dumps({"event": ev["type"], "id": ev["key"], "data": ev["data"]},
                              ensure_ascii=False).encode("utf-8")
            signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            try:
                response = client.post(checked.pinned_url(), content=body, extensions={"sni_hostname": checked.host},
                                       headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature,
                                                "Host": checked.host_header(), "X-Xinyong-Event": ev["type"]})
            except httpx.HTTPError as exc:
                raise DeliveryFailed(f"金融机构接收地址连接失败：{type(exc).__name__}，稍后自动重试") from exc
            if not 200 <= response.status_code < 300:
                raise DeliveryFailed(f"金融机构接收地址返回 HTTP {response.status_code}，稍后自动重试")
    return out


def events_for(db: Session, institution_id: int, limit: int = 100) -> list[dict[str, Any]]:
    rows = db.scalars(select(OutboxEvent).where(OutboxEvent.target == target(institution_id))
                      .order_by(OutboxEvent.id.desc()).limit(limit))
    return [{"type": e.event_type, "key": e.key, "payload": json.loads(e.payload), "state": e.state} for e in rows]


register_grade_listener(on_grades)
register_daily("financing.monitor", scan)
register_deliverer(PREFIX, deliver)
