"""Objections: submit, accept (mark the record 异议中, suspend measures), forward, answer, decide, withdraw.

Every step is a timeline event (what the applicant is told), an audit event, and — for the record — a record
event through records.service. Services never commit; a request or a job owns the transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor
from xinyong.access.filing import filing_for
from xinyong.accounts.models import Department
from xinyong.cases import attachments, casework
from xinyong.cases.casework import subject_matches
from xinyong.cases.config import get_config
from xinyong.catalog import rules as catalog_rules
from xinyong.catalog.service import get_catalog
from xinyong.core import audit, crypto
from xinyong.core.errors import NotFound, Refused
from xinyong.core.identifiers import check_citizen_id
from xinyong.core.jobs import register_daily
from xinyong.lists import service as lists
from xinyong.lists.models import ListEntry
from xinyong.objections import rules
from xinyong.objections.models import Objection
from xinyong.objections.rules import Role, State
from xinyong.records import service as records
from xinyong.records.models import Record
from xinyong.subjects.models import Subject

CASE = "objection"
ACTION_LABELS = {
    "submitted": "提交异议申请", "accepted": "信用办受理，信息标注“异议中”，相关惩戒措施暂停",
    "rejected": "不予受理", "forwarded": "转数据提供部门核实", "answered": "数据提供部门答复",
    "corrected": "办结：信息已更正", "revoked": "办结：信息已撤销", "upheld": "办结：维持原信息",
    "withdrawn": "申请人撤回", "overdue": "数据提供部门逾期未答复，已提示信用办",
}


@dataclass(frozen=True)
class Submitted:
    objection: Objection
    query_code: str
    created: bool


# ---------------------------------------------------------------- look-ups

def get(session: Session, objection_id: int) -> Objection:
    obj = session.get(Objection, objection_id)
    if obj is None:
        raise NotFound(f"异议 {objection_id} 不存在，请核对编号")
    return obj


def for_subject(session: Session, subject_id: int) -> list[Objection]:
    """Objections in a subject's name (for its own account), newest first."""
    return list(session.scalars(select(Objection).where(Objection.subject_id == subject_id)
                                .order_by(Objection.id.desc()).limit(200)))


def find_case(session: Session, case_no: str) -> Objection | None:
    return session.scalar(select(Objection).where(Objection.case_no == case_no.strip().upper()))


def by_case(session: Session, case_no: str, query_code: str | None) -> Objection:
    """The case, only for the right query code; a wrong code and an unknown case look the same."""
    obj = session.scalar(select(Objection).where(Objection.case_no == case_no.strip().upper()))
    stored = obj.query_hash if obj is not None else casework.hash_query_code("-")
    if not casework.query_code_matches(stored, query_code) or obj is None:
        raise NotFound("案号或查询码不正确，请核对受理回执上的案号与查询码")
    return obj


def roles_of(dept: Department | None, obj: Objection) -> frozenset[Role]:
    if dept is None:
        return frozenset()
    roles = set()
    if dept.is_credit_office:
        roles.add(Role.OFFICE)
    if dept.id == obj.provider_dept_id:
        roles.add(Role.PROVIDER)
    return frozenset(roles)


def _belongs(session: Session, subject_id: int, code: str) -> bool:
    subject = session.get(Subject, subject_id)
    return subject is not None and subject_matches(subject, code)


# ---------------------------------------------------------------- submission

