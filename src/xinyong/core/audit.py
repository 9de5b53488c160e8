"""Tamper-evident audit trail: an append-only table where each event carries the hash of the previous one.

A chain alone cannot show that its newest events were deleted: what is left is still a valid chain. So a
one-row anchor (audit_head) holds the sequence number and hash of the newest event, written in the same
transaction as the event; verification compares the chain's end with it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, select, text
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


class AuditHead(Base):
    """The anchor: one row (id 1) naming the newest event."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


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
    # populate_existing: sessions keep objects across commits, and another session may have appended since.
    head = session.get(AuditHead, 1, populate_existing=True)
    if head is None:  # first event, or a database from before the anchor existed
        last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
        head = AuditHead(id=1, seq=last[0] if last else 0, hash=last[1] if last else GENESIS)
        session.add(head)
    # The anchor, not the table's last row, is the predecessor: a deleted newest event leaves a gap that
    # verification names instead of being silently papered over.
    seq = head.seq + 1
    prev = head.hash
    at = utcnow()
    b, a = _canonical(before), _canonical(after)
    eid = None if entity_id is None else str(entity_id)
    ev = AuditEvent(seq=seq, at=at, actor=actor, action=action, entity=entity, entity_id=eid, before=b, after=a,
                    prev_hash=prev, hash=event_hash(prev, seq, at, actor, action, entity, eid, b, a))
    session.add(ev)
    head.seq, head.hash, head.at = seq, ev.hash, at
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
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)
                           .execution_options(populate_existing=True, yield_per=2000)).scalars()
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
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if head is None:
        if count:
            return ChainCheck(False, count, expected_seq, "审计锚点（audit_head）缺失，无法确认末尾事件是否被删除")
        return ChainCheck(True, 0, None, None)
    last_seq = expected_seq - 1
    if head.seq > last_seq:
        return ChainCheck(False, count, expected_seq,
                          f"第 {expected_seq} 号审计事件缺失（末尾 {head.seq - last_seq} 条事件被删除）")
    if head.seq < last_seq:
        return ChainCheck(False, count, head.seq + 1,
                          f"第 {head.seq + 1} 号审计事件不在审计锚点记录之内（绕过审计接口写入或锚点被回改）")
    if head.hash != prev:
        return ChainCheck(False, count, last_seq, f"第 {last_seq} 号审计事件与审计锚点的哈希不符（锚点或该事件被修改）")
    return ChainCheck(True, count, None, None)
