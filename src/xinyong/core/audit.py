"""Tamper-evident audit trail: an append-only table of events, each chained to the previous one by an HMAC
under the audit key (core/crypto.py: derived for "audit", not the data key), witnessed outside the database.

- Keyed chain: rewriting an event and re-chaining the rest needs the audit key, which is not in the database.
- Anchor: a one-row table (audit_head) names the newest event, written in the same transaction.
- Witness: the head is appended to a file outside the database (`XINYONG_AUDIT_WITNESS_DIR`) every
  `XINYONG_AUDIT_WITNESS_EVERY` events, on `xinyong audit anchor` and by the daily job, after the transaction
  commits. Cutting the newest events, or deleting them all, leaves the witness ahead of the database.
- Table digests (core/digest.py): each anchor also chains a keyed hash of the content of records, list
  entries, cases and check logs; a direct SQL edit of that content no longer matches.
- On PostgreSQL the table refuses UPDATE, DELETE and TRUNCATE by trigger (migrations, `xinyong db harden`).

Events written before the chain was keyed (key_gen NULL) keep their plain SHA-256 link; none may follow a
keyed event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, event, literal, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from xinyong.core import crypto
from xinyong.core.db import Base, BigId, UtcDateTime, utcnow
from xinyong.core.jobs import register_daily
from xinyong.core.settings import SecretKeyMissing, get_settings

log = logging.getLogger("xinyong.audit")
GENESIS = "0" * 64
WITNESS_FILE = "audit-witness.log"
_PENDING = "xinyong.audit.witness"


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
    # The key generation whose audit key made `hash`; NULL for an event from before the chain was keyed.
    key_gen: Mapped[int | None] = mapped_column(Integer)


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
               entity_id: str | None, before: str | None, after: str | None, key_gen: int | None = None) -> str:
    material = json.dumps(
        # in UTC: PostgreSQL reads a timestamp back in the connection's time zone
        [prev_hash, seq, at.astimezone(UTC).isoformat(), actor, action, entity, entity_id, before, after],
        ensure_ascii=False,
    )
    if key_gen is None:  # an event from before the chain was keyed
        return hashlib.sha256(material.encode("utf-8")).hexdigest()
    return crypto.mac("audit", material, key_gen)


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
    gen = crypto.current_generation()
    ev = AuditEvent(seq=seq, at=at, actor=actor, action=action, entity=entity, entity_id=eid, before=b, after=a,
                    prev_hash=prev, key_gen=gen,
                    hash=event_hash(prev, seq, at, actor, action, entity, eid, b, a, gen))
    session.add(ev)
    head.seq, head.hash, head.at = seq, ev.hash, at
    session.flush()
    every = get_settings().audit_witness_every
    if every > 0 and seq % every == 0:
        witness_after_commit(session, ev)
    return ev


# ---- the witness ------------------------------------------------------------------------------------------

def witness_path() -> Path:
    return get_settings().audit_witness_dir / WITNESS_FILE


def _witness_mac(seq: int, digest: str, at: str, gen: int) -> str:
    return crypto.mac("audit", f"witness|{seq}|{digest}|{at}", gen)


def witness_after_commit(session: Session, ev: AuditEvent) -> None:
    """Append this event's seq and hash to the witness once the transaction commits (never for a rollback)."""
    session.info[_PENDING] = (ev.seq, ev.hash)


def _append_witness(seq: int, digest: str) -> None:
    gen = crypto.current_generation()
    at = utcnow().isoformat(timespec="seconds")
    line = json.dumps({"seq": seq, "hash": digest, "at": at, "gen": gen,
                       "mac": _witness_mac(seq, digest, at, gen)}, separators=(",", ":")) + "\n"
    path = witness_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


@event.listens_for(Session, "after_commit")
def _witness_on_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    try:
        _append_witness(*pending)
    except OSError as exc:
        # The transaction has committed; failing the request now would only hide that. The next anchor
        # writes the head again, and `xinyong audit anchor` reports a witness it could not write.
        log.error("审计见证写入失败（%s）：请检查 XINYONG_AUDIT_WITNESS_DIR 的写权限，再运行 xinyong audit anchor",
                  exc.strerror or type(exc).__name__)


@event.listens_for(Session, "after_rollback")
def _drop_on_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class WitnessLine:
    line_no: int
    seq: int
    hash: str


def read_witness() -> tuple[list[WitnessLine], str | None]:
    """The witness lines, or a reason (Chinese) why the file cannot be trusted. Lines need not be in order:
    sessions committing at the same moment append in the order their commits return."""
    path = witness_path()
    if not path.exists():
        return [], None
    out: list[WitnessLine] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            seq, digest, at, gen = int(line["seq"]), str(line["hash"]), str(line["at"]), int(line["gen"])
            good = hmac.compare_digest(str(line["mac"]), _witness_mac(seq, digest, at, gen))
        except (ValueError, KeyError, TypeError):
            return out, f"见证文件第 {n} 行格式不正确（被改写）"
        except SecretKeyMissing:
            good = False
        if not good:
            return out, f"见证文件第 {n} 行的校验码不符（见证被改写，或密钥文件不对）"
        out.append(WitnessLine(n, seq, digest))
    return out, None


# ---- anchoring --------------------------------------------------------------------------------------------

