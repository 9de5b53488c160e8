"""Organisations' own accounts: registration checked against the registration record, activation by a one-time
code or the credit office's approval, throttled login, and what the account may see of its own subject.

The legal representative's ID number is never stored or logged in clear: registration compares its keyed hash
with the one the registration record keeps (records.secret_hashes), and the account keeps only a keyed hash of
its own. Passwords are argon2, as for staff.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.access.filing import FILED_VIA_LABELS, FiledVia
from xinyong.accounts import service as accounts
from xinyong.accounts.models import SubjectAccount
from xinyong.catalog.service import get_catalog
from xinyong.checks.logbuffer import buffer as check_buffer
from xinyong.checks.models import CheckLog
from xinyong.commitments import service as commitments
from xinyong.complaints import rules as complaint_rules
from xinyong.complaints import service as complaints
from xinyong.core import audit, crypto
from xinyong.core.db import utcnow
from xinyong.core.errors import Forbidden, NotFound, Refused, Unauthorized
from xinyong.core.identifiers import check_citizen_id, check_uscc, mask_text, normalize_code
from xinyong.objections import rules as objection_rules
from xinyong.objections import service as objections
from xinyong.records import rules as record_rules
from xinyong.records import service as records
from xinyong.records.models import STATE_LABELS as RECORD_STATES
from xinyong.records.models import Record
from xinyong.repair import rules as repair_rules
from xinyong.repair import service as repair
from xinyong.subject_accounts import throttle
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

ORGANISATION_KINDS = frozenset({"legal_person", "individual_business", "other_org"})
CHECK_RESULTS = {"clean": "无不良信息", "attention": "有需关注的信息", "dishonest": "严重失信", "not_found": "未找到"}
STATUS_LABELS = {"pending": "待激活", "active": "已激活", "disabled": "已停用"}
ACTIVATION_DAYS = 7
# Activation codes: no 0/O, 1/I/L, so a code read over the phone or from a letter is typed right.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LEN = 10
_REP_ID_PURPOSE = "account.legal_rep_id"
_CODE_PURPOSE = "account.activation"
_MISMATCH = ("法定代表人（负责人）姓名或证件号码与登记机关报送的登记信息不一致，请核对后重试；"
             "登记信息有误请先向登记机关申请更正，或携带营业执照副本到信用办窗口办理")


@dataclass(frozen=True)
class Registration:
    uscc: str
    legal_rep_name: str
    legal_rep_id: str
    password: str
    contact_phone: str = ""


def _hash_code(code: str) -> str:
    return crypto.keyed_hash(normalize_code(code), _CODE_PURPOSE)


def new_activation_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LEN))
    return f"{raw[:5]}-{raw[5:]}"


def _organisation(session: Session, uscc: str) -> Subject:
    code = normalize_code(uscc)
    if check_citizen_id(code).ok:
        raise Refused("主体账户只面向法人和非法人组织（凭统一社会信用代码注册）；自然人无需注册，"
                      "查询本人信息、提出异议或申请修复请使用门户的相应表单或到信用办窗口办理", rule="account.not_org")
    check = check_uscc(code)
    if not check.ok:
        raise Refused(f"统一社会信用代码无效：{check.error}，请核对营业执照上的代码", rule="account.uscc")
    subject = subjects.find_by_uscc(session, check.value)
    if subject is None:
        raise NotFound(f"平台中没有统一社会信用代码为 {check.value} 的主体：请确认代码无误；新设立的单位须待登记机关"
                       "报送登记信息后再注册", rule="account.unknown_subject")
    if subject.kind not in ORGANISATION_KINDS:
        raise Refused("主体账户只面向法人和非法人组织；该主体不能注册账户", rule="account.not_org")
    return subject


def registration_record(session: Session, subject_id: int) -> Record | None:
    """The subject's current registration record (an item of the registration authority)."""
    codes = [i.code for i in get_catalog().list() if i.renames_subjects]
    if not codes:
        return None
    return session.scalar(select(Record).where(Record.subject_id == subject_id, Record.item_code.in_(codes),
                                               Record.state.not_in(("superseded", "revoked")))
                          .order_by(Record.id.desc()).limit(1))


