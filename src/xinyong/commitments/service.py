"""Credit commitments: sign from a template, publish on the subject page, record fulfilment or breach.
A breach becomes a credit record through the catalog (item credit_commitment, 履约情况 = 违诺)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor
from xinyong.access.filing import FILED_VIA_LABELS, FiledVia, filing_for
from xinyong.accounts.models import Department
from xinyong.cases.casework import placeholder_case_no
from xinyong.catalog import rules as catalog_rules
from xinyong.catalog.service import get_catalog
from xinyong.commitments import rules
from xinyong.commitments.config import get_template
from xinyong.commitments.models import Commitment
from xinyong.commitments.rules import State
from xinyong.core import audit
from xinyong.core.errors import NotFound, Refused
from xinyong.core.identifiers import check_uscc
from xinyong.records import service as records
from xinyong.records.models import Record
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

BREACH_ITEM = "credit_commitment"


def get(session: Session, commitment_no: str) -> Commitment:
    c = session.scalar(select(Commitment).where(Commitment.commitment_no == commitment_no.strip().upper()))
    if c is None:
        raise NotFound(f"承诺编号 {commitment_no} 不存在，请核对")
    return c


def sign(session: Session, data: dict[str, Any], *, today: date, actor: Actor) -> Commitment:
    """Sign a commitment in an organisation's name: by its own account, or entered by the department that accepts
    it or by the credit office (access/filing.py), recorded as such."""
    tpl = get_template(str(data["type"]))
    subject = subjects.get_by_uscc(session, str(data["uscc"]).strip().upper())
    signer_uscc = str(data.get("signer_uscc") or "").strip().upper()
    if not check_uscc(signer_uscc).ok or signer_uscc != subject.uscc:
        raise Refused("签署单位的统一社会信用代码须与承诺主体一致：单位作出的承诺由其法定代表人或授权代表签署")
    acceptor: Department | None = None
    if data.get("acceptor"):
        acceptor = session.scalar(select(Department).where(Department.code == str(data["acceptor"]).strip()))
        if acceptor is None:
            raise Refused(f"受理部门“{data['acceptor']}”不存在，请填写办理审批的部门代码", rule="unknown_department")
    if tpl.requires_acceptor and acceptor is None:
        raise Refused(f"{tpl.name}须注明受理部门（办理审批的部门代码）")
    filing = filing_for(actor, what="信用承诺", subject_kind=subject.kind, subject_id=subject.id,
                        acceptor_dept_id=acceptor.id if acceptor else None)
    matter = str(data.get("matter") or "").strip()
    record: Record | None = None
    if tpl.requires_record:
        if not data.get("record_id"):
            raise Refused(f"{tpl.name}须注明所针对的信用记录编号（record_id）")
        record = session.get(Record, int(data["record_id"]))
        if record is None or record.subject_id != subject.id:
            raise NotFound(f"信用记录 {data['record_id']} 不存在或不属于该主体")
        item = get_catalog().find(record.item_code)
        # No decision number: the commitment stays public after the repair, the repaired record must not.
        matter = f"申请{item.name if item else '失信信息'}信用修复"
    elif not matter:
        raise Refused("请填写承诺事项")
    signer = str(data["signer_name"]).strip()
    text = rules.render(tpl.text, {"subject_name": subject.name, "uscc": subject.uscc or "", "matter": matter,
                                   "acceptor": acceptor.name if acceptor else "", "signer_name": signer,
                                   "date": today.isoformat(), "record": "本单位的一条" + matter.removeprefix("申请").removesuffix("信用修复")})
    c = Commitment(commitment_no=placeholder_case_no(),
                   type_code=tpl.code, subject_id=subject.id, signer_name=signer, signer_uscc=signer_uscc,
                   matter=matter, acceptor_dept_id=acceptor.id if acceptor else None,
                   record_id=record.id if record else None, title=tpl.title, legal_basis=tpl.legal_basis, text=text,
                   text_sha256=rules.text_hash(text), signed_on=today, state=State.SIGNED.value,
                   filed_via=filing.via.value, filed_by=filing.by[:100], filer_account_id=filing.account_id)
    session.add(c)
    session.flush()
    c.commitment_no = f"CN{today:%Y%m%d}{c.id:06d}"
    audit.record(session, actor=filing.by, action="commitment.sign", entity="commitment", entity_id=c.id,
                 after={"no": c.commitment_no, "type": tpl.code, "subject": subject.uscc, "sha256": c.text_sha256,
                        "filed_via": filing.via.value})
    return c


def record_outcome(session: Session, commitment_no: str, *, dept: Department, outcome: str, note: str, on: date,
                   actor: str | None = None) -> Commitment:
    c = get(session, commitment_no)
    actor = actor or f"dept:{dept.code}"
    try:
        to = State(outcome)
    except ValueError:
        raise Refused("履约情况只能是 fulfilled（已履约）或 breached（违诺）") from None
    rules.check_recorder(dept.is_credit_office, dept.id == c.acceptor_dept_id, c.acceptor_dept_id is not None)
    rules.check_transition(State(c.state), to)
    if to == State.BREACHED:
        c.breach_record_id = _breach_record(session, c, dept, note, on, actor).id
    before = c.state
    c.state, c.outcome_on, c.outcome_note, c.outcome_dept_id = to.value, on, note.strip(), dept.id
    audit.record(session, actor=actor, action=f"commitment.{to.value}", entity="commitment", entity_id=c.id,
                 before={"state": before}, after={"state": to.value, "note": note.strip(),
                                                  "breach_record_id": c.breach_record_id})
    return c


def _breach_record(session: Session, c: Commitment, dept: Department, note: str, on: date, actor: str) -> Record:
    subject = session.get(Subject, c.subject_id)
    if subject is None:  # pragma: no cover
        raise NotFound("承诺主体不存在")
    tpl = get_template(c.type_code)
    acceptor = session.get(Department, c.acceptor_dept_id) if c.acceptor_dept_id else dept
    values = {"subject_name": subject.name, "subject_kind": subject.kind, "uscc": subject.uscc,
              "legal_rep": subject.legal_rep, "commitment_type": tpl.catalog_type, "commitment_reason": c.matter,
              "content": c.text, "commitment_date": c.signed_on.isoformat(),
              "acceptor": acceptor.name if acceptor else dept.name, "acceptor_uscc": acceptor.uscc if acceptor else None,
              "performance": rules.BREACH_PERFORMANCE, "note": note.strip()}
    records.require_provider(session, get_catalog().get(BREACH_ITEM), dept)
    start, until = catalog_rules.permanent_window(on)
    return records.add_record(session, subject=subject, item_code=BREACH_ITEM, dept_id=dept.id, values=values,
                              decision_no=f"{c.commitment_no}-违诺", decision_date=on, publish_from=start,
                              publish_until=until, actor=actor)


def signed_repair_commitment(session: Session, record_id: int) -> Commitment | None:
    return session.scalar(select(Commitment).where(Commitment.record_id == record_id, Commitment.type_code == "repair",
                                                   Commitment.state != State.BREACHED.value)
                          .order_by(Commitment.id.desc()).limit(1))


def for_subject(session: Session, subject_id: int) -> list[Commitment]:
    return list(session.scalars(select(Commitment).where(Commitment.subject_id == subject_id)
                                .order_by(Commitment.signed_on.desc(), Commitment.id.desc()).limit(200)))


def for_dept(session: Session, dept: Department, *, state: str | None = None) -> list[Commitment]:
    q = select(Commitment).order_by(Commitment.id.desc()).limit(200)
    if not dept.is_credit_office:
        q = q.where(Commitment.acceptor_dept_id == dept.id)
    if state:
        q = q.where(Commitment.state == state)
    return list(session.scalars(q))


def out(session: Session, c: Commitment) -> dict[str, Any]:
    subject = session.get(Subject, c.subject_id)
    acceptor = session.get(Department, c.acceptor_dept_id) if c.acceptor_dept_id else None
    tpl_name = get_template(c.type_code).name
    return {"commitment_no": c.commitment_no, "type": c.type_code, "type_name": tpl_name,
            "subject_name": subjects.display_name(subject) if subject else "", "uscc": subject.uscc if subject else None,
            "signer_name": c.signer_name, "matter": c.matter, "acceptor": acceptor.name if acceptor else None,
            "record_id": c.record_id, "title": c.title, "legal_basis": c.legal_basis, "text": c.text,
            "text_sha256": c.text_sha256, "signed_at": c.signed_at, "signed_on": c.signed_on, "state": c.state,
            "state_label": rules.STATE_LABELS[c.state], "outcome_on": c.outcome_on, "outcome_note": c.outcome_note,
            "breach_record_id": c.breach_record_id, "filed_via": c.filed_via,
            "filed_via_label": FILED_VIA_LABELS.get(FiledVia(c.filed_via), c.filed_via)}
