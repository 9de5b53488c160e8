"""The exchange's logic: leases, delivering a target's due events through its adapter, feedback, replay,
rejected rows for their department, and the figures of /admin/exchange. Functions take a Session and never
commit, except the lease functions and `deliver_target`, which own their short transactions on purpose:
a lease must be visible to other workers at once, and each delivered batch is committed as it is answered."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xinyong.core import audit
from xinyong.core.db import utcnow
from xinyong.core.errors import NotFound, Refused
from xinyong.exchange import outbox, rules
from xinyong.exchange.adapters import Adapter, Outcomes, WireEvent, adapter_for
from xinyong.exchange.config import Target, get_targets
from xinyong.exchange.models import OutboxEvent, WorkerLease

log = logging.getLogger("xinyong.exchange")


# ---------------------------------------------------------------- leases

def claim(session: Session, name: str, owner: str, seconds: float, *, now: datetime | None = None) -> bool:
    """Take (or renew) the lease `name` for `seconds`, committed at once; False if another owner holds it."""
    now = now or utcnow()
    if session.get(WorkerLease, name) is None:
        try:
            with session.begin_nested():
                session.execute(insert(WorkerLease).values(name=name))
        except IntegrityError:
            pass
    result = session.execute(
        update(WorkerLease)
        .where(WorkerLease.name == name,
               or_(WorkerLease.lease_until.is_(None), WorkerLease.lease_until < now, WorkerLease.owner == owner))
        .values(owner=owner, lease_until=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False))
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def hold_until(session: Session, name: str, owner: str, until: datetime) -> None:
    """Keep a lease one holds until `until` (the next run of a periodic job), recording the run."""
    session.execute(update(WorkerLease).where(WorkerLease.name == name, WorkerLease.owner == owner)
                    .values(lease_until=until, last_run=utcnow()).execution_options(synchronize_session=False))
    session.commit()


def release(session: Session, name: str, owner: str, *, note: str | None = None, success: bool = False) -> None:
    values: dict[str, Any] = {"lease_until": None, "last_run": utcnow()}
    if success:
        values["last_success"] = utcnow()
    values["note"] = note
    session.execute(update(WorkerLease).where(WorkerLease.name == name, WorkerLease.owner == owner).values(**values)
                    .execution_options(synchronize_session=False))
    session.commit()


def claim_daily(session: Session, owner: str, today: date) -> bool:
    """Once per calendar day across all workers: True for the one worker that marks today first."""
    name = "daily"
    if session.get(WorkerLease, name) is None:
        try:
            with session.begin_nested():
                session.execute(insert(WorkerLease).values(name=name))
        except IntegrityError:
            pass
    mark = today.isoformat()
    result = session.execute(update(WorkerLease).where(WorkerLease.name == name,
                                                       or_(WorkerLease.note.is_(None), WorkerLease.note < mark))
                             .values(owner=owner, note=mark, last_run=utcnow())
                             .execution_options(synchronize_session=False))
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


# ---------------------------------------------------------------- delivery

@dataclass
class DeliveryReport:
    target: str
    delivered: int = 0
    rejected: int = 0
    failed: int = 0
    dead: int = 0
    batches: int = 0
    problems: list[str] = field(default_factory=list)


_DUE_COLUMNS = (OutboxEvent.id, OutboxEvent.key, OutboxEvent.event_type, OutboxEvent.record_key,
                OutboxEvent.next_attempt_at, OutboxEvent.attempts, OutboxEvent.created_at, OutboxEvent.payload)


def due_events(session: Session, target: str, limit: int, now: datetime, *, after_id: int = 0,
               blocked: set[str] | None = None) -> list[Any]:
    """The next events to send (one read of the next `limit` queued rows), in id order, keeping the order per
    record: an event waits while an earlier queued event of the same record waits for its retry.
    `after_id` and `blocked` continue a previous call (the next batch, chosen while one is in flight)."""
    rows = session.execute(select(*_DUE_COLUMNS).where(OutboxEvent.target == target, OutboxEvent.state == "queued",
                                                       OutboxEvent.id > after_id)
                           .order_by(OutboxEvent.id).limit(limit)).all()
    if blocked is None:
        blocked = set()
    out: list[Any] = []
    for row in rows:
        if row.record_key is not None and row.record_key in blocked:
            continue
        if row.next_attempt_at > now:
            if row.record_key is not None:
                blocked.add(row.record_key)
            continue
        out.append(row)
    if not out and rows and len(rows) == limit:  # a whole window held back: look further
        return due_events(session, target, limit, now, after_id=rows[-1].id, blocked=blocked)
    return out


def wire(row: Any) -> WireEvent:
    return WireEvent(row.id, row.key, row.event_type, row.record_key, row.payload)


def _apply(session: Session, events: list[Any], outcomes: Outcomes, now: datetime) -> tuple[int, int]:
    """Record the receiver's answer: one UPDATE for the accepted, one per rejected row (with its reason)."""
    rejected = [(ev, outcomes[ev.key][1]) for ev in events if outcomes.get(ev.key, ("accepted", ""))[0] == "rejected"]
    refused = {ev.id for ev, _ in rejected}
    accepted = [ev.id for ev in events if ev.id not in refused]
    for i in range(0, len(accepted), 1000):
        session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(accepted[i:i + 1000]))
                        .values(state="delivered", sent_at=now, attempts=OutboxEvent.attempts + 1, last_error=None,
                                lease_until=None, lease_owner=None)
                        .execution_options(synchronize_session=False))
    if rejected:
        session.execute(update(OutboxEvent), [
            {"id": ev.id, "state": "rejected", "feedback": reason or "接收方退回，未说明原因", "sent_at": now,
             "attempts": ev.attempts + 1, "last_error": None} for ev, reason in rejected])
    return len(accepted), len(rejected)