def anchor(session: Session, *, actor: str, check_first: bool = True) -> AuditEvent:
    """Chain a signed digest of the covered tables into the trail and witness the new head after commit.

    Refused (DigestMismatch) when the tables no longer match the previous digest: a direct edit is reported,
    never absorbed into a fresh digest. Only a key rotation, which checked before it re-encrypted, skips it."""
    from xinyong.core import digest

    problem = digest.check(session) if check_first else None
    if problem is not None:
        raise digest.DigestMismatch(problem + "。请查明原因并从备份恢复后再写入见证")
    ev = record(session, actor=actor, action="audit.anchor", entity="audit", after={"tables": digest.take(session)})
    witness_after_commit(session, ev)
    return ev


# ---- verification -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_broken: int | None
    reason: str | None


def verify_chain(session: Session) -> ChainCheck:
    """The chain itself (links, keyed hashes) and its anchor row."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    keyed = False
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)
                           .execution_options(populate_existing=True, yield_per=2000)).scalars()
    for ev in rows:
        count += 1
        if ev.seq != expected_seq:
            return ChainCheck(False, count, expected_seq, f"第 {expected_seq} 号审计事件缺失（可能被删除）")
        if ev.prev_hash != prev:
            return ChainCheck(False, count, ev.seq, f"第 {ev.seq} 号审计事件的前序哈希不符（前一事件被修改或删除）")
        if ev.key_gen is None and keyed:
            return ChainCheck(False, count, ev.seq, f"第 {ev.seq} 号审计事件没有密钥校验码（绕过审计接口写入）")
        keyed = keyed or ev.key_gen is not None
        try:
            digest = event_hash(ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.entity, ev.entity_id,
                                ev.before, ev.after, ev.key_gen)
        except SecretKeyMissing:
            return ChainCheck(False, count, ev.seq, f"第 {ev.seq} 号审计事件所用的第 {ev.key_gen} 代密钥不在密钥文件中")
        if not hmac.compare_digest(digest, ev.hash):
            return ChainCheck(False, count, ev.seq, f"第 {ev.seq} 号审计事件内容与校验码不符（已被篡改）")
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


def _has_business_data(session: Session) -> bool:
    from xinyong.core import digest

    for name in ("departments", "subjects", *digest.COVERED):
        table = Base.metadata.tables.get(name)
        if table is not None and session.execute(select(literal(1)).select_from(table).limit(1)).first():
            return True
    return False


def witnessed(seq: int) -> bool:
    lines, bad = read_witness()
    return bad is None and any(w.seq == seq for w in lines)


def verify(session: Session) -> ChainCheck:
    """Everything `xinyong audit verify` checks: the chain, the witness outside the database, an empty chain
    beside existing data, and the covered tables against the latest signed digest."""
    from xinyong.core import digest

    chain = verify_chain(session)
    if not chain.ok:
        return chain
    n = chain.events
    if n == 0 and _has_business_data(session):
        return ChainCheck(False, 0, 1, "审计链为空，但数据库中已有业务数据：审计事件被全部删除")
    lines, bad = read_witness()
    if bad is not None:
        return ChainCheck(False, n, None, bad)
    if not lines:
        if n:
            return ChainCheck(False, n, None, f"未找到审计见证（{witness_path()}）：无法确认末尾事件未被删除。"
                                              "若是新部署，请运行 `xinyong audit anchor` 写入见证")
        return ChainCheck(True, 0, None, None)
    hashes = dict(session.execute(select(AuditEvent.seq, AuditEvent.hash)
                                  .where(AuditEvent.seq.in_({w.seq for w in lines}))).all())
    for w in lines:
        if w.seq > n:
            return ChainCheck(False, n, n + 1, f"见证记录到第 {w.seq} 号审计事件，数据库只有 {n} 条："
                                               "末尾事件被删除（或数据库被换成旧备份）")
        if hashes.get(w.seq) != w.hash:
            return ChainCheck(False, n, w.seq, f"第 {w.seq} 号审计事件与见证文件第 {w.line_no} 行不符"
                                               "（审计链被改写后重新链接）")
    problem = digest.check(session)
    if problem is not None:
        return ChainCheck(False, n, None, problem)
    return ChainCheck(True, n, None, None)


def _daily_anchor(session: Session, today: date) -> int:
    return anchor(session, actor="system").seq


register_daily("audit.anchor", _daily_anchor)


# ---- PostgreSQL: the table refuses UPDATE, DELETE and TRUNCATE ---------------------------------------------

APPEND_ONLY_SQL = (
    """CREATE OR REPLACE FUNCTION xinyong_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '审计事件只能追加，不能%：请通过平台写入新的审计事件', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$""",
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION xinyong_audit_append_only()",
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION xinyong_audit_append_only()",
)
DROP_APPEND_ONLY_SQL = (
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "DROP FUNCTION IF EXISTS xinyong_audit_append_only()",
)


def install_append_only(conn: Any) -> None:
    """Triggers bind every role, the table's owner and superusers included (only an explicit
    `session_replication_role = replica`, itself a superuser act, turns them off)."""
    if conn.dialect.name == "postgresql":
        for sql in APPEND_ONLY_SQL:
            conn.execute(text(sql))


def uninstall_append_only(conn: Any) -> None:
    if conn.dialect.name == "postgresql":
        for sql in DROP_APPEND_ONLY_SQL:
            conn.execute(text(sql))


def harden_statements(app_role: str) -> list[str]:
    """Grants for the application's role: everything it needs, but only INSERT and SELECT on audit_events."""
    role = '"' + app_role.replace('"', '""') + '"'
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_events FROM {role}",
        f"GRANT SELECT, INSERT ON audit_events TO {role}",
    ]
