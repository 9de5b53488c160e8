"""Complaints and tip-offs: submit (anonymous allowed), route by category or by the office, handle, conclude.
The reporter's identity is decrypted only for a viewer the reporter agreed to, and that read is audited."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.cases import attachments, casework
from xinyong.cases.config import get_config
from xinyong.complaints import rules
from xinyong.complaints.models import Complaint
from xinyong.complaints.rules import Role, State
from xinyong.core import audit, crypto
from xinyong.core.errors import NotFound, Refused
from xinyong.core.identifiers import check_uscc
from xinyong.core.jobs import register_daily
from xinyong.subjects.service import find_by_uscc

CASE = "complaint"
ACTION_LABELS = {"submitted": "提交投诉举报", "assigned": "分办至承办部门", "returned": "承办部门退回信用办",
                 "handling": "承办部门受理", "concluded": "办结", "rejected": "不予受理", "withdrawn": "撤回",
                 "overdue": "办理逾期，已提示信用办"}


@dataclass(frozen=True)
class Submitted:
    complaint: Complaint
    query_code: str
    created: bool


def filed_by_account(session: Session, account_id: int) -> list[Complaint]:
    return list(session.scalars(select(Complaint).where(Complaint.filer_account_id == account_id)
                                .order_by(Complaint.id.desc()).limit(200)))


def categories() -> dict[str, str]:
    return dict(get_config().complaints.categories)


def get(session: Session, complaint_id: int) -> Complaint:
    c = session.get(Complaint, complaint_id)
    if c is None:
        raise NotFound(f"投诉举报 {complaint_id} 不存在")
    return c


def find_case(session: Session, case_no: str) -> Complaint | None:
    return session.scalar(select(Complaint).where(Complaint.case_no == case_no.strip().upper()))


def by_case(session: Session, case_no: str, code: str | None) -> Complaint:
    c = find_case(session, case_no)
    stored = c.query_hash if c is not None else casework.hash_query_code("-")
    if not casework.query_code_matches(stored, code) or c is None:
        raise NotFound("案号或查询码不正确，请核对受理回执上的案号与查询码")
    return c


def roles_of(dept: Department | None, c: Complaint) -> frozenset[Role]:
    roles: set[Role] = set()
    if dept is not None and dept.is_credit_office:
        roles.add(Role.OFFICE)
    if dept is not None and c.dept_id == dept.id:
        roles.add(Role.HANDLER)
    return frozenset(roles)


def submit(session: Session, data: dict[str, Any], uploads: list[attachments.Upload], *,
           idempotency_key: str | None, today: date, account_id: int | None = None) -> Submitted:
    """`account_id`: the organisation's account that files it (shown on its own /account page)."""
    key = casework.check_key(idempotency_key)
    files = attachments.check(uploads)
    digest = casework.body_hash({**data, "files": [f.sha256 for f in files], "account": account_id})
    existing = casework.claim(session, CASE, key, digest)
    if existing is not None:
        c = get(session, existing)
        return Submitted(c, crypto.decrypt(c.query_enc, casework.case_aad("complaints.query_enc", c.query_hash)), created=False)
    cats = categories()
    category = str(data["category"]).strip()
    if category not in cats:
        raise Refused(f"类别“{category}”不在可选范围内：{'、'.join(cats)}")
    code_raw = str(data.get("target_code") or "").strip().upper() or None
    subject = None
    if code_raw:
        if not check_uscc(code_raw).ok:
            raise Refused("被投诉举报单位的统一社会信用代码无效，请核对；不清楚可以不填")
        subject = find_by_uscc(session, code_raw)
    name, contact = str(data.get("reporter_name") or "").strip(), str(data.get("reporter_contact") or "").strip()
    code = casework.new_query_code()
    cfg = get_config().complaints
    qhash = casework.hash_query_code(code)
    reporter = json.dumps({"name": name, "contact": contact}, ensure_ascii=False)
    c = Complaint(case_no=casework.placeholder_case_no(), query_hash=qhash,
                  query_enc=crypto.encrypt(code, casework.case_aad("complaints.query_enc", qhash)),
                  state=State.SUBMITTED.value, category=category,
                  target_name=str(data["target_name"]).strip(), target_code=code_raw,
                  subject_id=subject.id if subject else None, content=str(data["content"]).strip(),
                  reporter_enc=crypto.encrypt(reporter, casework.case_aad("complaints.reporter_enc", qhash))
                  if name or contact else None,
                  reporter_consents=bool(data.get("consent_to_disclose")) and bool(name or contact),
                  submitted_on=today, assign_due=rules.due_date(today, cfg.assign_workdays),
                  filed_via="account" if account_id else "public", filer_account_id=account_id)
    session.add(c)
    session.flush()
    c.case_no = casework.case_number("TS", today, c.id)
    attachments.store(session, CASE, c.id, files)
    casework.add_event(session, CASE, c.id, actor="举报人", action="submitted", on=today, to_state=c.state,
                       note="匿名" if c.reporter_enc is None else None)
    # Never the identity in the audit trail: only whether there is one and whether it may be shown.
    audit.record(session, actor="public", action="complaint.submit", entity="complaint", entity_id=c.id,
                 after={"case_no": c.case_no, "category": category, "anonymous": c.reporter_enc is None,
                        "consents": c.reporter_consents})
    routed = session.scalar(select(Department).where(Department.code == cats[category]))
    if routed is not None and not routed.is_credit_office:
        _assign(session, c, routed, actor="system", today=today, note=f"按类别“{category}”自动分办")
    casework.bind(session, CASE, key, c.id)
    session.flush()
    return Submitted(c, code, created=True)


