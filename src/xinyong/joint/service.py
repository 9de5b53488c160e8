"""Joint reward and punishment: dispatch of measures to implementing departments, feedback, notices.

Follows list entries through the listener registered with xinyong.lists.service: publication dispatches
one task per implementing department and measure (set-based insert), suspension suspends them, resumption
resumes them, exit and revocation lift them; each change writes webhook events to the outbox.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.core import audit
from xinyong.core.db import utcnow
from xinyong.core.errors import Forbidden, NotFound
from xinyong.core.jobs import register_daily
from xinyong.joint import bulk, rules, webhooks
from xinyong.joint.config import Measure, get_measures
from xinyong.joint.models import JointTask, JointTaskCheck, JointTaskEvent
from xinyong.joint.rules import TaskState
from xinyong.lists import service as lists
from xinyong.lists.config import get_list_types
from xinyong.lists.models import ListEntry
from xinyong.lists.rules import State
from xinyong.subjects.models import Subject

log = logging.getLogger("xinyong.joint")


def _dept_ids(session: Session, codes: set[str]) -> dict[str, int]:
    if not codes:
        return {}
    return {c: i for c, i in session.execute(select(Department.code, Department.id).where(Department.code.in_(codes)))}


def _subject_brief(session: Session, subject_id: int) -> dict[str, Any]:
    subject = session.get(Subject, subject_id)
    if subject is None:
        return {"id": subject_id}
    return {"id": subject.id, "name": subject.name if subject.kind != "natural_person" else None,
            "uscc": subject.uscc, "id_masked": subject.id_masked}


def _event_data(entry: ListEntry, task_id: int, measure: Measure | None, code: str, subject: dict[str, Any],
                **extra: Any) -> dict[str, Any]:
    return {"task_id": task_id, "entry_id": entry.id, "list_type": entry.list_type, "decision_no": entry.decision_no,
            "term_end": entry.term_end, "measure": {"code": code, "name": measure.name if measure else code,
                                                    "type": measure.type if measure else None},
            "subject": subject, **extra}


# ---------------------------------------------------------------- dispatch and notices

def dispatch(session: Session, entry: ListEntry, today: date, *, actor: str = "system") -> int:
    """One task per implementing department and measure of the entry's list type; one INSERT for all."""
    measures = get_measures().for_list_type(entry.list_type)
    depts = _dept_ids(session, {code for m in measures for code in m.implementers})
    due = rules.due_date(today)
    now = utcnow()
    wanted: list[tuple[str, str, int]] = [(m.code, str(m.type), depts[code]) for m in measures for code in m.implementers if code in depts]
    missing = sorted({code for m in measures for code in m.implementers} - set(depts))
    if missing:
        log.warning("entry %s: implementing departments not registered: %s", entry.id, ", ".join(missing))
    created = bulk.insert_tasks(session, entry_id=entry.id, subject_id=entry.subject_id, tasks=wanted, today=today,
                                due=due, now=now)
    if not created:
        return 0
    hooked = webhooks.receivers(session, {d for _, d, _ in created})
    if hooked:
        subject = _subject_brief(session, entry.subject_id)
        by_code = get_measures().items
        webhooks.enqueue(session, [
            (dept_id, "task.created", _event_data(entry, task_id, by_code.get(code), code, subject, due_date=due))
            for task_id, dept_id, code in created if dept_id in hooked])
    audit.record(session, actor=actor, action="joint.dispatch", entity="list_entry", entity_id=entry.id,
                 after={"tasks": len(created), "due_date": due, "missing_departments": missing})
    return len(created)


