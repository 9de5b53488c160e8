"""List entries: propose, notify, publish, suspend, resume, exit, revoke — each checked by rules.py,
recorded as an entry event and an audit event.

Joint reward and punishment (a domain below this one) follows the entries through listeners: lists never
imports joint; joint registers `on_transition` at import, and the first transition imports it if needed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from importlib import import_module
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor
from xinyong.access.policy import may_read_list_entry
from xinyong.accounts.models import Department
from xinyong.core import audit
from xinyong.core.errors import Forbidden, NotFound, Refused, RuleViolation
from xinyong.core.identifiers import check_citizen_id, check_uscc
from xinyong.core.jobs import register_daily
from xinyong.lists import rules
from xinyong.lists.config import ListType, get_list_types
from xinyong.lists.models import ListEntry, ListEntryEvent, ListEntryPerson
from xinyong.lists.rules import State
from xinyong.lists.schemas import ListEntryIn
from xinyong.records.models import Record
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

# (session, entry, from_state, to_state, reason, today)
Listener = Callable[[Session, ListEntry, str, str, str, date], None]
_listeners: list[Listener] = []
_joint_loaded = False


def register_listener(fn: Listener) -> None:
    if fn not in _listeners:
        _listeners.append(fn)


def _emit(session: Session, entry: ListEntry, before: str, after: str, reason: str, today: date) -> None:
    global _joint_loaded
    if not _joint_loaded:
        _joint_loaded = True
        import_module("xinyong.joint.service")  # registers its listener
    for fn in list(_listeners):
        fn(session, entry, before, after, reason, today)


# ---------------------------------------------------------------- look-ups

def get_entry(session: Session, entry_id: int, *, viewer: Actor | None = None) -> ListEntry:
    """The entry; with a viewer, only one it may read (access.policy): another department's entry that is not
    yet published answers like a missing one, so its existence is not disclosed either."""
    entry = session.get(ListEntry, entry_id)
    if entry is None or (viewer is not None and not may_read_list_entry(
            viewer, initiator_dept_id=entry.initiator_dept_id, state=entry.state)):
        raise NotFound(f"名单信息 {entry_id} 不存在，请核对编号")
    return entry


def find_subject(session: Session, ident: str, name: str | None = None) -> Subject:
    """A subject by USCC or citizen ID; registered on the fly when a name is given."""
    ident = ident.strip().upper()
    if len(ident) == 18 and check_uscc(ident).ok:
        found = subjects.find_by_uscc(session, ident)
        if found is None and name:
            found = subjects.upsert_organisation(session, uscc=ident, name=name)
    elif check_citizen_id(ident).ok:
        found = subjects.find_by_citizen_id(session, ident)
        if found is None and name:
            found = subjects.upsert_person(session, ident, name)
    else:
        raise Refused("subject 应为有效的统一社会信用代码或公民身份号码，请核对校验位")
    if found is None:
        raise NotFound("平台中尚无该主体：请同时提供 subject_name（主体名称或姓名）以便登记")
    return found


def _find_record(session: Session, subject_id: int, decision_no: str, record_id: int | None) -> int | None:
    if record_id is not None:
        rec = session.get(Record, record_id)
        if rec is None or rec.subject_id != subject_id:
            raise Refused(f"信用记录 {record_id} 不存在或不属于该主体，请核对 record_id")
        return rec.id
    return session.scalar(select(Record.id).where(Record.subject_id == subject_id, Record.decision_no == decision_no,
                                                  Record.state != "superseded").order_by(Record.id.desc()).limit(1))


def _check_dept_may_act(entry: ListEntry, dept: Department) -> None:
    if entry.initiator_dept_id != dept.id and not dept.is_credit_office:
        raise Forbidden("只有提出列入的部门（或信用办）可以办理该名单信息", rule="initiator_only")


# ---------------------------------------------------------------- transitions

def _transition(session: Session, entry: ListEntry, to: State, *, actor: str, reason: str, today: date) -> ListEntry:
    before = State(entry.state)
    rules.check_transition(rules.EntryFacts(before, entry.notified_at, entry.notify_channel), to, today)
    entry.state = to.value
    if to == State.PUBLISHED and entry.published_on is None:
        entry.published_on = today
    if to in (State.EXITED, State.REVOKED):
        entry.exited_on = entry.exited_on or today
        entry.exit_reason = reason
    session.add(ListEntryEvent(entry_id=entry.id, actor=actor, action=to.value, from_state=before.value,
                               to_state=to.value, note=reason or None))
    audit.record(session, actor=actor, action=f"list_entry.{to.value}", entity="list_entry", entity_id=entry.id,
                 before={"state": before.value}, after={"state": to.value, "reason": reason})
    session.flush()
    _emit(session, entry, before.value, to.value, reason, today)
    return entry


def propose(session: Session, data: ListEntryIn, *, dept: Department, today: date, actor: str | None = None,
            source: str = "request", batch_id: int | None = None) -> ListEntry:
    actor = actor or f"dept:{dept.code}"
    lt = get_list_types().get(data.list_type)
    rules.check_initiator(dept.code, lt.initiators, lt.name)
    rules.check_persons_allowed(lt.responsible_persons, len(data.persons), lt.name)
    if data.decision_date > today:
        raise RuleViolation(f"认定日期 {data.decision_date} 晚于今天，请核对", rule="decision_date")
    term_end = data.term_end or rules.default_term_end(data.decision_date, lt.term.default_months)
    rules.check_term(data.decision_date, term_end, lt.term.max_months, lt.name)
    subject = find_subject(session, data.subject, data.subject_name)
    if subject.kind == "natural_person" and data.persons:
        raise Refused("自然人主体不关联责任人员，请去掉 persons")
    dup = session.scalar(select(ListEntry.id).where(
        ListEntry.list_type == lt.code, ListEntry.decision_no == data.decision_no.strip(),
        ListEntry.subject_id == subject.id, ListEntry.state != State.REVOKED.value))
    if dup is not None:
        raise RuleViolation(f"该主体已按决定书 {data.decision_no} 列入“{lt.name}”（名单信息 {dup}），请勿重复提出",
                            rule="duplicate_entry")
    entry = ListEntry(list_type=lt.code, kind=lt.kind, subject_id=subject.id, initiator_dept_id=dept.id,
                      record_id=_find_record(session, subject.id, data.decision_no.strip(), data.record_id),
                      decision_no=data.decision_no.strip(), decision_date=data.decision_date, facts=data.facts.strip(),
                      basis=data.basis.strip(), term_end=term_end, state=State.PROPOSED.value, source=source,
                      batch_id=batch_id)
    session.add(entry)
    session.flush()
    for p in data.persons:
        person = subjects.upsert_person(session, p.citizen_id, p.name)
        session.add(ListEntryPerson(entry_id=entry.id, subject_id=person.id, role=p.role))
    session.add(ListEntryEvent(entry_id=entry.id, actor=actor, action="propose", from_state=None,
                               to_state=State.PROPOSED.value, note=None))
    audit.record(session, actor=actor, action="list_entry.propose", entity="list_entry", entity_id=entry.id,
                 after={"list_type": lt.code, "subject_id": subject.id, "decision_no": entry.decision_no,
                        "term_end": term_end, "persons": len(data.persons)})
    session.flush()
    return entry


def notify(session: Session, entry_id: int, *, dept: Department, notified_at: date, channel: str,
           today: date) -> ListEntry:
    entry = get_entry(session, entry_id)
    _check_dept_may_act(entry, dept)
    rules.check_notice(notified_at, channel, today)
    rules.check_transition(rules.EntryFacts(State(entry.state)), State.NOTIFIED, today)
    entry.notified_at, entry.notify_channel = notified_at, channel.strip()
    return _transition(session, entry, State.NOTIFIED, actor=f"dept:{dept.code}",
                       reason=f"{notified_at} 以{channel.strip()}方式告知当事人", today=today)


def publish(session: Session, entry_id: int, *, dept: Department, today: date) -> ListEntry:
    entry = get_entry(session, entry_id)
    _check_dept_may_act(entry, dept)
    if entry.term_end < today:
        raise RuleViolation(f"期限已于 {entry.term_end} 届满，不能公示", rule="term_over")
    return _transition(session, entry, State.PUBLISHED, actor=f"dept:{dept.code}", reason="公示", today=today)


def exit_by_dept(session: Session, entry_id: int, *, dept: Department, reason: str, today: date) -> ListEntry:
    entry = get_entry(session, entry_id)
    _check_dept_may_act(entry, dept)
    return _transition(session, entry, State.EXITED, actor=f"dept:{dept.code}", reason=reason, today=today)


def notify_and_publish(session: Session, entry: ListEntry, *, notified_at: date, channel: str, actor: str,
                       today: date) -> ListEntry:
    """Imports: the notice was served before the file was sent; record it, then publish."""
    rules.check_notice(notified_at, channel, today)
    entry.notified_at, entry.notify_channel = notified_at, channel.strip()
    _transition(session, entry, State.NOTIFIED, actor=actor, reason=f"{notified_at} 以{channel.strip()}方式告知",
                today=today)
    return _transition(session, entry, State.PUBLISHED, actor=actor, reason="公示", today=today)


def suspend_entry(session: Session, entry_id: int, *, actor: str, reason: str, today: date | None = None) -> ListEntry:
    return _transition(session, get_entry(session, entry_id), State.SUSPENDED, actor=actor, reason=reason,
                       today=today or date.today())


def resume_entry(session: Session, entry_id: int, *, actor: str, reason: str, today: date | None = None) -> ListEntry:
    entry = get_entry(session, entry_id)
    if entry.state != State.SUSPENDED:
        raise RuleViolation(f"名单信息当前状态为“{rules.STATE_LABELS[entry.state]}”，不是暂停状态，无需恢复",
                            rule="entry_transition")
    return _transition(session, entry, State.PUBLISHED, actor=actor, reason=reason, today=today or date.today())


def exit_entry(session: Session, entry_id: int, *, actor: str, reason: str, today: date | None = None) -> ListEntry:
    return _transition(session, get_entry(session, entry_id), State.EXITED, actor=actor, reason=reason,
                       today=today or date.today())


def revoke_entry(session: Session, entry_id: int, *, actor: str, reason: str, today: date | None = None) -> ListEntry:
    return _transition(session, get_entry(session, entry_id), State.REVOKED, actor=actor, reason=reason,
                       today=today or date.today())


def _entries_of_record(session: Session, record_id: int, states: tuple[str, ...]) -> list[ListEntry]:
    return list(session.scalars(select(ListEntry).where(ListEntry.record_id == record_id, ListEntry.state.in_(states))
                                .order_by(ListEntry.id)))


def suspend_entries_for_record(session: Session, record_id: int, *, actor: str, reason: str) -> int:
    """An objection on the record was accepted: its published entries are suspended with their measures."""
    entries = _entries_of_record(session, record_id, (State.PUBLISHED.value,))
    for entry in entries:
        _transition(session, entry, State.SUSPENDED, actor=actor, reason=reason, today=date.today())
    return len(entries)


def resume_entries_for_record(session: Session, record_id: int, *, actor: str, reason: str) -> int:
    """The objection was not upheld: suspended entries are published again, measures resume."""
    entries = _entries_of_record(session, record_id, (State.SUSPENDED.value,))
    for entry in entries:
        _transition(session, entry, State.PUBLISHED, actor=actor, reason=reason, today=date.today())
    return len(entries)


def exit_entries_for_record(session: Session, record_id: int, *, actor: str, reason: str) -> int:
    """Repair approved or record revoked: entries leave the list (revoked when the record was revoked)."""
    record = session.get(Record, record_id)
    revoked = record is not None and record.state == "revoked"
    count = 0
    for entry in _entries_of_record(session, record_id, tuple(s.value for s in State if s != State.REVOKED)):
        target = rules.outcome_for_record(State(entry.state), revoked)
        if target is not None:
            _transition(session, entry, target, actor=actor, reason=reason, today=date.today())
            count += 1
    return count


def expire_entries(session: Session, today: date) -> int:
    """Daily job: entries whose term ended leave the list (and their measures are lifted)."""
    due = list(session.scalars(select(ListEntry).where(
        ListEntry.state.in_([s.value for s in rules.ACTIVE]), ListEntry.term_end < today).order_by(ListEntry.id)))
    for entry in due:
        _transition(session, entry, State.EXITED, actor="system", reason=f"期限于 {entry.term_end} 届满，自动移出",
                    today=today)
    return len(due)


# ---------------------------------------------------------------- reading

def entries_for_subject(session: Session, subject_id: int, *, audience: str, today: date) -> list[dict[str, Any]]:
    """public: published entries of public list types in term; department: published and suspended, all types."""
    types = get_list_types()
    states = (State.PUBLISHED.value,) if audience == "public" else (State.PUBLISHED.value, State.SUSPENDED.value)
    rows = session.execute(
        select(ListEntry, Department.name).join(Department, Department.id == ListEntry.initiator_dept_id)
        .where(ListEntry.subject_id == subject_id, ListEntry.state.in_(states))
        .order_by(ListEntry.decision_date.desc(), ListEntry.id.desc())).all()
    out = []
    for entry, dept_name in rows:
        lt = types.find(entry.list_type)
        if lt is None:
            continue
        if audience == "public" and not rules.publicly_listed(entry.state, lt.public, entry.term_end, today):
            continue
        out.append({
            "id": entry.id, "list_type": entry.list_type, "list_name": lt.name, "kind": lt.kind,
            "state": entry.state, "state_label": rules.STATE_LABELS[entry.state], "decision_no": entry.decision_no,
            "decision_date": entry.decision_date, "basis": entry.basis, "term_end": entry.term_end,
            "initiator": dept_name, "suspended": entry.state == State.SUSPENDED.value,
        })
    return out


def public_entries(session: Session, *, today: date, list_type: str | None = None, kind: str | None = None,
                   page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    types = get_list_types()
    public_codes = [t.code for t in types.list() if t.public and (kind is None or t.kind == kind)]
    if list_type is not None:
        public_codes = [c for c in public_codes if c == list_type]
    base = (select(ListEntry, Subject, Department.name)
            .join(Subject, Subject.id == ListEntry.subject_id)
            .join(Department, Department.id == ListEntry.initiator_dept_id)
            .where(ListEntry.state == State.PUBLISHED.value, ListEntry.list_type.in_(public_codes),
                   ListEntry.term_end >= today))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(ListEntry.published_on.desc(), ListEntry.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    out = []
    for entry, subject, dept_name in rows:
        lt = types.get(entry.list_type)
        out.append({"id": entry.id, "list_name": lt.name, "kind": lt.kind, "subject_name": subjects.display_name(subject),
                    "uscc": subject.uscc, "id_masked": subject.id_masked, "decision_no": entry.decision_no,
                    "decision_date": entry.decision_date, "basis": entry.basis, "term_end": entry.term_end,
                    "published_on": entry.published_on, "initiator": dept_name})
    return out, total


def history(session: Session, entry_id: int) -> list[ListEntryEvent]:
    return list(session.scalars(select(ListEntryEvent).where(ListEntryEvent.entry_id == entry_id)
                                .order_by(ListEntryEvent.id)))


def entry_out(session: Session, entry: ListEntry) -> dict[str, Any]:
    lt: ListType | None = get_list_types().find(entry.list_type)
    subject = session.get(Subject, entry.subject_id)
    dept = session.get(Department, entry.initiator_dept_id)
    persons = session.execute(select(ListEntryPerson.role, Subject).join(Subject, Subject.id == ListEntryPerson.subject_id)
                              .where(ListEntryPerson.entry_id == entry.id).order_by(ListEntryPerson.id)).all()
    return {
        "id": entry.id, "list_type": entry.list_type, "list_name": lt.name if lt else entry.list_type,
        "kind": entry.kind, "state": entry.state, "state_label": rules.STATE_LABELS[entry.state],
        "subject_id": entry.subject_id, "subject_name": subjects.display_name(subject) if subject else "",
        "uscc": subject.uscc if subject else None, "decision_no": entry.decision_no,
        "decision_date": entry.decision_date, "facts": entry.facts, "basis": entry.basis, "term_end": entry.term_end,
        "initiator": dept.name if dept else "", "record_id": entry.record_id, "notified_at": entry.notified_at,
        "notify_channel": entry.notify_channel, "published_on": entry.published_on, "exited_on": entry.exited_on,
        "exit_reason": entry.exit_reason,
        "persons": [{"role": role, "name": subjects.display_name(p), "id_masked": p.id_masked} for role, p in persons],
        "history": [{"at": e.at, "actor": e.actor, "action": e.action, "from_state": e.from_state,
                     "to_state": e.to_state, "note": e.note} for e in history(session, entry.id)],
    }


register_daily("lists.expire", expire_entries)