def _fail(session: Session, events: list[Any], target: Target, error: str, now: datetime) -> int:
    rows = []
    dead = 0
    for ev in events:
        attempts = ev.attempts + 1
        row: dict[str, Any] = {"id": ev.id, "attempts": attempts, "last_error": error[:1000]}
        if rules.gives_up(ev.created_at, now, target.dead_after_hours):
            row["state"] = "dead"
            dead += 1
        else:
            row["next_attempt_at"] = now + rules.retry_delay(attempts, target.backoff_seconds,
                                                              target.backoff_max_seconds)
        rows.append(row)
    dead_rows = [r for r in rows if "state" in r]
    retry_rows = [r for r in rows if "state" not in r]
    if dead_rows:
        session.execute(update(OutboxEvent), dead_rows)
    if retry_rows:
        session.execute(update(OutboxEvent), retry_rows)
    return dead


def apply_feedback(session: Session, target: str, outcomes: Outcomes) -> tuple[int, list[str]]:
    """Later answers (feedback files, the 前置库 feedback table): returns how many events changed, and the keys
    nobody sent (reported, never a crash)."""
    changed = 0
    unknown: list[str] = []
    keys = list(outcomes)
    found: dict[str, OutboxEvent] = {}
    for i in range(0, len(keys), 500):
        for ev in session.scalars(select(OutboxEvent).where(OutboxEvent.target == target,
                                                            OutboxEvent.key.in_(keys[i:i + 500]))):
            found[ev.key] = ev
    for key, (status, reason) in outcomes.items():
        hit = found.get(key)
        if hit is None:
            unknown.append(key)
            continue
        ev = hit
        if status == "rejected" and ev.state in ("delivered", "queued"):
            ev.state, ev.feedback, ev.sent_at = "rejected", reason or "接收方退回，未说明原因", ev.sent_at or utcnow()
            changed += 1
        elif status == "accepted" and ev.state == "queued":
            ev.state, ev.sent_at = "delivered", utcnow()
            changed += 1
    return changed, unknown


