"""Webhook delivery through the outbox: the receiver is down for an hour, the platform restarts, and every
event still arrives exactly once, signed. Time is simulated (deliver_due takes `now`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lists_support import add_departments, new_org, publish
from xinyong.core import db as core_db
from xinyong.core.db import utcnow
from xinyong.core.errors import Refused
from xinyong.joint import webhooks
from xinyong.joint.models import OutboxEvent, Webhook
from xinyong.lists import service as lists

SECRET = "receiver-secret-0123456789"


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that can be down (port closed) or up, deduplicating on event id."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.received: list[dict[str, str]] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/xinyong/events"

    def up(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"id": self.headers["X-Xinyong-Event-Id"], "type": self.headers["X-Xinyong-Event"],
                                 "signature": self.headers["X-Xinyong-Signature"], "body": body.decode("utf-8")})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    # The test receiver listens on loopback, which the platform refuses unless the operator allows it.
    from xinyong.core.settings import reset_settings

    monkeypatch.setenv("XINYONG_WEBHOOK_ALLOW_NETWORKS", "127.0.0.1/32")
    reset_settings()
    r = Receiver()
    yield r
    r.down()
    monkeypatch.delenv("XINYONG_WEBHOOK_ALLOW_NETWORKS")
    reset_settings()


def public(host: str, port: int) -> list[str]:
    """A resolver for names that do not exist offline: a public address."""
    return ["93.184.216.34"]


def _setup(db: Session, url: str, resolve: webhooks.Resolver | None = None) -> tuple[int, int]:
    d = add_departments(db, ["SCJG", "ZJ", "JT"])
    hook = webhooks.register_webhook(db, d["ZJ"], url=url, secret=SECRET, resolve=resolve)
    entry = publish(db, d["SCJG"], new_org(db))
    lists.suspend_entry(db, entry.id, actor="objection:1", reason="异议已受理")
    lists.resume_entry(db, entry.id, actor="objection:1", reason="异议不成立")
    lists.exit_entry(db, entry.id, actor="repair:1", reason="信用修复")
    db.commit()
    return hook.id, entry.id


def test_events_survive_an_hour_of_downtime_and_a_restart_exactly_once(db: Session, receiver: Receiver) -> None:
    hook_id, _ = _setup(db, receiver.url)
    events = list(db.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
    kinds = [e.event_type for e in events]
    assert len(events) == 12 and {k: kinds.count(k) for k in set(kinds)} == {
        "task.created": 3, "measure.suspended": 3, "measure.resumed": 3, "measure.lifted": 3}
    assert db.get(Webhook, hook_id).secret_enc != SECRET  # stored encrypted
    t0 = utcnow()
    for minute in range(0, 61):  # the scheduler ticks; the receiver is down for an hour
        assert webhooks.deliver_due(db, now=t0 + timedelta(minutes=minute), timeout=1) == 0
        db.commit()
    pending = list(db.scalars(select(OutboxEvent)))
    assert {e.state for e in pending} == {"pending"}
    # one probe per round for the receiver, backing off exponentially up to 10 minutes: 0,0.5,1.5,3.5,7.5,15.5,…
    assert 6 <= sum(e.attempts for e in pending) <= 12
    db.close()

    core_db.reset_engine()  # the platform restarts: new engine, new session
    receiver.up()
    fresh = core_db.new_session()
    try:
        delivered = webhooks.deliver_due(fresh, now=t0 + timedelta(minutes=75))
        fresh.commit()
        assert delivered == 12
        assert webhooks.deliver_due(fresh, now=t0 + timedelta(hours=3)) == 0
        fresh.commit()
        states = {e.state for e in fresh.scalars(select(OutboxEvent))}
        ids = [e.event_id for e in fresh.scalars(select(OutboxEvent))]
    finally:
        fresh.close()
    assert states == {"delivered"}
    got = [r["id"] for r in receiver.received]
    assert sorted(got) == sorted(ids) and len(set(got)) == len(got)  # every event exactly once
    for r in receiver.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), r["body"].encode(), hashlib.sha256).hexdigest()
        assert hmac.compare_digest(r["signature"], expected)
        body = json.loads(r["body"])
        assert body["id"] == r["id"] and body["type"] == r["type"] and body["data"]["measure"]["code"]


def test_event_is_given_up_after_48_hours_and_shown_as_dead_letter(db: Session, receiver: Receiver) -> None:
    _setup(db, receiver.url)
    t0 = utcnow()
    for hour in range(0, 49):
        webhooks.deliver_due(db, now=t0 + timedelta(hours=hour), timeout=1)
        db.commit()
    dead = webhooks.dead_letters(db)
    assert len(dead) == 12 and all("连接失败" in (e.last_error or "") for e in dead)
    assert webhooks.outbox_counts(db) == {"dead": 12}
    assert webhooks.retry_dead(db, [e.id for e in dead], actor="user:admin") == 12
    receiver.up()
    assert webhooks.deliver_due(db, now=utcnow() + timedelta(seconds=1)) == 12


def test_outbox_is_written_in_the_transaction_of_the_change(db: Session, receiver: Receiver) -> None:
    d = add_departments(db, ["SCJG", "ZJ"])
    webhooks.register_webhook(db, d["ZJ"], url=receiver.url, secret=SECRET)
    db.commit()
    publish(db, d["SCJG"], new_org(db))
    assert db.scalars(select(OutboxEvent)).first() is not None
    db.rollback()  # the request failed after publishing: nothing was published, nothing is announced
    assert db.scalars(select(OutboxEvent)).first() is None


def test_receiver_errors_are_retried(db: Session) -> None:
    import httpx

    _setup(db, "http://receiver.invalid/hook", resolve=public)
    calls: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["X-Xinyong-Event-Id"])
        # sent to the address that was checked, still naming the registered host
        assert request.url.host == "93.184.216.34" and request.headers["Host"] == "receiver.invalid"
        return httpx.Response(503 if len(calls) == 1 else 200)

    t0 = utcnow()
    assert webhooks.deliver_due(db, now=t0, transport=httpx.MockTransport(flaky), resolve=public) == 0
    first = db.scalars(select(OutboxEvent).where(OutboxEvent.attempts == 1)).one()
    assert first.last_error == "接收方返回 HTTP 503"
    assert webhooks.deliver_due(db, now=t0 + timedelta(seconds=31), transport=httpx.MockTransport(flaky),
                                resolve=public) == 12


def test_bad_webhook_registration_is_refused(db: Session) -> None:
    d = add_departments(db, ["ZJ"])
    with pytest.raises(Exception, match="http"):
        webhooks.register_webhook(db, d["ZJ"], url="ftp://x/y", secret=SECRET)
    with pytest.raises(Exception, match="16"):
        webhooks.register_webhook(db, d["ZJ"], url="https://zj.example/hook", secret="short", resolve=public)


@pytest.mark.parametrize(("url", "kind"), [
    ("http://127.0.0.1:8080/hook", "本机回环"),
    ("http://10.1.2.3/hook", "内网"),
    ("http://192.168.0.10/hook", "内网"),
    ("http://169.254.169.254/latest/meta-data", "链路本地"),
    ("http://[::1]/hook", "本机回环"),
    ("http://[::ffff:127.0.0.1]/hook", "本机回环"),
    ("http://0.0.0.0/hook", "保留"),
    ("http://224.0.0.1/hook", "组播"),
    ("http://localhost/hook", "本机回环"),
])
def test_inner_targets_are_refused_at_registration(db: Session, url: str, kind: str) -> None:
    d = add_departments(db, ["ZJ"])
    with pytest.raises(Refused, match=kind):
        webhooks.register_webhook(db, d["ZJ"], url=url, secret=SECRET)
    assert db.scalars(select(Webhook)).first() is None


def test_a_name_resolving_to_an_inner_address_is_refused(db: Session) -> None:
    d = add_departments(db, ["ZJ"])
    with pytest.raises(Refused, match="内网"):
        webhooks.register_webhook(db, d["ZJ"], url="https://hooks.example.com/x", secret=SECRET,
                                  resolve=lambda host, port: ["93.184.216.34", "10.0.0.5"])  # any inner one refuses
    with pytest.raises(Refused, match="无法解析"):
        webhooks.register_webhook(db, d["ZJ"], url="https://hooks.example.com/x", secret=SECRET,
                                  resolve=lambda host, port: [])


def test_delivery_checks_the_address_again_dns_rebinding(db: Session) -> None:
    import httpx

    _setup(db, "https://hooks.example.com/x", resolve=public)  # public when registered
    sent: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    rebound = webhooks.deliver_due(db, now=utcnow(), transport=httpx.MockTransport(receiver),
                                   resolve=lambda host, port: ["127.0.0.1"])
    assert rebound == 0 and sent == []  # nothing left the platform
    tried = db.scalars(select(OutboxEvent).where(OutboxEvent.attempts == 1)).one()
    assert "本机回环" in (tried.last_error or "") and tried.state == "pending"  # retried later, re-checked then


def test_delivery_errors_are_shown_to_the_office_only(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    from xinyong.accounts import service as accounts

    _setup(db, "https://hooks.example.com/x", resolve=public)
    for ev in db.scalars(select(OutboxEvent)):
        ev.state, ev.last_error = "dead", "连接失败：ConnectError 内部细节"
    accounts.create_user(db, "zj", "zj1234567", dept_code="ZJ")
    accounts.create_user(db, "boss", "boss1234567", dept_code="SCJG", role="operator")
    db.commit()
    client.post("/admin/login", data={"username": "zj", "password": "zj1234567"})
    page = client.get("/admin/joint")
    assert page.status_code == 200 and "内部细节" not in page.text
    client.post("/admin/logout")
    client.post("/admin/login", data={"username": "boss", "password": "boss1234567"})
    assert "内部细节" in client.get("/admin/joint").text