def submit(session: Session, data: dict[str, Any], uploads: list[attachments.Upload], *, idempotency_key: str | None,
           today: date, actor: Actor) -> Submitted:
    """File an objection. In an organisation's name only its own account or the office's counter may file
    (access/filing.py); the case records who did."""
    key = casework.check_key(idempotency_key)
    files = attachments.check(uploads)
    # the filer is part of the body: someone else replaying the key gets no other filer's receipt
    digest = casework.body_hash({**{k: v for k, v in data.items() if k != "attachments"},
                                 "files": [f.sha256 for f in files], "filer": actor.label})
    existing = casework.claim(session, CASE, key, digest)
    if existing is not None:
        obj = get(session, existing)
        return Submitted(obj, crypto.decrypt(obj.query_enc, casework.case_aad("objections.query_enc", obj.query_hash)), created=False)

    record_id, entry_id = data.get("record_id"), data.get("entry_id")
    if (record_id is None) == (entry_id is None):
        raise Refused("请指明有异议的信用记录（record_id）或名单信息（entry_id），二者选一")
    # A record or entry of another subject gets the same answer as an id that does not exist, before anything
    # about its state: the form must not tell whose records the ids are.
    code_given = str(data["subject_code"])
    if record_id is not None:
        rec = session.get(Record, record_id)
        if rec is None or not _belongs(session, rec.subject_id, code_given):
            raise NotFound(casework.no_such_target("record", record_id))
        if rec.state not in ("active", "objection"):
            raise Refused(f"信用记录 {record_id} 已不在公示或使用中（状态：{rec.state}），无需提出异议")
        subject_id, provider, kind = rec.subject_id, rec.dept_id, "record"
    else:
        entry = session.get(ListEntry, entry_id)
        if entry is None or not _belongs(session, entry.subject_id, code_given):
            raise NotFound(casework.no_such_target("entry", entry_id))
        if entry.state not in ("published", "suspended"):
            raise Refused(f"名单信息 {entry_id} 当前未公示（状态：{entry.state}），无需提出异议")
        subject_id, provider, kind = entry.subject_id, entry.initiator_dept_id, "entry"
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFound(casework.no_such_target("record", record_id))
    filing = filing_for(actor, what="异议", subject_kind=subject.kind, subject_id=subject.id)

    code = casework.new_query_code()
    name = str(data["applicant_name"]).strip()
    qhash = casework.hash_query_code(code)
    applicant = json.dumps({"name": name, "contact": str(data["contact"]).strip()}, ensure_ascii=False)
    obj = Objection(case_no=casework.placeholder_case_no(), query_hash=qhash,
                    query_enc=crypto.encrypt(code, casework.case_aad("objections.query_enc", qhash)),
                    state=State.SUBMITTED.value, target_kind=kind,
                    record_id=record_id, entry_id=entry_id, subject_id=subject_id, provider_dept_id=provider,
                    applicant_enc=crypto.encrypt(applicant, casework.case_aad("objections.applicant_enc", qhash)),
                    applicant_masked=casework.mask_name(name), subject_code=_masked_code(str(data["subject_code"])),
                    reason=str(data["reason"]).strip(), requested=(data.get("requested") or None),
                    submitted_on=today, filed_via=filing.via.value, filed_by=filing.by[:100],
                    filer_account_id=filing.account_id)
    session.add(obj)
    session.flush()
    obj.case_no = casework.case_number("YY", today, obj.id)
    attachments.store(session, CASE, obj.id, files)
    casework.add_event(session, CASE, obj.id, actor=filing.timeline_actor, action="submitted", on=today,
                       to_state=State.SUBMITTED.value, note=f"{filing.label}；附件 {len(files)} 个")
    audit.record(session, actor=filing.by, action="objection.submit", entity="objection", entity_id=obj.id,
                 after={"case_no": obj.case_no, "target": kind, "record_id": record_id, "entry_id": entry_id,
                        "applicant": obj.applicant_masked, "filed_via": filing.via.value})
    casework.bind(session, CASE, key, obj.id)
    session.flush()
    return Submitted(obj, code, created=True)


def _masked_code(code: str) -> str:
    code = code.strip().upper()
    check = check_citizen_id(code)
    if check.ok:
        from xinyong.core.identifiers import mask_citizen_id

        return mask_citizen_id(check.value)
    return code[:32]


# ---------------------------------------------------------------- steps

def _step(session: Session, obj: Objection, to: State, *, roles: frozenset[Role], actor: str, today: date,
          note: str | None, public_note: str | None = None) -> None:
    before = State(obj.state)
    rules.check_transition(before, to, roles)
    obj.state = to.value
    casework.add_event(session, CASE, obj.id, actor=actor, action=to.value, on=today, from_state=before.value,
                       to_state=to.value, note=public_note if public_note is not None else note)
    audit.record(session, actor=actor, action=f"objection.{to.value}", entity="objection", entity_id=obj.id,
                 before={"state": before.value}, after={"state": to.value, "note": note})


def _actor(dept: Department) -> str:
    return f"dept:{dept.code}"