def _step(session: Session, c: Complaint, to: State, *, roles: frozenset[Role], actor: str, today: date,
          note: str | None) -> None:
    before = State(c.state)
    rules.check_transition(before, to, roles)
    c.state = to.value
    casework.add_event(session, CASE, c.id, actor=actor, action=to.value, on=today, from_state=before.value,
                       to_state=to.value, note=note)
    audit.record(session, actor=actor, action=f"complaint.{to.value}", entity="complaint", entity_id=c.id,
                 before={"state": before.value}, after={"state": to.value, "note": note, "dept_id": c.dept_id})


def _assign(session: Session, c: Complaint, dept: Department, *, actor: str, today: date, note: str) -> None:
    c.dept_id, c.assigned_on = dept.id, today
    c.handle_due = rules.due_date(today, get_config().complaints.handle_workdays)
    _step(session, c, State.ASSIGNED, roles=frozenset({Role.OFFICE}), actor=actor, today=today,
          note=f"{note}：{dept.name}，办理期限 {c.handle_due}".lstrip("："))


def assign(session: Session, complaint_id: int, *, dept: Department, to_dept: str, today: date, note: str = "",
           actor: str | None = None) -> Complaint:
    c = get(session, complaint_id)
    rules.check_transition(State(c.state), State.ASSIGNED, roles_of(dept, c))
    target = session.scalar(select(Department).where(Department.code == to_dept.strip()))
    if target is None:
        # 422, not 404: the case exists; the department named in the body does not.
        raise Refused(f"承办部门“{to_dept}”不存在，请填写部门代码（见 /admin 的部门列表）", rule="unknown_department")
    _assign(session, c, target, actor=actor or f"dept:{dept.code}", today=today, note=note or "信用办分办")
    return c


def _act(session: Session, complaint_id: int, to: State, *, dept: Department, today: date, note: str,
         actor: str | None, need_note: str | None = None) -> Complaint:
    c = get(session, complaint_id)
    if need_note and len(note.strip()) < 2:
        raise Refused(need_note)
    rules.check_transition(State(c.state), to, roles_of(dept, c))
    if to == State.CONCLUDED:
        c.concluded_on, c.result = today, note.strip()
    if to == State.REJECTED:
        c.concluded_on, c.result = today, note.strip()
    _step(session, c, to, roles=roles_of(dept, c), actor=actor or f"dept:{dept.code}", today=today,
          note=note.strip() or None)
    if to == State.RETURNED:
        c.dept_id = None
    return c


def accept(session: Session, complaint_id: int, **kw: Any) -> Complaint:
    return _act(session, complaint_id, State.HANDLING, **kw)