def deliver_target(session: Session, target: Target, *, owner: str, adapter: Adapter | None = None,
                   budget_seconds: float = 55.0, max_batches: int | None = None,
                   now_fn: Callable[[], datetime] = utcnow) -> DeliveryReport:
    """Deliver the target's due events in batches until none is due or the time budget is spent, holding the
    target's lease (one worker per target at a time, which also keeps the order per record). Every batch is
    committed after the receiver's answer: a crash before that resends the batch (same keys, same name)."""
    report = DeliveryReport(target.code)
    lease = f"deliver:{target.code}"
    if not claim(session, lease, owner, target.lease_seconds):
        return report
    own_adapter = adapter is None
    adapter = adapter or adapter_for(target)
    started = now_fn()
    note: str | None = None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"exchange-{target.code}")
    try:
        outcomes, problems = adapter.collect_feedback()
        if outcomes:
            _, unknown = apply_feedback(session, target.code, outcomes)
            if unknown:
                problems.append(f"回执中有 {len(unknown)} 个未知事件键（如 {unknown[0]}），已忽略")
        report.problems += problems
        session.commit()
        blocked: set[str] = set()
        events = due_events(session, target.code, target.batch_size, now_fn(), blocked=blocked)
        while events:
            if (now_fn() - started).total_seconds() > budget_seconds:
                break
            if max_batches is not None and report.batches >= max_batches:
                break
            if not claim(session, lease, owner, target.lease_seconds):  # renew; lost it: stop at once
                report.problems.append("租约已被其他进程接管")
                break
            batch_id = rules.batch_name(target.code, events[0].id, events[-1].id,
                                        rules.sha256_hex("\n".join(e.key for e in events).encode())[:8])
            # The batch goes on the wire in a thread; the next one is chosen meanwhile (after this one's ids,
            # with the records this one had to hold back), and sent only once this one is answered.
            flight = pool.submit(adapter.deliver, batch_id, [wire(e) for e in events])
            upcoming = (due_events(session, target.code, target.batch_size, now_fn(), after_id=events[-1].id,
                                   blocked=blocked)
                        if max_batches is None or report.batches + 1 < max_batches else [])
            try:
                answer = flight.result()
            except outbox.DeliveryFailed as exc:
                report.failed += len(events)
                report.dead += _fail(session, events, target, str(exc), now_fn())
                note = str(exc)
                session.commit()
                log.warning("exchange target %s: %s", target.code, exc)
                break
            delivered, rejected = _apply(session, events, answer, now_fn())
            report.delivered += delivered
            report.rejected += rejected
            report.batches += 1
            session.commit()
            events = upcoming
    except Exception as exc:  # never a crash of the worker: the state is shown, events stay queued
        session.rollback()
        note = f"投递出错：{type(exc).__name__}：{exc}"[:1000]
        log.exception("exchange target %s failed", target.code)
    finally:
        pool.shutdown(wait=True)
        if own_adapter:
            adapter.close()
    if report.problems and note is None:
        note = "；".join(report.problems)[:1000]
    release(session, lease, owner, note=note, success=note is None)
    return report


# ---------------------------------------------------------------- operators and departments

def replay(session: Session, target: str, *, actor: str, event_ids: list[int] | None = None,
           states: tuple[str, ...] = ("dead",)) -> int:
    """Queue dead letters (or the given events) again with a fresh dead-letter clock; the key is unchanged, so
    a receiver that has one already keeps one."""
    if target not in get_targets() and outbox.deliverer_for(target) is None:
        raise NotFound(f"交换目标 {target} 不存在，请在 config/exchange/ 中核对目标代码")
    query = select(OutboxEvent).where(OutboxEvent.target == target, OutboxEvent.state.in_(states))
    if event_ids is not None:
        query = query.where(OutboxEvent.id.in_(event_ids))
    now = utcnow()
    count = 0
    for ev in session.scalars(query):
        ev.state, ev.created_at, ev.next_attempt_at, ev.last_error = "queued", now, now, None
        ev.lease_until = ev.lease_owner = None
        count += 1
    audit.record(session, actor=actor, action="exchange.replay", entity="exchange_target",
                 after={"target": target, "events": count, "states": list(states)})
    return count


