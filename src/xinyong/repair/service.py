"""Credit repair: eligibility, applications to the department that made the finding, approval (publication
ends, list entries exit, measures are lifted, sync to upper platforms queued) or refusal with reasons; and the
daily end of publication at the maximum period."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import String, and_, column, delete, insert, literal, select, table, text, update
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor
from xinyong.access.filing import filing_for
from xinyong.accounts.models import Department
from xinyong.cases import attachments, casework
from xinyong.cases.casework import subject_matches
from xinyong.cases.config import get_config
from xinyong.catalog.rules import split_penalty_types
from xinyong.catalog.service import get_catalog
from xinyong.commitments import service as commitments
from xinyong.commitments.models import Commitment
from xinyong.core import audit, crypto
from xinyong.core.db import UtcDateTime, utcnow
from xinyong.core.errors import NotFound, Refused, RuleViolation
from xinyong.core.jobs import register_daily
from xinyong.lists import service as lists
from xinyong.records import service as records
from xinyong.records.models import Record, RecordDue, RecordEvent
from xinyong.repair import rules
from xinyong.repair.models import RepairApplication
from xinyong.repair.rules import Role, State
from xinyong.subjects.models import Subject

CASE = "repair"
ACTION_LABELS = {"submitted": "提交信用修复申请", "approved": "准予信用修复：停止公示，移出名单，解除惩戒措施",
                 "refused": "不予信用修复", "withdrawn": "申请人撤回", "overdue": "认定部门逾期未决定，已提示信用办"}


def policy() -> rules.Policy:
    cfg = get_config().repair
    return rules.Policy(
        repairable_items=frozenset(cfg.repairable_items), not_repairable=dict(cfg.not_repairable),
        exclusions=tuple(rules.ExclusionRule(e.name, frozenset(e.departments), tuple(e.penalty_types), e.reason)
                         for e in cfg.exclusions),
        min_months=tuple(rules.MinMonthsRule(m.name, frozenset(m.departments), m.months, m.reason)
                         for m in cfg.min_months_overrides))


def facts(session: Session, rec: Record) -> rules.RecordFacts:
    item = get_catalog().find(rec.item_code)
    dept = session.get(Department, rec.dept_id)
    types: tuple[str, ...] = ()
    if item is not None and item.publication.type_field:
        types = tuple(split_penalty_types(records.record_values(rec).get(item.publication.type_field)))
    return rules.RecordFacts(item_code=rec.item_code, item_name=item.name if item else rec.item_code, state=rec.state,
                             severity=rec.severity, decision_date=rec.decision_date, publish_from=rec.publish_from,
                             dept_code=dept.code if dept else "", penalty_types=types)


def check(session: Session, record_id: int, today: date, *, obligations_shown: bool = False,
          commitment_signed: bool | None = None) -> rules.Eligibility:
    rec = records.get_record(session, record_id)
    if commitment_signed is None:
        commitment_signed = commitments.signed_repair_commitment(session, rec.id) is not None
    return rules.eligibility(facts(session, rec), policy(), today, obligations_shown=obligations_shown,
                             commitment_signed=commitment_signed)


def eligibility_out(session: Session, record_id: int, today: date) -> dict[str, Any]:
    rec = records.get_record(session, record_id)
    result = check(session, record_id, today)
    dept = session.get(Department, rec.dept_id)
    signed = commitments.signed_repair_commitment(session, rec.id)
    return {"record_id": rec.id, "applicable": result.applicable, "eligible": result.eligible,
            "may_apply": result.may_apply, "earliest": result.earliest, "min_months": result.min_months,
            "missing": [{"code": m.code, "detail": m.detail} for m in result.missing], "reason": result.reason,
            "rule": result.rule, "deciding_dept": dept.name if dept else None,
            "commitment_no": signed.commitment_no if signed else None}


# ---------------------------------------------------------------- applications

@dataclass(frozen=True)
class Submitted:
    application: RepairApplication
    query_code: str
    created: bool


def get(session: Session, app_id: int) -> RepairApplication:
    app = session.get(RepairApplication, app_id)
    if app is None:
        raise NotFound(f"修复申请 {app_id} 不存在")
    return app


def for_subject(session: Session, subject_id: int) -> list[RepairApplication]:
    """Repair applications in a subject's name (for its own account), newest first."""
    return list(session.scalars(select(RepairApplication).where(RepairApplication.subject_id == subject_id)
                                .order_by(RepairApplication.id.desc()).limit(200)))


def find_case(session: Session, case_no: str) -> RepairApplication | None:
    return session.scalar(select(RepairApplication).where(RepairApplication.case_no == case_no.strip().upper()))