def return_to_office(session: Session, complaint_id: int, **kw: Any) -> Complaint:
    return _act(session, complaint_id, State.RETURNED, need_note="退回须说明理由（例如不属于本部门职责）", **kw)


def conclude(session: Session, complaint_id: int, **kw: Any) -> Complaint:
    return _act(session, complaint_id, State.CONCLUDED, need_note="办结须写明处理结果，以便告知举报人", **kw)


def reject(session: Session, complaint_id: int, **kw: Any) -> Complaint:
    return _act(session, complaint_id, State.REJECTED, need_note="不予受理须写明理由", **kw)


def withdraw(session: Session, case_no: str, code: str, *, today: date) -> Complaint:
    c = by_case(session, case_no, code)
    _step(session, c, State.WITHDRAWN, roles=frozenset({Role.REPORTER}), actor="reporter", today=today,
          note="举报人撤回")
    return c


def flag_overdue(session: Session, today: date) -> int:
    ids = list(session.scalars(select(Complaint.id).where(Complaint.overdue.is_(False), or_(
        (Complaint.state.in_((State.SUBMITTED.value, State.RETURNED.value))) & (Complaint.assign_due < today),
        (Complaint.state.in_((State.ASSIGNED.value, State.HANDLING.value))) & (Complaint.handle_due < today)))))
    if ids:
        session.execute(update(Complaint).where(Complaint.id.in_(ids)).values(overdue=True))
        for cid in ids:
            casework.add_event(session, CASE, cid, actor="system", action="overdue", on=today, public=False)
        audit.record(session, actor="system", action="complaint.overdue", entity="complaint", after={"ids": ids})
    return len(ids)


register_daily("complaints.overdue", flag_overdue)


# ---------------------------------------------------------------- views

def public_out(session: Session, c: Complaint) -> dict[str, Any]:
    return {"case_no": c.case_no, "state": c.state, "state_label": rules.STATE_LABELS[c.state],
            "category": c.category, "target_name": c.target_name, "submitted_on": c.submitted_on,
            "handle_due": c.handle_due, "concluded_on": c.concluded_on, "result": c.result,
            "timeline": [{"on": e.on, "action": e.action, "label": ACTION_LABELS.get(e.action, e.action),
                          "note": e.note} for e in casework.timeline(session, CASE, c.id, public_only=True)]}


def dept_out(session: Session, c: Complaint, *, viewer: Department, actor: str) -> dict[str, Any]:
    """A department's view: the reporter is 匿名/已隐藏 unless they agreed; a shown identity is an audited read."""
    reporter, contact = rules.HIDDEN, rules.HIDDEN
    if c.reporter_enc is not None and rules.shows_identity(c.reporter_consents, Role.HANDLER):
        who = json.loads(crypto.decrypt(c.reporter_enc, casework.case_aad("complaints.reporter_enc", c.query_hash)))
        reporter, contact = who.get("name") or "—", who.get("contact") or "—"
        audit.record(session, actor=actor, action="complaint.reporter_read", entity="complaint", entity_id=c.id,
                     after={"viewer": viewer.code, "consented": True})
    elif c.reporter_enc is None:
        reporter = contact = "匿名"
    dept = session.get(Department, c.dept_id) if c.dept_id else None
    out = public_out(session, c)
    out["timeline"] = [{"on": e.on, "action": e.action, "label": ACTION_LABELS.get(e.action, e.action),
                        "note": e.note} for e in casework.timeline(session, CASE, c.id)]
    out.update({"id": c.id, "content": c.content, "target_code": c.target_code, "dept": dept.name if dept else None,
                "reporter": reporter, "reporter_contact": contact, "assign_due": c.assign_due, "overdue": c.overdue,
                "attachments": [{"id": a.id, "filename": a.filename, "media_type": a.media_type, "size": a.size}
                                for a in attachments.list_for(session, CASE, c.id)]})
    return out


def queue(session: Session, dept: Department, *, state: str | None = None) -> list[Complaint]:
    q = select(Complaint).order_by(Complaint.overdue.desc(), Complaint.id.desc()).limit(200)
    if not dept.is_credit_office:
        q = q.where(Complaint.dept_id == dept.id)
    if state:
        q = q.where(Complaint.state == state)
    return list(session.scalars(q))