def _registered_rep(session: Session, subject: Subject) -> tuple[str | None, str | None]:
    """(legal representative's name, keyed hash of the ID number as secret_hashes keeps it) of the registration."""
    rec = registration_record(session, subject.id)
    if rec is None:
        raise Refused("该单位在平台中没有登记注册信息（由登记机关报送），无法核验法定代表人身份；请携带营业执照副本和"
                      "法定代表人身份证件到信用办窗口办理", rule="account.no_registration")
    item = get_catalog().get(rec.item_code)
    name_field, id_field = item.field_by_role("legal_rep"), item.field_by_role("legal_rep_id_no")
    name = records.record_values(rec).get(name_field.name) if name_field else None
    stored = None
    if id_field is not None and rec.secret_hashes:
        for part in rec.secret_hashes.split(" "):
            field, _, digest = part.partition(":")
            if field == id_field.name:
                stored = digest
    return (str(name).strip() if name else None), stored


def register(session: Session, reg: Registration, *, address: str = "") -> SubjectAccount:
    """Register a pending account. A mismatch with the registration record counts as a failed login (per code and
    per address), so the form cannot be used to guess a legal representative's ID number."""
    throttle.check(normalize_code(reg.uscc)[:32], address or "unknown")
    subject = _organisation(session, reg.uscc)
    assert subject.uscc is not None
    existing = session.scalar(select(SubjectAccount).where(SubjectAccount.subject_id == subject.id))
    if existing is not None:
        if existing.status == "disabled":
            raise Refused("该单位的账户已被停用，请联系信用办", rule="account.exists")
        raise Refused("该单位已注册主体账户" + ("，正在等待激活：请使用信用办发放的激活码激活" if existing.status == "pending"
                                          else "：请直接登录；忘记密码请联系信用办重置"), rule="account.exists")
    name = reg.legal_rep_name.strip()
    id_check = check_citizen_id(reg.legal_rep_id)
    if not name or not id_check.ok:
        raise Refused("请填写法定代表人（负责人）姓名和有效的居民身份证号码", rule="account.legal_rep")
    if len(reg.password) < 8:
        raise Refused("密码至少 8 位，请重新设置", rule="account.password")
    registered_name, stored_hash = _registered_rep(session, subject)
    if stored_hash is None:
        raise Refused("登记信息中没有法定代表人证件号码，无法在线核验；请携带营业执照副本和法定代表人身份证件到信用办"
                      "窗口办理", rule="account.no_registration")
    given_hash = records.secret_hasher()(id_check.value)
    if registered_name != name or not hmac.compare_digest(given_hash, stored_hash):
        throttle.failed(subject.uscc, address or "unknown")
        audit.record(session, actor=f"anonymous:{address}" if address else "anonymous", action="account.register_refused",
                     entity="subject", entity_id=subject.id, after={"uscc": subject.uscc, "reason": "legal_rep_mismatch"})
        raise Refused(_MISMATCH, rule="account.legal_rep_mismatch")
    account = SubjectAccount(subject_id=subject.id, uscc=subject.uscc, password_hash=accounts.hash_password(reg.password),
                             legal_rep_name=name, legal_rep_id_hash=crypto.keyed_hash(id_check.value, _REP_ID_PURPOSE),
                             contact_phone=reg.contact_phone.strip()[:32] or None, status="pending")
    session.add(account)
    session.flush()
    audit.record(session, actor=f"account:{subject.uscc}", action="account.register", entity="subject_account",
                 entity_id=account.id, after={"uscc": subject.uscc, "legal_rep": mask_text(name)})
    return account


def get_account(session: Session, uscc: str) -> SubjectAccount:
    account = session.scalar(select(SubjectAccount).where(SubjectAccount.uscc == normalize_code(uscc)))
    if account is None:
        raise NotFound(f"统一社会信用代码 {normalize_code(uscc)} 尚未注册主体账户：请该单位先在 /account/register 注册")
    return account