def rejected_for_dept(session: Session, dept_id: int, *, limit: int = 200) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.dept_id == dept_id,
                                                          OutboxEvent.state == "rejected")
                                .order_by(OutboxEvent.id.desc()).limit(limit)))


def rejected_all(session: Session, *, limit: int = 200) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.state == "rejected")
                                .order_by(OutboxEvent.id.desc()).limit(limit)))


def resend(session: Session, event_id: int, *, dept_id: int | None, actor: str) -> OutboxEvent:
    """A department (or the office, dept_id None) sends a rejected event again after fixing what the upstream
    named. The record itself is fixed through the normal correction path; this sends it once more."""
    ev = session.get(OutboxEvent, event_id)
    if ev is None or (dept_id is not None and ev.dept_id != dept_id):
        raise NotFound(f"交换事件 {event_id} 不存在或不属于本部门")
    if ev.state != "rejected":
        raise Refused(f"交换事件 {event_id} 当前状态为“{rules.STATE_LABELS.get(ev.state, ev.state)}”，只有被退回的事件可以重新报送")
    now = utcnow()
    ev.state, ev.next_attempt_at, ev.created_at, ev.sent_at = "queued", now, now, None
    audit.record(session, actor=actor, action="exchange.resend", entity="exchange_event", entity_id=ev.id,
                 after={"target": ev.target, "key": ev.key, "feedback": ev.feedback})
    return ev


def target_status(session: Session, *, today: date) -> list[dict[str, Any]]:
    """Per target: counts by state, last success, the oldest undelivered event, late pushes, last problem."""
    counts: dict[str, dict[str, int]] = {}
    for target, state, n in session.execute(select(OutboxEvent.target, OutboxEvent.state, func.count())
                                            .group_by(OutboxEvent.target, OutboxEvent.state)):
        counts.setdefault(target, {})[state] = n
    late_rows = session.execute(
        select(OutboxEvent.target, func.count())
        .where(OutboxEvent.deadline.is_not(None),
               or_(and_(OutboxEvent.state == "queued", OutboxEvent.deadline < today),
                   and_(OutboxEvent.sent_at.is_not(None),
                        func.date(OutboxEvent.sent_at) > OutboxEvent.deadline)))
        .group_by(OutboxEvent.target)).all()
    late = {t: n for t, n in late_rows}
    oldest = {t: at for t, at in session.execute(
        select(OutboxEvent.target, func.min(OutboxEvent.created_at)).where(OutboxEvent.state == "queued")
        .group_by(OutboxEvent.target))}
    leases = {lease.name.split(":", 1)[1]: lease for lease in session.scalars(
        select(WorkerLease).where(WorkerLease.name.like("deliver:%")))}
    configured = get_targets()
    names = sorted(set(configured) | set(counts))
    out = []
    for code in names:
        t = configured.get(code)
        c = counts.get(code, {})
        lease = leases.get(code)
        out.append({
            "code": code, "name": t.name if t else code, "adapter": t.adapter if t else "（其他模块）",
            "enabled": t.enabled if t else True,
            **{s: c.get(s, 0) for s in rules.STATES},
            "late": late.get(code, 0),
            "oldest_undelivered": oldest.get(code),
            "last_success": lease.last_success if lease else None,
            "last_problem": lease.note if lease else None,
        })
    return out


def events_page(session: Session, target: str, state: str, *, limit: int = 50) -> list[OutboxEvent]:
    if state not in rules.STATES:
        raise Refused(f"状态 {state} 无法识别，请选择：{'、'.join(rules.STATES)}")
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.target == target, OutboxEvent.state == state)
                                .order_by(OutboxEvent.id.desc()).limit(limit)))


def late_pushes(session: Session) -> int:
    """Events delivered after their push deadline (双公示: 7 working days after the decision)."""
    return int(session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.deadline.is_not(None), OutboxEvent.sent_at.is_not(None),
        func.date(OutboxEvent.sent_at) > OutboxEvent.deadline)) or 0)