def accept(session: Session, objection_id: int, *, dept: Department, today: date, note: str = "",
           actor: str | None = None) -> Objection:
    obj = get(session, objection_id)
    actor = actor or _actor(dept)
    rules.check_transition(State(obj.state), State.ACCEPTED, roles_of(dept, obj))
    reason = f"异议 {obj.case_no} 已受理，核实期间暂停"
    if obj.target_kind == "record" and obj.record_id is not None:
        rules.check_target_state(records.get_record(session, obj.record_id).state)
        records.set_state(session, obj.record_id, "objection", actor=actor, note=f"异议 {obj.case_no} 受理")
        suspended = lists.suspend_entries_for_record(session, obj.record_id, actor=actor, reason=reason)
    else:
        entry = lists.get_entry(session, obj.entry_id or 0)
        rules.check_target_state("objection" if entry.state == "suspended" else
                                 "active" if entry.state == "published" else entry.state)
        lists.suspend_entry(session, entry.id, actor=actor, reason=reason, today=today)
        suspended = 1
    obj.accepted_on = today
    obj.decide_due = rules.decide_due(today, get_config().objections.decide_workdays)
    _step(session, obj, State.ACCEPTED, roles=roles_of(dept, obj), actor=actor, today=today, note=note or None,
          public_note=f"信息已标注“异议中”；暂停名单信息 {suspended} 条及其惩戒措施。办结期限 {obj.decide_due}")
    return obj


def reject(session: Session, objection_id: int, *, dept: Department, today: date, reason: str,
           actor: str | None = None) -> Objection:
    if len(reason.strip()) < 2:
        raise Refused("不予受理须写明理由，以便告知申请人")
    obj = get(session, objection_id)
    obj.decided_on = today
    obj.outcome_note = reason.strip()
    _step(session, obj, State.REJECTED, roles=roles_of(dept, obj), actor=actor or _actor(dept), today=today,
          note=reason.strip())
    return obj


def forward(session: Session, objection_id: int, *, dept: Department, today: date, note: str = "",
            actor: str | None = None) -> Objection:
    obj = get(session, objection_id)
    rules.check_transition(State(obj.state), State.FORWARDED, roles_of(dept, obj))
    obj.forwarded_on = today
    obj.answer_due = rules.answer_due(today, get_config().objections.answer_workdays)
    provider = session.get(Department, obj.provider_dept_id)
    _step(session, obj, State.FORWARDED, roles=roles_of(dept, obj), actor=actor or _actor(dept), today=today,
          note=note or None,
          public_note=f"已转{provider.name if provider else '数据提供部门'}核实，答复期限 {obj.answer_due}")
    return obj


def answer(session: Session, objection_id: int, *, dept: Department, suggestion: str, text: str, today: date,
           actor: str | None = None) -> Objection:
    obj = get(session, objection_id)
    if suggestion not in rules.SUGGESTIONS:
        raise Refused("核实结论只能是 correct（更正）、revoke（撤销）或 uphold（维持）")
    rules.check_transition(State(obj.state), State.ANSWERED, roles_of(dept, obj))
    obj.answered_on, obj.answer_text, obj.answer_suggests = today, text.strip(), suggestion
    _step(session, obj, State.ANSWERED, roles=roles_of(dept, obj), actor=actor or _actor(dept), today=today,
          note=text.strip(), public_note=f"数据提供部门已答复（{rules.SUGGESTIONS[suggestion]}），待信用办决定")
    return obj