def _bulk_change(session: Session, entry: ListEntry, *, from_states: set[TaskState], kind: str, reason: str,
                 today: date, actor: str) -> int:
    tasks = session.execute(select(JointTask.id, JointTask.dept_id, JointTask.measure_code, JointTask.state,
                                   JointTask.prev_state)
                            .where(JointTask.entry_id == entry.id,
                                   JointTask.state.in_([s.value for s in from_states]))).all()
    if not tasks:
        return 0
    ids = [t.id for t in tasks]
    base = update(JointTask).where(JointTask.id.in_(ids))
    if kind == "measure.suspended":
        session.execute(base.values(prev_state=JointTask.state, state=TaskState.SUSPENDED.value),
                        execution_options={"synchronize_session": False})
        moves = [(t, TaskState.SUSPENDED.value) for t in tasks]
    elif kind == "measure.resumed":
        session.execute(base.values(state=func.coalesce(JointTask.prev_state, TaskState.OPEN.value), prev_state=None),
                        execution_options={"synchronize_session": False})
        moves = [(t, t.prev_state or TaskState.OPEN.value) for t in tasks]
    else:
        session.execute(base.values(state=TaskState.LIFTED.value, prev_state=None, lifted_on=today),
                        execution_options={"synchronize_session": False})
        moves = [(t, TaskState.LIFTED.value) for t in tasks]
    for obj in list(session.identity_map.values()):
        if isinstance(obj, JointTask) and obj.id in ids:
            session.expire(obj)
    session.execute(insert(JointTaskEvent), [
        {"task_id": t.id, "at": utcnow(), "actor": actor, "action": kind, "from_state": t.state, "to_state": to,
         "note": reason} for t, to in moves])
    hooked = webhooks.receivers(session, {t.dept_id for t in tasks})
    if hooked:
        subject = _subject_brief(session, entry.subject_id)
        by_code = get_measures().items
        webhooks.enqueue(session, [(t.dept_id, kind, _event_data(entry, t.id, by_code.get(t.measure_code),
                                                                 t.measure_code, subject, reason=reason))
                                   for t in tasks if t.dept_id in hooked])
    audit.record(session, actor=actor, action=f"joint.{kind}", entity="list_entry", entity_id=entry.id,
                 after={"tasks": len(tasks), "reason": reason})
    return len(tasks)


def on_transition(session: Session, entry: ListEntry, before: str, after: str, reason: str, today: date) -> None:
    if after == State.PUBLISHED and before == State.NOTIFIED:
        dispatch(session, entry, today)
    elif after == State.SUSPENDED:
        _bulk_change(session, entry, from_states=set(rules.RESUMABLE), kind="measure.suspended", reason=reason,
                     today=today, actor="system")
    elif after == State.PUBLISHED and before == State.SUSPENDED:
        _bulk_change(session, entry, from_states={TaskState.SUSPENDED}, kind="measure.resumed", reason=reason,
                     today=today, actor="system")
    elif after in (State.EXITED, State.REVOKED) and before in (State.PUBLISHED, State.SUSPENDED):
        _bulk_change(session, entry, from_states=set(TaskState) - {TaskState.LIFTED}, kind="measure.lifted",
                     reason=reason, today=today, actor="system")


lists.register_listener(on_transition)


# ---------------------------------------------------------------- tasks and feedback

def get_task(session: Session, task_id: int) -> JointTask:
    task = session.get(JointTask, task_id)
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在，请核对编号")
    return task


def tasks_for_dept(session: Session, dept_id: int, *, state: str | None = None, limit: int = 100,
                   offset: int = 0) -> list[JointTask]:
    q = select(JointTask).where(JointTask.dept_id == dept_id)
    if state:
        q = q.where(JointTask.state == state)
    return list(session.scalars(q.order_by(JointTask.due_date, JointTask.id).limit(limit).offset(offset)))


def give_feedback(session: Session, task_id: int, *, dept: Department, action: str, matter: str | None,
                  applied_at: date | None, note: str | None, today: date, actor: str | None = None) -> JointTask:
    task = get_task(session, task_id)
    if task.dept_id != dept.id:
        raise Forbidden("该任务不属于本部门，只有被推送的实施部门可以反馈", rule="feedback_own_task")
    new_state = rules.check_feedback(action, matter, applied_at, note, today)
    current = TaskState(task.state)
    rules.check_feedback_allowed(current)
    rules.check_task_transition(current, new_state)
    actor = actor or f"dept:{dept.code}"
    task.state, task.action = new_state.value, new_state.value
    task.matter = (matter or "").strip() or None
    task.applied_at, task.note = applied_at, (note or "").strip() or None
    task.feedback_at = utcnow()
    task.feedback_late = rules.is_late(today, task.due_date)
    session.add(JointTaskEvent(task_id=task.id, actor=actor, action="feedback", from_state=current.value,
                               to_state=new_state.value, note=task.note or task.matter))
    audit.record(session, actor=actor, action="joint.feedback", entity="joint_task", entity_id=task.id,
                 before={"state": current.value},
                 after={"state": new_state.value, "matter": task.matter, "applied_at": applied_at,
                        "late": task.feedback_late})
    session.flush()
    return task


