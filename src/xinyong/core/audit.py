"""Tamper-evident audit trail: an append-only table where each event carries the hash of the previous one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from xinyong.core.db import Base, BigId, UtcDateTime, utcnow

GENESIS = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def event_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, entity: str,
               entity_id: str | None, before: str | None, after: str | None) -> str:
    material = json.dumps(
        [prev_hash, seq, at.isoformat(), actor, action, entity, entity_id, before, after],
        ensure_ascii=False,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def record(session: Session, *, actor: str, action: str, entity: str, entity_id: object = None,
           before: Any = None, after: Any = None) -> AuditEvent:
    """Append one event. Callers pass personal data already masked."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appenders so the chain stays linear; released at commit.
        session.execute(text("SELECT pg_advisory_xact_lock(7301)"))
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq = (last[0] + 1) if last else 1
    prev = last[1] if last else GENESIS
    at = utcnow()
    b, a = _canonical(before), _canonical(after)
    eid = None if entity_id is None else str(entity_id)
    ev = AuditEvent(seq=seq, at=at, actor=actor, action=action, entity=entity, entity_id=eid, before=b, after=a,
                    prev_hash=prev, hash=event_hash(prev, seq, at, actor, action, entity, eid, b, a))
    session.add(ev)
    session.flush()
    return ev


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_broken: int | None
    reason: str | None


def verify_chain(session: Session) -> ChainCheck:
    prev = GENESIS
    expected_seq = 1
    count = 0
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()
    for ev in rows:
        count += 1
        if ev.seq != expected_seq:
            return ChainCheck(False, count, expected_seq, f"第 {expected_seq} 号审计事件缺失（可能被删除）")
        if ev.prev_hash != prev:
            return ChainCheck(False, count, ev.seq, f"第 {ev.seq} 号审计事件的前序哈希不符（前一事件被修改或删除）")
        digest = event_hash(ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.entity, ev.entity_id,
                            ev.before, ev.after)
        if digest != ev.hash:
            return ChainCheck(False, count, ev.seq, f"第 {ev.seq} 号审计事件内容与哈希不符（已被篡改）")
        prev = ev.hash
        expected_seq += 1
    return ChainCheck(True, count, None, None)