def decide(session: Session, objection_id: int, *, dept: Department, outcome: str, note: str,
           corrections: dict[str, str] | None, today: date, actor: str | None = None) -> Objection:
    obj = get(session, objection_id)
    actor = actor or _actor(dept)
    try:
        to = State(outcome)
    except ValueError:
        raise Refused("决定只能是 corrected（更正）、revoked（撤销）或 upheld（维持）") from None
    if to not in rules.OUTCOMES:
        raise Refused("决定只能是 corrected（更正）、revoked（撤销）或 upheld（维持）")
    rules.check_transition(State(obj.state), to, roles_of(dept, obj))
    rules.check_outcome(to, obj.target_kind)
    reason = f"异议 {obj.case_no}：{note.strip()}"
    if obj.target_kind == "record" and obj.record_id is not None:
        if to == State.CORRECTED:
            new = _correct(session, obj.record_id, corrections or {}, actor=actor, today=today)
            obj.new_record_id = new.id
            lists.resume_entries_for_record(session, obj.record_id, actor=actor, reason=reason + "（信息已更正）")
            casework.queue_sync(session, "record.corrected", {"record_id": obj.record_id, "new_record_id": new.id,
                                                              "case_no": obj.case_no, "on": today},
                                get_config().repair.sync_targets)
        elif to == State.REVOKED:
            records.set_state(session, obj.record_id, "revoked", actor=actor, note=reason)
            lists.exit_entries_for_record(session, obj.record_id, actor=actor, reason=reason)
            casework.queue_sync(session, "record.revoked", {"record_id": obj.record_id, "case_no": obj.case_no,
                                                            "on": today}, get_config().repair.sync_targets)
        else:
            _restore_record(session, obj.record_id, actor=actor, reason=reason)
    elif obj.entry_id is not None:
        if to == State.REVOKED:
            lists.revoke_entry(session, obj.entry_id, actor=actor, reason=reason, today=today)
        else:
            lists.resume_entry(session, obj.entry_id, actor=actor, reason=reason, today=today)
    obj.decided_on, obj.outcome_note = today, note.strip()
    _step(session, obj, to, roles=roles_of(dept, obj), actor=actor, today=today, note=note.strip())
    return obj


def withdraw(session: Session, case_no: str, query_code: str, *, today: date) -> Objection:
    obj = by_case(session, case_no, query_code)
    before = State(obj.state)
    rules.check_transition(before, State.WITHDRAWN, frozenset({Role.APPLICANT}))
    if before in rules.UNDER_REVIEW:
        reason = f"异议 {obj.case_no} 申请人撤回"
        if obj.record_id is not None:
            _restore_record(session, obj.record_id, actor="applicant", reason=reason)
        elif obj.entry_id is not None:
            lists.resume_entry(session, obj.entry_id, actor="applicant", reason=reason, today=today)
    obj.decided_on = today
    _step(session, obj, State.WITHDRAWN, roles=frozenset({Role.APPLICANT}), actor="applicant", today=today,
          note="申请人撤回异议")
    return obj


def _restore_record(session: Session, record_id: int, *, actor: str, reason: str) -> None:
    rec = records.get_record(session, record_id)
    if rec.state == "objection":
        records.set_state(session, record_id, "active", actor=actor, note=reason)
    lists.resume_entries_for_record(session, record_id, actor=actor, reason=reason)


def _correct(session: Session, record_id: int, corrections: dict[str, str], *, actor: str, today: date) -> Record:
    """A correction is a new version of the record (same decision number); the old one becomes superseded."""
    rec = records.get_record(session, record_id)
    item = get_catalog().get(rec.item_code)
    names = {f.name: f for f in item.fields}
    if not corrections:
        raise Refused("决定更正时须填写更正内容（字段名 → 更正后的值）")
    unknown = [k for k in corrections if k not in names]
    if unknown:
        valid = "、".join(f"{f.name}（{f.label}）" for f in item.fields)
        raise Refused(f"更正内容中的字段 {'、'.join(unknown)} 不在信息项“{item.name}”中；可更正的字段：{valid}")
    values: dict[str, Any] = dict(records.record_values(rec))
    secrets = records.record_secrets(rec)  # the new version needs the clear values to re-split them; audited
    values.update(secrets)
    if secrets:
        audit.record(session, actor=actor, action="record.secret_read", entity="record", entity_id=rec.id,
                     after={"purpose": "异议更正", "fields": list(secrets)})
    values.update({k: v.strip() for k, v in corrections.items()})
    decision_date, severity = rec.decision_date, rec.severity
    publish_from, publish_until = rec.publish_from, rec.publish_until
    date_field = item.field_by_role("decision_date")
    try:
        if date_field is not None and values.get(date_field.name):
            decision_date = date.fromisoformat(str(values[date_field.name]))
    except ValueError:
        raise Refused(f"更正后的“{date_field.label if date_field else '决定日期'}”不是有效日期，格式如 2026-03-05") from None
    pub = item.publication
    if pub.rule == "severity" and decision_date is not None:
        severity = catalog_rules.severity_class(values.get(pub.type_field or ""), values.get(pub.class_field or ""),
                                                pub.default_classes, pub.default_class)
        requested = values.get(pub.until_field or "")
        publish_from, publish_until = catalog_rules.publication_window(
            severity, decision_date, date.fromisoformat(str(requested)) if requested else None)
    subject = session.get(Subject, rec.subject_id)
    if subject is None:  # pragma: no cover
        raise NotFound("记录所属主体不存在")
    new = records.add_record(session, subject=subject, item_code=rec.item_code, dept_id=rec.dept_id, values=values,
                             decision_no=rec.decision_no, decision_date=decision_date, severity=severity,
                             publish_from=publish_from, publish_until=publish_until, actor=actor)
    if new.id == rec.id:
        raise Refused("更正内容与原信息相同，无需更正；如信息无误请决定“维持”")
    return new


