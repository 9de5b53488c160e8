"""Webhooks: an outbox written in the transaction of each change, delivered by a periodic job.

Delivery is at least once; every event carries a stable id (X-Xinyong-Event-Id) so receivers deduplicate,
which makes it exactly once per receiver. Rows are claimed with FOR UPDATE SKIP LOCKED on PostgreSQL, so
several platform instances can run the job side by side.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from datetime import date, datetime
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.core import audit, crypto
from xinyong.core.db import dialect_name, utcnow
from xinyong.core.errors import NotFound, Refused
from xinyong.core.jobs import register_periodic
from xinyong.joint import bulk, rules
from xinyong.joint.models import OutboxEvent, Webhook

log = logging.getLogger("xinyong.webhooks")
SIGNATURE_HEADER = "X-Xinyong-Signature"
EVENT_ID_HEADER = "X-Xinyong-Event-Id"
EVENT_TYPE_HEADER = "X-Xinyong-Event"
EVENT_TYPES = ("task.created", "measure.suspended", "measure.resumed", "measure.lifted")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def register_webhook(session: Session, dept: Department, *, url: str, secret: str) -> Webhook:
    try:
        parsed = urlparse(url.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://["
        raise Refused("url 不是有效的地址，请填写 http:// 或 https:// 开头的完整地址，如 https://example.gov.cn/hook") from None
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise Refused("url 应为 http:// 或 https:// 开头的完整地址")
    if len(secret) < 16:
        raise Refused("secret 至少 16 个字符，用于计算 HMAC-SHA256 签名")
    hook = Webhook(dept_id=dept.id, url=url.strip(), secret_enc=crypto.encrypt(secret), active=True)
    session.add(hook)
    session.flush()
    audit.record(session, actor=f"dept:{dept.code}", action="webhook.register", entity="webhook", entity_id=hook.id,
                 after={"url": hook.url})
    return hook


def list_webhooks(session: Session, dept: Department) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.dept_id == dept.id).order_by(Webhook.id)))


def deactivate_webhook(session: Session, dept: Department, webhook_id: int) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None or hook.dept_id != dept.id:
        raise NotFound(f"本部门没有编号为 {webhook_id} 的接收地址")
    hook.active = False
    audit.record(session, actor=f"dept:{dept.code}", action="webhook.deactivate", entity="webhook", entity_id=hook.id)
    return hook


def receivers(session: Session, dept_ids: set[int]) -> dict[int, list[int]]:
    """Active webhook ids by department."""
    if not dept_ids:
        return {}
    out: dict[int, list[int]] = {}
    for hook_id, dept_id in session.execute(select(Webhook.id, Webhook.dept_id).where(
            Webhook.dept_id.in_(dept_ids), Webhook.active.is_(True))):
        out.setdefault(dept_id, []).append(hook_id)
    return out


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def enqueue(session: Session, events: list[tuple[int, str, dict[str, Any]]]) -> int:
    """Write events (dept_id, type, data) to the outbox for every active receiver of their department."""
    hooks = receivers(session, {dept_id for dept_id, _, _ in events})
    if not hooks:
        return 0
    now = utcnow()
    rows = []
    for dept_id, kind, data in events:
        for hook_id in hooks.get(dept_id, ()):
            event_id = str(uuid.uuid4())
            body = json.dumps({"id": event_id, "type": kind, "occurred_at": now.isoformat(), "data": data},
                              ensure_ascii=False, default=_json_default, separators=(",", ":"))
            rows.append({"event_id": event_id, "webhook_id": hook_id, "dept_id": dept_id, "event_type": kind,
                         "payload": body})
    bulk.insert_outbox(session, rows, now)
    return len(rows)


def deliver_due(session: Session, *, now: datetime | None = None, limit: int = 200,
                transport: httpx.BaseTransport | None = None, timeout: float = 5.0) -> int:
    """Try every due event once; returns how many were delivered. `now` is injectable for tests."""
    now = now or utcnow()
    query = (select(OutboxEvent).where(OutboxEvent.state == "pending", OutboxEvent.next_attempt_at <= now)
             .order_by(OutboxEvent.id).limit(limit))
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list(session.scalars(query))
    if not due:
        return 0
    hooks = {h.id: h for h in session.scalars(select(Webhook).where(Webhook.id.in_({e.webhook_id for e in due})))}
    secrets: dict[int, str] = {}
    delivered = 0
    # A receiver that failed in this round is not tried again in it; its other events wait as long as it does.
    down: dict[int, datetime] = {}
    with httpx.Client(timeout=timeout, transport=transport) as client:
        for ev in due:
            hook = hooks.get(ev.webhook_id)
            if hook is None or not hook.active:
                ev.state, ev.last_error = "dead", "接收地址已停用"
                continue
            if ev.webhook_id in down:
                ok, error = False, ev.last_error or "接收方暂不可用，随同一接收方的其他事件重试"
            else:
                secret = secrets.get(hook.id) or secrets.setdefault(hook.id, crypto.decrypt(hook.secret_enc))
                ok, error = _post(client, hook.url, secret, ev)
                ev.attempts += 1
            if ok:
                ev.state, ev.delivered_at, ev.last_error = "delivered", now, None
                delivered += 1
                continue
            ev.last_error = error[:500]
            if rules.gives_up(ev.created_at, now):
                ev.state = "dead"
                log.warning("webhook event %s to receiver %s given up after %s attempts", ev.event_id,
                            ev.webhook_id, ev.attempts)
                continue
            if ev.webhook_id not in down:
                down[ev.webhook_id] = now + rules.retry_delay(ev.attempts)
            ev.next_attempt_at = down[ev.webhook_id]
    session.flush()
    return delivered


def _post(client: httpx.Client, url: str, secret: str, ev: OutboxEvent) -> tuple[bool, str]:
    body = ev.payload.encode("utf-8")
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body),
               EVENT_ID_HEADER: ev.event_id, EVENT_TYPE_HEADER: ev.event_type}
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return False, f"连接失败：{type(exc).__name__} {exc}"
    if 200 <= response.status_code < 300:
        return True, ""
    return False, f"接收方返回 HTTP {response.status_code}"


def retry_dead(session: Session, event_ids: list[int], *, actor: str) -> int:
    count = 0
    for ev in session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(event_ids), OutboxEvent.state == "dead")):
        ev.state, ev.next_attempt_at, ev.created_at = "pending", utcnow(), utcnow()
        count += 1
    audit.record(session, actor=actor, action="webhook.retry_dead", entity="outbox", after={"events": count})
    return count


def outbox_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxEvent.state, func.count()).group_by(OutboxEvent.state)).all()
    return {state: n for state, n in rows}


def dead_letters(session: Session, limit: int = 100) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.state == "dead")
                                .order_by(OutboxEvent.id.desc()).limit(limit)))


register_periodic("webhooks", 2, deliver_due)
