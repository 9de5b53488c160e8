"""Finding and creating subjects on the request path. The bulk path (ingest) has its own set-based matcher."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.core import clock, crypto
from xinyong.core.errors import NotFound, Refused
from xinyong.core.identifiers import check_citizen_id, check_uscc, mask_citizen_id, uscc_subject_kind
from xinyong.core.regions import lookup_region
from xinyong.subjects import grams
from xinyong.subjects.models import KIND_LABELS, KINDS, Subject, SubjectIdentifier, SubjectName

ID_HASH_PURPOSE = "citizen_id"


def citizen_id_hash(normalised: str) -> str:
    return crypto.keyed_hash(normalised, ID_HASH_PURPOSE)


def id_aad(id_hash: str) -> str:
    """What binds subjects.id_enc to its row: the subject's ID hash (also the bulk matcher's)."""
    return f"subjects.id_enc|{id_hash}"


def get_by_uscc(session: Session, uscc: str) -> Subject:
    check = check_uscc(uscc)
    if not check.ok:
        raise NotFound(f"统一社会信用代码「{uscc[:40]}」无效：{check.error}")
    subject = session.scalar(select(Subject).where(Subject.uscc == check.value))
    if subject is None:
        raise NotFound(f"未找到统一社会信用代码为 {check.value} 的主体，请核对代码或通过名称查询")
    return subject


def find_by_uscc(session: Session, uscc: str) -> Subject | None:
    return session.scalar(select(Subject).where(Subject.uscc == uscc))


def find_by_identifier(session: Session, scheme: str, value: str) -> Subject | None:
    return session.scalar(
        select(Subject).join(SubjectIdentifier, SubjectIdentifier.subject_id == Subject.id)
        .where(SubjectIdentifier.scheme == scheme, SubjectIdentifier.value == value)
    )


def find_by_citizen_id(session: Session, raw: str) -> Subject | None:
    check = check_citizen_id(raw)
    if not check.ok:
        return None
    return session.scalar(select(Subject).where(Subject.id_hash == citizen_id_hash(check.value)))


def find_by_name(session: Session, name: str, limit: int = 20) -> list[Subject]:
    """Exact name match among organisations (natural persons are never found by name)."""
    return list(session.scalars(
        select(Subject).where(Subject.name == name.strip(), Subject.kind != "natural_person").limit(limit)
    ))


def upsert_organisation(session: Session, *, uscc: str, name: str, kind: str | None = None,
                        region_code: str | None = None, secondary: dict[str, str] | None = None,
                        seen: date | None = None, legal_rep: str | None = None,
                        batch_id: int | None = None) -> Subject:
    check = check_uscc(uscc)
    if not check.ok:
        raise Refused(f"统一社会信用代码无效：{check.error}")
    kind = kind or uscc_subject_kind(check.value)
    if kind not in KINDS or kind == "natural_person":
        raise Refused(f"主体类别「{kind}」不是组织类别")
    seen = seen or clock.today()
    subject = find_by_uscc(session, check.value)
    if subject is None:
        for scheme, value in (secondary or {}).items():
            subject = find_by_identifier(session, scheme, value)
            if subject is not None:
                subject.uscc = subject.uscc or check.value
                break
    if subject is None:
        subject = Subject(kind=kind, name=name.strip(), uscc=check.value,
                          region_code=region_code or check.value[2:8], legal_rep=legal_rep)
        session.add(subject)
        session.flush()
        session.add(SubjectName(subject_id=subject.id, name=subject.name, first_seen=seen, source_batch_id=batch_id))
        grams.set_names(session, [(subject.id, subject.name)])
    elif name.strip() and name.strip() != subject.name:
        rename(session, subject, name.strip(), seen, batch_id)
    for scheme, value in (secondary or {}).items():
        if find_by_identifier(session, scheme, value) is None:
            session.add(SubjectIdentifier(subject_id=subject.id, scheme=scheme, value=value))
    session.flush()
    return subject


def rename(session: Session, subject: Subject, new_name: str, seen: date, batch_id: int | None = None) -> None:
    current = session.scalar(select(SubjectName).where(SubjectName.subject_id == subject.id,
                                                       SubjectName.last_seen.is_(None)))
    if current is not None:
        current.last_seen = seen
    session.add(SubjectName(subject_id=subject.id, name=new_name, first_seen=seen, source_batch_id=batch_id))
    subject.name = new_name
    if subject.kind != "natural_person":
        session.flush()
        grams.set_names(session, [(subject.id, new_name)])


def upsert_person(session: Session, citizen_id: str, name: str) -> Subject:
    check = check_citizen_id(citizen_id)
    if not check.ok:
        raise Refused(f"公民身份号码无效：{check.error}")
    digest = citizen_id_hash(check.value)
    subject = session.scalar(select(Subject).where(Subject.id_hash == digest))
    if subject is None:
        subject = Subject(kind="natural_person", name=name.strip(), id_hash=digest,
                          id_enc=crypto.encrypt(check.value, id_aad(digest)), id_masked=mask_citizen_id(check.value),
                          region_code=check.value[:6])
        session.add(subject)
        session.flush()
    return subject


def former_names(session: Session, subject_id: int) -> list[SubjectName]:
    return list(session.scalars(
        select(SubjectName).where(SubjectName.subject_id == subject_id, SubjectName.last_seen.is_not(None))
        .order_by(SubjectName.first_seen)
    ))


def display_name(subject: Subject) -> str:
    if subject.kind == "natural_person":
        name = subject.name
        return name[:1] + "*" * max(1, len(name) - 1) if name else "自然人"
    return subject.name


def subject_out(session: Session, subject: Subject) -> dict[str, Any]:
    region = lookup_region(subject.region_code) if subject.region_code else None
    return {
        "id": subject.id,
        "uscc": subject.uscc,
        "name": display_name(subject),
        "kind": subject.kind,
        "kind_label": KIND_LABELS.get(subject.kind, subject.kind),
        "id_masked": subject.id_masked,
        "region_code": subject.region_code,
        "region": region.full_name if region else None,
        "status": subject.status,
        "legal_rep": subject.legal_rep,
        "established": subject.established.isoformat() if subject.established else None,
        "former_names": [n.name for n in former_names(session, subject.id)] if subject.kind != "natural_person" else [],
    }