# ---------------------------------------------------------------- overdue

def flag_overdue(session: Session, today: date) -> int:
    """Daily job: forwarded cases whose answer is past due are flagged for the office (once)."""
    ids = list(session.scalars(select(Objection.id).where(Objection.state == State.FORWARDED.value,
                                                          Objection.answer_due < today,
                                                          Objection.overdue.is_(False))))
    if not ids:
        return 0
    session.execute(update(Objection).where(Objection.id.in_(ids)).values(overdue=True))
    for oid in ids:
        casework.add_event(session, CASE, oid, actor="system", action="overdue", on=today, public=False,
                           note="数据提供部门逾期未答复")
    audit.record(session, actor="system", action="objection.overdue", entity="objection", entity_id=None,
                 after={"ids": ids, "on": today})
    return len(ids)


register_daily("objections.overdue", flag_overdue)


# ---------------------------------------------------------------- views

def _target_label(session: Session, obj: Objection) -> str:
    if obj.target_kind == "record" and obj.record_id is not None:
        rec = session.get(Record, obj.record_id)
        item = get_catalog().find(rec.item_code) if rec else None
        return f"{item.name if item else '信用记录'} {rec.decision_no or ''}（记录 {obj.record_id}）" if rec else ""
    return f"名单信息（编号 {obj.entry_id}）"


def public_out(session: Session, obj: Objection) -> dict[str, Any]:
    events = casework.timeline(session, CASE, obj.id, public_only=True)
    return {
        "case_no": obj.case_no, "state": obj.state, "state_label": rules.STATE_LABELS[obj.state],
        "target": _target_label(session, obj), "submitted_on": obj.submitted_on,
        "answer_due": obj.answer_due, "decided_on": obj.decided_on, "outcome_note": obj.outcome_note,
        "timeline": [{"on": e.on, "action": e.action, "label": ACTION_LABELS.get(e.action, e.action), "note": e.note}
                     for e in events],
    }


def full_out(session: Session, obj: Objection) -> dict[str, Any]:
    provider = session.get(Department, obj.provider_dept_id)
    out = public_out(session, obj)
    out["timeline"] = [{"on": e.on, "action": e.action, "label": ACTION_LABELS.get(e.action, e.action),
                        "note": e.note} for e in casework.timeline(session, CASE, obj.id)]
    out.update({
        "id": obj.id, "target_kind": obj.target_kind, "record_id": obj.record_id, "entry_id": obj.entry_id,
        "new_record_id": obj.new_record_id, "provider_dept": provider.name if provider else "",
        "applicant": obj.applicant_masked, "reason": obj.reason, "requested": obj.requested,
        "answer_text": obj.answer_text, "answer_suggests": obj.answer_suggests, "overdue": obj.overdue,
        "attachments": [{"id": a.id, "filename": a.filename, "media_type": a.media_type, "size": a.size,
                         "sha256": a.sha256} for a in attachments.list_for(session, CASE, obj.id)],
    })
    return out


def queue(session: Session, dept: Department, *, state: str | None = None, limit: int = 200) -> list[Objection]:
    """The office sees every case; a providing department sees the cases forwarded to it."""
    q = select(Objection).order_by(Objection.overdue.desc(), Objection.id.desc()).limit(limit)
    if not dept.is_credit_office:
        q = q.where(Objection.provider_dept_id == dept.id,
                    Objection.state.in_((State.FORWARDED.value, State.ANSWERED.value, *[s.value for s in
                                                                                         rules.OUTCOMES])))
    if state:
        q = q.where(Objection.state == state)
    return list(session.scalars(q))


# ---------------------------------------------------------------- what a filer may name