def by_case(session: Session, case_no: str, code: str | None) -> RepairApplication:
    app = find_case(session, case_no)
    stored = app.query_hash if app is not None else casework.hash_query_code("-")
    if not casework.query_code_matches(stored, code) or app is None:
        raise NotFound("案号或查询码不正确，请核对受理回执上的案号与查询码")
    return app


def roles_of(dept: Department | None, app: RepairApplication) -> frozenset[Role]:
    return frozenset({Role.FINDING_DEPT}) if dept is not None and dept.id == app.dept_id else frozenset()


def apply(session: Session, data: dict[str, Any], uploads: list[attachments.Upload], *,
          idempotency_key: str | None, today: date, actor: Actor) -> Submitted:
    """Apply for repair. In an organisation's name only its own account or the office's counter may apply
    (access/filing.py); the case records who did."""
    key = casework.check_key(idempotency_key)
    files = attachments.check(uploads)
    digest = casework.body_hash({**data, "files": [f.sha256 for f in files], "filer": actor.label})
    existing = casework.claim(session, CASE, key, digest)
    if existing is not None:
        app = get(session, existing)
        return Submitted(app, crypto.decrypt(app.query_enc, casework.case_aad("repair_applications.query_enc", app.query_hash)), created=False)

    rec = session.get(Record, int(data["record_id"]))
    subject = session.get(Subject, rec.subject_id) if rec is not None else None
    if rec is None or subject is None or not subject_matches(subject, str(data["subject_code"])):
        # One answer for "no such record" and "not this subject's": the form must not tell whose records ids are.
        raise NotFound(casework.no_such_target("record", data["record_id"]))
    filing = filing_for(actor, what="信用修复申请", subject_kind=subject.kind, subject_id=subject.id)
    open_app = session.scalar(select(RepairApplication.case_no).where(RepairApplication.record_id == rec.id,
                                                                      RepairApplication.state == State.SUBMITTED.value))
    if open_app is not None:
        raise RuleViolation(f"该信息已有修复申请正在审核（案号 {open_app}），请勿重复申请", rule="repair_open")
    commitment: Commitment | None = None
    if data.get("commitment_no"):
        commitment = commitments.get(session, str(data["commitment_no"]))
        if commitment.record_id != rec.id or commitment.type_code != "repair" or commitment.state == "breached":
            raise Refused("所附承诺不是针对该信息的有效信用修复承诺，请重新签署")
    else:
        commitment = commitments.signed_repair_commitment(session, rec.id)
    signing = commitment is None and bool(str(data.get("sign_commitment_as") or "").strip())
    shown = bool(data.get("obligations_fulfilled")) and bool(files) and len(str(data.get("statement", "")).strip()) >= 5
    result = rules.eligibility(facts(session, rec), policy(), today, obligations_shown=shown,
                               commitment_signed=commitment is not None or signing)
    if not result.eligible:
        raise RuleViolation(rules.refusal_text(result), rule="repair_eligibility",
                            extra={"missing": [{"code": m.code, "detail": m.detail} for m in result.missing]})
    if commitment is None:
        if subject.uscc is None:
            raise Refused("自然人的信用修复承诺请通过线下窗口签署后提交承诺编号")
        commitment = commitments.sign(session, {"type": "repair", "uscc": subject.uscc, "signer_uscc": subject.uscc,
                                                "signer_name": str(data["sign_commitment_as"]), "record_id": rec.id},
                                      today=today, actor=actor)

    code = casework.new_query_code()
    name = str(data["applicant_name"]).strip()
    qhash = casework.hash_query_code(code)
    applicant = json.dumps({"name": name, "contact": str(data["contact"])}, ensure_ascii=False)
    app = RepairApplication(
        case_no=casework.placeholder_case_no(), query_hash=qhash,
        query_enc=crypto.encrypt(code, casework.case_aad("repair_applications.query_enc", qhash)),
        state=State.SUBMITTED.value, record_id=rec.id, subject_id=rec.subject_id, dept_id=rec.dept_id,
        applicant_enc=crypto.encrypt(applicant, casework.case_aad("repair_applications.applicant_enc", qhash)),
        applicant_masked=casework.mask_name(name), statement=str(data["statement"]).strip(),
        commitment_id=commitment.id, submitted_on=today, filed_via=filing.via.value, filed_by=filing.by[:100],
        filer_account_id=filing.account_id,
        decide_due=rules.decide_due(today, get_config().repair.decide_workdays))
    session.add(app)
    session.flush()
    app.case_no = casework.case_number("XF", today, app.id)
    attachments.store(session, CASE, app.id, files)
    dept = session.get(Department, rec.dept_id)
    casework.add_event(session, CASE, app.id, actor=filing.timeline_actor, action="submitted", on=today,
                       to_state=State.SUBMITTED.value,
                       note=f"{filing.label}；已转认定部门{dept.name if dept else ''}审核，{app.decide_due} 前作出决定；"
                            f"承诺编号 {commitment.commitment_no}")
    audit.record(session, actor=filing.by, action="repair.submit", entity="repair", entity_id=app.id,
                 after={"case_no": app.case_no, "record_id": rec.id, "applicant": app.applicant_masked,
                        "commitment": commitment.commitment_no, "filed_via": filing.via.value})
    casework.bind(session, CASE, key, app.id)
    session.flush()
    return Submitted(app, code, created=True)