def issue_code(session: Session, uscc: str, *, actor: str, now: datetime | None = None) -> str:
    """A one-time activation code for a pending account (shown once; only its keyed hash is kept)."""
    account = get_account(session, uscc)
    if account.status != "pending":
        raise Refused(f"该账户{STATUS_LABELS.get(account.status, account.status)}，无需激活码")
    code = new_activation_code()
    account.activation_code_hash = _hash_code(code)
    account.activation_expires_at = (now or utcnow()) + timedelta(days=ACTIVATION_DAYS)
    audit.record(session, actor=actor, action="account.code_issued", entity="subject_account", entity_id=account.id,
                 after={"uscc": account.uscc, "expires_at": account.activation_expires_at.isoformat()})
    return code


def activate(session: Session, uscc: str, code: str, *, address: str, now: datetime | None = None) -> SubjectAccount:
    """Activate with the office's code: valid once, before it expires. Wrong codes count as failed logins."""
    key = normalize_code(uscc)[:32]
    throttle.check(key, address)
    account = session.scalar(select(SubjectAccount).where(SubjectAccount.uscc == key))
    now = now or utcnow()
    ok = (account is not None and account.status == "pending" and account.activation_code_hash is not None
          and account.activation_expires_at is not None
          and hmac.compare_digest(account.activation_code_hash, _hash_code(code)))
    if account is None or not ok:
        throttle.failed(key, address)
        audit.record(session, actor=f"anonymous:{address}", action="account.activate_failed", entity="subject_account",
                     entity_id=account.id if account else None, after={"uscc": key})
        raise Refused("激活码不正确、已使用或已过期：请核对信用办发放的激活码，或请信用办重新发放", rule="account.code")
    assert account.activation_expires_at is not None
    if account.activation_expires_at <= now:
        account.activation_code_hash = None
        audit.record(session, actor=f"anonymous:{address}", action="account.activate_failed", entity="subject_account",
                     entity_id=account.id, after={"uscc": key, "reason": "expired"})
        raise Refused("激活码已过期（有效期 7 天）：请联系信用办重新发放", rule="account.code_expired")
    _activate(session, account, by="code", actor=f"account:{account.uscc}", now=now)
    return account


def _activate(session: Session, account: SubjectAccount, *, by: str, actor: str, now: datetime) -> None:
    account.status = "active"
    account.activation_code_hash = None
    account.activation_expires_at = None
    account.activated_at = now
    account.activated_by = by[:100]
    audit.record(session, actor=actor, action="account.activate", entity="subject_account", entity_id=account.id,
                 after={"uscc": account.uscc, "by": by})


def approve(session: Session, account_id: int, *, actor: str) -> SubjectAccount:
    """The credit office activates a pending account itself (after checking the firm's papers at the counter)."""
    account = session.get(SubjectAccount, account_id)
    if account is None:
        raise NotFound(f"主体账户 {account_id} 不存在")
    if account.status != "pending":
        raise Refused(f"该账户{STATUS_LABELS.get(account.status, account.status)}，无需审核激活")
    _activate(session, account, by=actor, actor=actor, now=utcnow())
    return account


def set_disabled(session: Session, account_id: int, disabled: bool, *, actor: str) -> SubjectAccount:
    account = session.get(SubjectAccount, account_id)
    if account is None:
        raise NotFound(f"主体账户 {account_id} 不存在")
    before = account.status
    if disabled:
        account.status = "disabled"
    elif before == "disabled":
        account.status = "active" if account.activated_at else "pending"
    audit.record(session, actor=actor, action="account.disable" if disabled else "account.enable",
                 entity="subject_account", entity_id=account.id, before={"status": before},
                 after={"status": account.status})
    return account


def authenticate(session: Session, uscc: str, password: str, *, address: str) -> SubjectAccount:
    """The account for a correct password, throttled per account and per address; every failure is audited."""
    key = normalize_code(uscc)[:32]
    throttle.check(key, address)
    account = session.scalar(select(SubjectAccount).where(SubjectAccount.uscc == key))
    if not accounts.verify_password(account.password_hash if account else None, password) or account is None:
        throttle.failed(key, address)
        audit.record(session, actor=f"anonymous:{address}", action="account.login_failed", entity="subject_account",
                     entity_id=account.id if account else None, after={"uscc": key})
        raise Unauthorized("统一社会信用代码或密码错误，请重新输入；忘记密码请联系信用办重置", rule="account.login")
    if account.status == "pending":
        raise Forbidden("账户尚未激活：请使用信用办发放的激活码激活（/account/activate），或等待信用办审核",
                        rule="account.pending")
    if account.status != "active":
        raise Forbidden("账户已停用，不能登录；请联系信用办", rule="account.disabled")
    audit.record(session, actor=f"account:{account.uscc}", action="account.login", entity="subject_account",
                 entity_id=account.id, after={"address": address})
    return account


