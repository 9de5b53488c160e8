"""What every due-process case shares: case numbers, query codes, the applicant's subject, the timeline,
idempotency and the outbound sync outbox. Used by objections, repair, commitments and complaints; their legal
"today" comes from `xinyong.core.clock`."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xinyong.cases.models import CaseEvent, IdempotencyKey
from xinyong.core import crypto
from xinyong.core.errors import NotFound, Refused
from xinyong.core.identifiers import check_citizen_id
from xinyong.exchange import outbox
from xinyong.lists.models import ListEntry
from xinyong.records.models import Record
from xinyong.subjects.models import Subject
from xinyong.subjects.service import citizen_id_hash

QUERY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone
QUERY_PURPOSE = "case_query_code"


def case_number(prefix: str, on: date, case_id: int) -> str:
    return f"{prefix}{on:%Y%m%d}{case_id:06d}"


def placeholder_case_no() -> str:
    """Unique until the row's id is known (case numbers carry the id)."""
    return "tmp" + secrets.token_hex(12)


def new_query_code() -> str:
    return "".join(secrets.choice(QUERY_ALPHABET) for _ in range(10))


def hash_query_code(code: str) -> str:
    return crypto.keyed_hash(code.strip().upper().replace("-", "").replace(" ", ""), QUERY_PURPOSE)


def case_aad(column: str, query_hash: str) -> str:
    """What binds a case's encrypted columns (query code, applicant, reporter) to their row: the case's
    query-code hash, set when the case is created and never changed. column: "table.column"."""
    return f"{column}|{query_hash}"


def query_code_matches(stored_hash: str, given: str | None) -> bool:
    # Compare HMACs in constant time; an absent code hashes anyway so timing tells nothing.
    return hmac.compare_digest(stored_hash, hash_query_code(given or ""))


def subject_matches(subject: Subject, code: str) -> bool:
    """Whether the code an applicant gave (unified code or citizen ID number) is the case's subject's."""
    code = code.strip().upper()
    if subject.uscc and subject.uscc == code:
        return True
    check = check_citizen_id(code)
    return bool(check.ok and subject.id_hash and subject.id_hash == citizen_id_hash(check.value))


def mask_name(name: str) -> str:
    name = name.strip()
    if not name:
        return "—"
    if len(name) <= 1:
        return "*"
    if len(name) >= 6:  # an organisation: names are public
        return name
    return name[0] + "*" * (len(name) - 1)


def add_event(session: Session, case_type: str, case_id: int, *, actor: str, action: str, on: date,
              from_state: str | None = None, to_state: str | None = None, note: str | None = None,
              public: bool = True) -> CaseEvent:
    ev = CaseEvent(case_type=case_type, case_id=case_id, actor=actor, action=action, on=on,
                   from_state=from_state, to_state=to_state, note=note, public=public)
    session.add(ev)
    return ev


def timeline(session: Session, case_type: str, case_id: int, *, public_only: bool = False) -> list[CaseEvent]:
    q = select(CaseEvent).where(CaseEvent.case_type == case_type, CaseEvent.case_id == case_id)
    if public_only:
        q = q.where(CaseEvent.public.is_(True))
    return list(session.scalars(q.order_by(CaseEvent.id)))


# ---------------------------------------------------------------- idempotency

def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.strip().encode("utf-8")).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None or not key.strip():
        return None
    if len(key) > 200:
        raise Refused("Idempotency-Key 过长（最多 200 个字符），请使用 UUID")
    return key.strip()


def claim(session: Session, scope: str, key: str | None, digest: str) -> int | None:
    """Claim `key` for a new submission. Returns the existing case id when the key was used before for the same
    request; raises when it was used for a different one; returns None (and holds the claim) otherwise."""
    if key is None:
        return None
    kh = _key_hash(key)
    existing = session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope,
                                                           IdempotencyKey.key_hash == kh))
    if existing is None:
        try:
            with session.begin_nested():
                session.add(IdempotencyKey(scope=scope, key_hash=kh, body_hash=digest))
            return None
        except IntegrityError:  # a concurrent request with the same key won the race
            existing = session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope,
                                                                   IdempotencyKey.key_hash == kh))
            if existing is None:  # pragma: no cover
                raise
    if existing.body_hash != digest:
        raise Refused("该幂等键（Idempotency-Key）已用于另一份不同内容的申请；新申请请使用新的幂等键")
    if existing.case_id is None:
        raise Refused("相同的申请正在处理中，请稍后用同一幂等键查询结果")
    return existing.case_id


def bind(session: Session, scope: str, key: str | None, case_id: int) -> None:
    if key is None:
        return
    row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope,
                                                      IdempotencyKey.key_hash == _key_hash(key)))
    if row is not None:
        row.case_id = case_id


# ---------------------------------------------------------------- outbound sync

def queue_sync(session: Session, event_type: str, payload: dict[str, Any], targets: list[str]) -> int:
    """Queue an event for upstream targets through the exchange outbox; its idempotency key is the event type
    and the digest of its payload, so the same step queued twice is delivered once."""
    body = outbox.dumps(payload)
    key = f"{event_type}:{hashlib.sha256(body.encode()).hexdigest()[:40]}"
    record_id = payload.get("record_id")
    record_key = f"record:{record_id}" if record_id is not None else None
    for target in targets:
        outbox.enqueue(session, target=target, event_type=event_type, payload=payload, key=key,
                       record_key=record_key)
    return len(targets)


def no_such_target(kind: str, target_id: object) -> str:
    what = "信用记录" if kind == "record" else "名单信息"
    return (f"{what} {target_id} 不存在或不属于该主体，请核对编号和统一社会信用代码（或公民身份号码）；"
            "可在主体页面“对此信息提出异议”或“申请信用修复”进入")


def check_target_for(session: Session, *, record_id: int | None, entry_id: int | None, subject_code: str) -> None:
    """A filer (objection, repair application) names a record or a list entry by id and the code of the subject it
    is about. A target that does not exist and one of another subject (public or not) get the same answer, before
    anything about its state is disclosed, so the form tells nobody whose records the ids are."""
    if record_id is not None and entry_id is not None:
        raise Refused("请指明有异议的信用记录（record_id）或名单信息（entry_id），二者选一")
    if record_id is not None:
        rec = session.get(Record, record_id) if 0 < record_id < 2**63 else None
        subject = session.get(Subject, rec.subject_id) if rec is not None else None
        if subject is None or not subject_matches(subject, subject_code):
            raise NotFound(no_such_target("record", record_id))
    if entry_id is not None:
        entry = session.get(ListEntry, entry_id) if 0 < entry_id < 2**63 else None
        subject = session.get(Subject, entry.subject_id) if entry is not None else None
        if subject is None or not subject_matches(subject, subject_code):
            raise NotFound(no_such_target("entry", entry_id))