def mark_overdue(session: Session, today: date) -> int:
    """Daily job: one set-based UPDATE over the (state, due_date) index."""
    result = session.execute(update(JointTask).where(JointTask.state == TaskState.OPEN.value,
                                                     JointTask.due_date < today)
                             .values(state=TaskState.OVERDUE.value), execution_options={"synchronize_session": False})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def task_out(session: Session, task: JointTask, *, entry: ListEntry | None = None,
             subject: Subject | None = None) -> dict[str, Any]:
    measure = get_measures().items.get(task.measure_code)
    entry = entry or session.get(ListEntry, task.entry_id)
    subject = subject or session.get(Subject, task.subject_id)
    lt = get_list_types().find(entry.list_type) if entry else None
    return {
        "id": task.id, "entry_id": task.entry_id, "state": task.state, "state_label": rules.TASK_LABELS[task.state],
        "measure_code": task.measure_code, "measure_name": measure.name if measure else task.measure_code,
        "measure_type": task.measure_type, "legal_basis": measure.basis_text() if measure else None,
        "list_type": entry.list_type if entry else None, "list_name": lt.name if lt else None,
        "subject_name": (subject.name if subject.kind != "natural_person" else subject.name[:1] + "**")
        if subject else None, "uscc": subject.uscc if subject else None,
        "decision_no": entry.decision_no if entry else None, "term_end": entry.term_end if entry else None,
        "dispatched_on": task.dispatched_on, "due_date": task.due_date, "created_via": task.created_via,
        "action": task.action, "matter": task.matter, "applied_at": task.applied_at, "note": task.note,
        "feedback_at": task.feedback_at, "feedback_late": task.feedback_late, "lifted_on": task.lifted_on,
    }


# ---------------------------------------------------------------- credit checks

def measures_for_check(session: Session, *, subject_id: int, dept: Department, check_id: int | str,
                       today: date) -> list[dict[str, Any]]:
    """Measures the calling department must apply to the subject; creates or links a task per measure."""
    entries = list(session.scalars(select(ListEntry).where(
        ListEntry.subject_id == subject_id, ListEntry.state.in_([State.PUBLISHED.value, State.SUSPENDED.value]),
        ListEntry.term_end >= today).order_by(ListEntry.id)))
    out: list[dict[str, Any]] = []
    for entry in entries:
        suspended = entry.state == State.SUSPENDED.value
        for m in get_measures().for_list_type(entry.list_type):
            if dept.code not in m.implementers:
                continue
            task = _task_for(session, entry, m, dept, today, create=not suspended)
            if task is not None:
                session.add(JointTaskCheck(task_id=task.id, check_id=str(check_id), dept_id=dept.id))
            out.append({"code": m.code, "name": m.name, "type": m.type, "type_label": m.type_label,
                        "legal_basis": m.basis_text(), "list_type": entry.list_type, "entry_id": entry.id,
                        "task_id": task.id if task else None,
                        "suspended": suspended or (task is not None and task.state == TaskState.SUSPENDED)})
    session.flush()
    return out


def _task_for(session: Session, entry: ListEntry, m: Measure, dept: Department, today: date, *,
              create: bool) -> JointTask | None:
    def existing() -> JointTask | None:
        return session.scalar(select(JointTask).where(JointTask.entry_id == entry.id,
                                                      JointTask.measure_code == m.code, JointTask.dept_id == dept.id))

    task = existing()
    if task is not None or not create:
        return task
    task = JointTask(entry_id=entry.id, subject_id=entry.subject_id, measure_code=m.code, measure_type=m.type,
                     dept_id=dept.id, state=TaskState.OPEN.value, dispatched_on=today,
                     due_date=rules.due_date(today), created_via="check", feedback_late=False)
    try:
        with session.begin_nested():  # another check may create the same task at the same moment
            session.add(task)
            session.flush()
    except IntegrityError:
        return existing()
    webhooks.enqueue(session, [(dept.id, "task.created", _event_data(
        entry, task.id, m, m.code, _subject_brief(session, entry.subject_id), due_date=task.due_date))])
    return task


register_daily("joint.overdue", mark_overdue)