def _step(session: Session, app: RepairApplication, to: State, *, roles: frozenset[Role], actor: str, today: date,
          note: str) -> None:
    before = State(app.state)
    rules.check_transition(before, to, roles)
    app.state = to.value
    casework.add_event(session, CASE, app.id, actor=actor, action=to.value, on=today, from_state=before.value,
                       to_state=to.value, note=note)
    audit.record(session, actor=actor, action=f"repair.{to.value}", entity="repair", entity_id=app.id,
                 before={"state": before.value}, after={"state": to.value, "note": note})


def approve(session: Session, app_id: int, *, dept: Department, note: str, today: date,
            actor: str | None = None) -> RepairApplication:
    app = get(session, app_id)
    actor = actor or f"dept:{dept.code}"
    rules.check_transition(State(app.state), State.APPROVED, roles_of(dept, app))
    rec = records.get_record(session, app.record_id)
    if rec.state != "active":
        raise RuleViolation(f"该信息当前状态为“{rec.state}”，不能修复（异议中的信息待异议办结后决定）",
                            rule="repair_record_state")
    reason = f"信用修复（{app.case_no}）：{note.strip()}"
    records.set_state(session, rec.id, "repaired", actor=actor, note=reason)
    records.end_publication(session, rec.id, today, actor=actor, reason=reason)
    exited = lists.exit_entries_for_record(session, rec.id, actor=actor, reason=reason)
    subject = session.get(Subject, rec.subject_id)
    casework.queue_sync(session, "record.repaired", {
        "record_id": rec.id, "item": rec.item_code, "decision_no": rec.decision_no,
        "uscc": subject.uscc if subject else None, "id_masked": subject.id_masked if subject else None,
        "repaired_on": today, "dept": dept.code, "case_no": app.case_no}, get_config().repair.sync_targets)
    app.decided_on, app.decision_note = today, note.strip()
    _step(session, app, State.APPROVED, roles=roles_of(dept, app), actor=actor, today=today,
          note=f"{note.strip()}（移出名单 {exited} 条；已排队同步至省级和全国平台）")
    return app


def refuse(session: Session, app_id: int, *, dept: Department, note: str, today: date,
           actor: str | None = None) -> RepairApplication:
    app = get(session, app_id)
    if len(note.strip()) < 2:
        raise Refused("不予修复须写明理由，以便告知申请人")
    app.decided_on, app.decision_note = today, note.strip()
    _step(session, app, State.REFUSED, roles=roles_of(dept, app), actor=actor or f"dept:{dept.code}", today=today,
          note=note.strip())
    return app


def withdraw(session: Session, case_no: str, code: str, *, today: date) -> RepairApplication:
    app = by_case(session, case_no, code)
    app.decided_on = today
    _step(session, app, State.WITHDRAWN, roles=frozenset({Role.APPLICANT}), actor="applicant", today=today,
          note="申请人撤回")
    return app


def flag_overdue(session: Session, today: date) -> int:
    ids = list(session.scalars(select(RepairApplication.id).where(
        RepairApplication.state == State.SUBMITTED.value, RepairApplication.decide_due < today,
        RepairApplication.overdue.is_(False))))
    if ids:
        session.execute(update(RepairApplication).where(RepairApplication.id.in_(ids)).values(overdue=True))
        for aid in ids:
            casework.add_event(session, CASE, aid, actor="system", action="overdue", on=today, public=False,
                               note="认定部门逾期未作出修复决定")
        audit.record(session, actor="system", action="repair.overdue", entity="repair", after={"ids": ids})
    return len(ids)


# ---------------------------------------------------------------- automatic end of publication

_DUE = table("xinyong_due", column("id"))


