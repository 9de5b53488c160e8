"""Webhooks: an outbox written in the transaction of each change, delivered by a periodic job.

Delivery is at least once; every event carries a stable id (X-Xinyong-Event-Id) so receivers deduplicate,
which makes it exactly once per receiver. Rows are claimed with FOR UPDATE SKIP LOCKED on PostgreSQL, so
several platform instances can run the job side by side.

Targets: the platform posts only to public addresses. A URL whose host resolves to a loopback, private,
link-local, multicast, unspecified or reserved address is refused at registration, and again at every
delivery, after resolving: the request then goes to the address that was checked (Host header and TLS name
kept), so a name that re-resolves to an inner address between check and connect (DNS rebinding) cannot
redirect it. Redirects are not followed. A deployment whose departments receive on the government intranet
lists those networks in XINYONG_WEBHOOK_ALLOW_NETWORKS (CIDR, comma-separated); nothing else inner is reached.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.access.actors import actor_for_dept
from xinyong.access.policy import may_manage_webhook
from xinyong.accounts.models import Department
from xinyong.core import audit, crypto
from xinyong.core.db import dialect_name, utcnow
from xinyong.core.errors import NotFound, Refused
from xinyong.core.jobs import register_periodic
from xinyong.core.settings import get_settings
from xinyong.joint import bulk, rules
from xinyong.joint.models import OutboxEvent, Webhook

log = logging.getLogger("xinyong.webhooks")
SIGNATURE_HEADER = "X-Xinyong-Signature"
EVENT_ID_HEADER = "X-Xinyong-Event-Id"
EVENT_TYPE_HEADER = "X-Xinyong-Event"
EVENT_TYPES = ("task.created", "measure.suspended", "measure.resumed", "measure.lifted")


def secret_aad(dept_id: int) -> str:
    """What binds webhooks.secret_enc to its row: the department that registered the hook."""
    return f"webhooks.secret_enc|{dept_id}"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


# (host, port) -> the addresses it resolves to; injectable so tests need no DNS.
Resolver = Callable[[str, int], list[str]]


def resolve_host(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class Target:
    """A checked delivery target: the URL as registered and the address the request goes to."""

    url: str
    host: str
    port: int
    address: str

    def pinned_url(self) -> httpx.URL:
        return httpx.URL(self.url).copy_with(host=self.address)

    def host_header(self) -> str:
        default = 443 if self.url.lower().startswith("https:") else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


@lru_cache(maxsize=4)
def _allowed_networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    out = []
    for part in spec.split(","):
        if part.strip():
            out.append(ipaddress.ip_network(part.strip(), strict=False))
    return tuple(out)


def _inner_kind(address: str) -> str | None:
    """Why an address is not a public one (in Chinese), or None when the platform may post to it."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in _allowed_networks(get_settings().webhook_allow_networks)):
        return None
    if ip.is_loopback:
        return "本机回环地址"
    if ip.is_link_local:
        return "链路本地地址"
    if ip.is_multicast:
        return "组播地址"
    if ip.is_unspecified or ip.is_reserved:
        return "保留地址"
    if ip.is_private:
        return "内网（私有）地址"
    if not ip.is_global:
        return "非公网地址"
    return None


def check_target(url: str, resolve: Resolver | None = None) -> Target:
    """Resolve the URL's host and refuse it unless every address it resolves to is public."""
    try:
        parsed = urlparse(url.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://["
        raise Refused("url 不是有效的地址，请填写 http:// 或 https:// 开头的完整地址，如 https://example.gov.cn/hook") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise Refused("url 应为 http:// 或 https:// 开头的完整地址")
    host = parsed.hostname
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        raise Refused("url 的端口号无效，请检查地址") from None
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = (resolve or resolve_host)(host, port)
        except (OSError, UnicodeError):
            addresses = []
        if not addresses:
            raise Refused(f"无法解析接收地址的主机名「{host[:100]}」：请确认该地址在公网可以访问后重新登记") from None
    for address in addresses:
        kind = _inner_kind(address)
        if kind is not None:
            raise Refused(f"接收地址「{host[:100]}」指向{kind}（{address}）：平台不向本机、内网或保留地址推送事件，"
                          "请登记部门对外提供的接收地址；政务内网的接收网段请联系信用办列入白名单")
    return Target(url=url.strip(), host=host, port=port, address=addresses[0])


def register_webhook(session: Session, dept: Department, *, url: str, secret: str,
                     resolve: Resolver | None = None) -> Webhook:
    check_target(url, resolve)
    if len(secret) < 16:
        raise Refused("secret 至少 16 个字符，用于计算 HMAC-SHA256 签名")
    hook = Webhook(dept_id=dept.id, url=url.strip(), secret_enc=crypto.encrypt(secret, secret_aad(dept.id)), active=True)
    session.add(hook)
    session.flush()
    audit.record(session, actor=f"dept:{dept.code}", action="webhook.register", entity="webhook", entity_id=hook.id,
                 after={"url": hook.url})
    return hook


def list_webhooks(session: Session, dept: Department) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.dept_id == dept.id).order_by(Webhook.id)))


def deactivate_webhook(session: Session, dept: Department, webhook_id: int) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None or not may_manage_webhook(actor_for_dept(dept), dept_id=hook.dept_id):
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
                transport: httpx.BaseTransport | None = None, timeout: float = 5.0,
                resolve: Resolver | None = None) -> int:
    """Try every due event once; returns how many were delivered. `now`, `transport` and `resolve` are
    injectable for tests."""
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
    targets: dict[int, Target | str] = {}  # per receiver, resolved once per round: a target or why not
    delivered = 0
    # A receiver that failed in this round is not tried again in it; its other events wait as long as it does.
    down: dict[int, datetime] = {}
    with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False) as client:
        for ev in due:
            hook = hooks.get(ev.webhook_id)
            if hook is None or not hook.active:
                ev.state, ev.last_error = "dead", "接收地址已停用"
                continue
            if ev.webhook_id in down:
                ok, error = False, ev.last_error or "接收方暂不可用，随同一接收方的其他事件重试"
            else:
                if hook.id not in targets:
                    try:
                        targets[hook.id] = check_target(hook.url, resolve)
                    except Refused as exc:
                        targets[hook.id] = exc.detail
                target = targets[hook.id]
                if isinstance(target, Target):
                    secret = secrets.get(hook.id) or secrets.setdefault(hook.id, crypto.decrypt(hook.secret_enc, secret_aad(hook.dept_id)))
                    ok, error = _post(client, target, secret, ev)
                else:
                    ok, error = False, target
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


def _post(client: httpx.Client, target: Target, secret: str, ev: OutboxEvent) -> tuple[bool, str]:
    body = ev.payload.encode("utf-8")
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body),
               EVENT_ID_HEADER: ev.event_id, EVENT_TYPE_HEADER: ev.event_type, "Host": target.host_header()}
    try:
        # To the address that was checked; the certificate is still verified for the registered host name.
        response = client.post(target.pinned_url(), content=body, headers=headers,
                               extensions={"sni_hostname": target.host})
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