def pending_accounts(session: Session) -> list[SubjectAccount]:
    return list(session.scalars(select(SubjectAccount).order_by(SubjectAccount.status != "pending",
                                                                SubjectAccount.id.desc()).limit(500)))


def account_out(session: Session, account: SubjectAccount) -> dict[str, object]:
    subject = session.get(Subject, account.subject_id)
    return {"id": account.id, "uscc": account.uscc, "name": subject.name if subject else "",
            "legal_rep": mask_text(account.legal_rep_name), "contact": mask_text(account.contact_phone or "", 3, 2),
            "status": account.status, "status_label": STATUS_LABELS.get(account.status, account.status),
            "created_at": account.created_at, "activated_at": account.activated_at,
            "activated_by": account.activated_by, "code_expires_at": account.activation_expires_at}


# ---------------------------------------------------------------- what the account sees of its own subject

def overview(session: Session, account: SubjectAccount, today: date) -> dict[str, Any]:
    """The subject's own view: all its records (public or not), the cases in its name and those it filed, its
    commitments, and who checked it (department, matter, time). Only ever about the account's own subject."""
    subject = session.get(Subject, account.subject_id)
    if subject is None:  # pragma: no cover - the foreign key keeps it
        raise NotFound("账户对应的主体不存在，请联系信用办")
    catalog = get_catalog()
    depts = {d.id: d.name for d in accounts.list_departments(session)}
    recs = []
    for rec in records.records_of_subject(session, subject.id):
        item = catalog.find(rec.item_code)
        public = bool(item) and record_rules.visible(rec.state, item.disclosure if item else "", rec.publish_from,
                                                     rec.publish_until, "public", today)
        recs.append({"id": rec.id, "item": item.name if item else rec.item_code, "decision_no": rec.decision_no,
                     "decision_date": rec.decision_date, "dept": depts.get(rec.dept_id, ""),
                     "state": RECORD_STATES.get(rec.state, rec.state), "public": public,
                     "publish_until": rec.publish_until})
    cases: list[dict[str, Any]] = []
    for o in objections.for_subject(session, subject.id):
        cases.append({"kind": "异议", "case_no": o.case_no, "on": o.submitted_on, "href": f"/objections/{o.case_no}",
                      "state": objection_rules.STATE_LABELS.get(o.state, o.state), "via": _via(o.filed_via)})
    for a in repair.for_subject(session, subject.id):
        cases.append({"kind": "信用修复", "case_no": a.case_no, "on": a.submitted_on, "href": f"/repair/{a.case_no}",
                      "state": repair_rules.STATE_LABELS.get(a.state, a.state), "via": _via(a.filed_via)})
    for c in complaints.filed_by_account(session, account.id):
        cases.append({"kind": "投诉举报", "case_no": c.case_no, "on": c.submitted_on, "href": f"/complaints/{c.case_no}",
                      "state": complaint_rules.STATE_LABELS.get(c.state, c.state), "via": _via(c.filed_via)})
    cases.sort(key=lambda x: (x["on"], x["case_no"]), reverse=True)
    promised = [commitments.out(session, c) for c in commitments.for_subject(session, subject.id)]
    check_buffer.flush()  # checks are logged behind the requests; show what this process has answered too
    checks = [{"at": row.at, "dept": depts.get(row.dept_id, ""), "matter": row.matter, "purpose": row.purpose,
               "result": CHECK_RESULTS.get(row.result, row.result)}
              for row in session.scalars(select(CheckLog).where(CheckLog.subject_id == subject.id)
                                         .order_by(CheckLog.at.desc(), CheckLog.id.desc()).limit(200))]
    return {"subject": subject, "account": account_out(session, account), "records": recs, "cases": cases,
            "commitments": promised, "checks": checks}


def _via(value: str) -> str:
    try:
        return FILED_VIA_LABELS[FiledVia(value)]
    except ValueError:
        return value