def _due_ids(session: Session, today: date) -> None:
    """The ids the due-date table names for today or earlier, into the transaction's temporary table."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("CREATE TEMP TABLE IF NOT EXISTS xinyong_due (id bigint PRIMARY KEY) ON COMMIT DROP"))
        session.execute(text("TRUNCATE xinyong_due"))
        session.execute(text("INSERT INTO xinyong_due SELECT DISTINCT (jsonb_array_elements_text(ids::jsonb))::bigint "
                             "FROM record_due WHERE due_on <= :today"), {"today": today})
        session.execute(text("ANALYZE xinyong_due"))  # so that a day's few ids are read by key, not by a scan
    else:
        session.execute(text("CREATE TEMP TABLE IF NOT EXISTS xinyong_due (id INTEGER PRIMARY KEY)"))
        session.execute(text("DELETE FROM temp.xinyong_due"))
        session.execute(text("INSERT OR IGNORE INTO xinyong_due SELECT j.value FROM record_due d, json_each(d.ids) j "
                             "WHERE d.due_on <= :today"), {"today": today.isoformat()})


def expire_publication(session: Session, today: date) -> int:
    """Daily job: records whose window is over (publish_until is exclusive) leave publication, set-based.

    Records under objection are left alone: the objection's outcome decides, and the next run expires them.
    One RecordEvent per record (INSERT … SELECT) and one audit event for the run, not one per record.
    The records are found through the small due-date table (records.models.RecordDue), not an index every
    bulk load would keep up: its rows due today or earlier are taken, and the ids that may still need ending
    (under objection, or whose window moved later) are put back, due tomorrow or at their window's end.
    """
    _due_ids(session, today)
    candidates = Record.id.in_(select(_DUE.c.id))
    due = and_(candidates, Record.state == "active", Record.publish_until.is_not(None), Record.publish_until <= today)
    now = utcnow()
    session.execute(insert(RecordEvent).from_select(
        ["record_id", "at", "actor", "action", "from_state", "to_state", "note"],
        select(Record.id, literal(now, UtcDateTime()), literal("system", String()), literal("expired", String()),
               literal("active", String()), literal("expired", String()),
               literal(f"公示期届满，于 {today} 自动停止公示", String())).where(due)))
    result = session.execute(update(Record).where(due).values(state="expired")
                             .execution_options(synchronize_session=False))
    count = int(getattr(result, "rowcount", 0) or 0)
    session.execute(delete(RecordDue).where(RecordDue.due_on <= today))
    later = session.execute(select(Record.id, Record.publish_until).where(
        candidates, Record.state.in_(("active", "objection")), Record.publish_until.is_not(None))).all()
    tomorrow = today + timedelta(days=1)
    by_day: dict[date, list[int]] = {}
    for rid, until in later:
        by_day.setdefault(max(until or tomorrow, tomorrow), []).append(int(rid))
    for day, ids in sorted(by_day.items()):
        session.add(RecordDue(due_on=day, ids=json.dumps(sorted(ids))))
    session.flush()
    if count:
        audit.record(session, actor="system", action="records.expire", entity="record", entity_id=None,
                     after={"count": count, "on": today})
    return count


register_daily("repair.overdue", flag_overdue)
register_daily("records.expire", expire_publication)


# ---------------------------------------------------------------- views

def _target(session: Session, app: RepairApplication) -> str:
    rec = session.get(Record, app.record_id)
    item = get_catalog().find(rec.item_code) if rec else None
    return f"{item.name if item else '信用记录'} {rec.decision_no or '' if rec else ''}（记录 {app.record_id}）"


def public_out(session: Session, app: RepairApplication) -> dict[str, Any]:
    return {"case_no": app.case_no, "state": app.state, "state_label": rules.STATE_LABELS[app.state],
            "record_id": app.record_id, "target": _target(session, app), "submitted_on": app.submitted_on,
            "decide_due": app.decide_due, "decided_on": app.decided_on, "decision_note": app.decision_note,
            "timeline": [{"on": e.on, "action": e.action, "label": ACTION_LABELS.get(e.action, e.action), "note": e.note}
                         for e in casework.timeline(session, CASE, app.id, public_only=True)]}


def full_out(session: Session, app: RepairApplication) -> dict[str, Any]:
    out = public_out(session, app)
    dept = session.get(Department, app.dept_id)
    c = session.get(Commitment, app.commitment_id) if app.commitment_id else None
    out["timeline"] = [{"on": e.on, "action": e.action, "label": ACTION_LABELS.get(e.action, e.action), "note": e.note}
                       for e in casework.timeline(session, CASE, app.id)]
    out.update({"id": app.id, "dept": dept.name if dept else "", "applicant": app.applicant_masked,
                "statement": app.statement, "commitment_no": c.commitment_no if c else None, "overdue": app.overdue,
                "attachments": [{"id": a.id, "filename": a.filename, "media_type": a.media_type, "size": a.size,
                                 "sha256": a.sha256} for a in attachments.list_for(session, CASE, app.id)]})
    return out


def queue(session: Session, dept: Department, *, state: str | None = None) -> list[RepairApplication]:
    q = select(RepairApplication).order_by(RepairApplication.overdue.desc(), RepairApplication.id.desc()).limit(200)
    if not dept.is_credit_office:
        q = q.where(RepairApplication.dept_id == dept.id)
    if state:
        q = q.where(RepairApplication.state == state)
    return list(session.scalars(q))


