"""Organisations' own accounts on SQLite and PostgreSQL: registration against the registration record, activation,
throttled login, and an account that sees only its own subject."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xinyong.accounts import service as accounts
from xinyong.accounts.models import SubjectAccount
from xinyong.catalog import rules as catalog_rules
from xinyong.checks import service as checks
from xinyong.cli import app as cli_app
from xinyong.core.audit import AuditEvent
from xinyong.core.db import utcnow
from xinyong.core.errors import Forbidden, NotFound, Refused, Unauthorized
from xinyong.core.identifiers import make_uscc
from xinyong.records import service as records
from xinyong.subject_accounts import service, throttle
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

REP_ID = "11010519491231002X"
OTHER_ID = "110101199003077774"
PASSWORD = "firm-secret-2026"
HTML = {"Accept": "text/html"}


def _firm(db: Session, n: int, *, rep: str = "张三", rep_id: str | None = REP_ID, name: str | None = None) -> Subject:
    """An organisation with its registration record (legal representative and sealed ID number)."""
    dept = accounts.add_department(db, "SCJG", "德州市市场监督管理局")
    uscc = make_uscc("91", "371402", f"AC{n:06d}")
    subject = subjects.upsert_organisation(db, uscc=uscc, name=name or f"德州账户测试有限公司{n}")
    values = {"subject_name": subject.name, "uscc": uscc, "legal_rep": rep, "established": "2020-01-01"}
    if rep_id:
        values["legal_rep_id_no"] = rep_id
    start, until = catalog_rules.permanent_window(date(2020, 1, 1))
    records.add_record(db, subject=subject, item_code="registration", dept_id=dept.id, values=values,
                       decision_date=date(2020, 1, 1), publish_from=start, publish_until=until)
    db.commit()
    return subject


def _reg(subject: Subject, **kw: Any) -> service.Registration:
    base = {"uscc": subject.uscc, "legal_rep_name": "张三", "legal_rep_id": REP_ID, "password": PASSWORD,
            "contact_phone": "13800000000"}
    return service.Registration(**{**base, **kw})


def _active(db: Session, subject: Subject) -> SubjectAccount:
    account = service.register(db, _reg(subject))
    code = service.issue_code(db, subject.uscc or "", actor="user:admin")
    service.activate(db, subject.uscc or "", code, address="10.0.0.1")
    db.commit()
    return account


# ---------------------------------------------------------------- registration

def test_registration_checks_the_legal_representative_and_never_keeps_the_number(db: Session) -> None:
    subject = _firm(db, 1)
    account = service.register(db, _reg(subject, legal_rep_id=REP_ID.lower()))
    db.commit()
    assert account.status == "pending" and account.uscc == subject.uscc
    assert REP_ID not in account.legal_rep_id_hash and account.password_hash != PASSWORD
    dump = " ".join(str(v) for row in db.execute(text("SELECT * FROM subject_accounts")) for v in row)
    dump += " ".join(str(v) for row in db.execute(select(AuditEvent.before, AuditEvent.after)) for v in row)
    assert REP_ID not in dump and REP_ID.lower() not in dump and PASSWORD not in dump


@pytest.mark.parametrize("change, words", [
    ({"legal_rep_name": "李四"}, "不一致"),
    ({"legal_rep_id": OTHER_ID}, "不一致"),
    ({"legal_rep_id": "110105194912310021"}, "有效的居民身份证号码"),
    ({"password": "short"}, "至少 8 位"),
])
def test_registration_with_wrong_facts_is_refused(db: Session, change: dict[str, str], words: str) -> None:
    subject = _firm(db, 2)
    with pytest.raises(Refused, match=words):
        service.register(db, _reg(subject, **change))
    db.commit()  # the refusal's audit event stays; no account
    assert db.scalar(select(SubjectAccount)) is None


def test_registration_of_an_unknown_code_or_a_person_is_refused(db: Session) -> None:
    _firm(db, 3)
    with pytest.raises(NotFound, match="没有统一社会信用代码"):
        service.register(db, service.Registration(make_uscc("91", "371402", "AC999999"), "张三", REP_ID, PASSWORD))
    with pytest.raises(Refused, match="自然人无需注册"):
        service.register(db, service.Registration(REP_ID, "张三", REP_ID, PASSWORD))
    with pytest.raises(Refused, match="统一社会信用代码无效"):
        service.register(db, service.Registration("91371402XXXXXXXXXX", "张三", REP_ID, PASSWORD))


def test_registration_without_a_registration_record_sends_to_the_counter(db: Session) -> None:
    subject = subjects.upsert_organisation(db, uscc=make_uscc("91", "371402", "AC000004"), name="德州无登记有限公司")
    db.commit()
    with pytest.raises(Refused, match="窗口办理"):
        service.register(db, _reg(subject))
    no_id = _firm(db, 5, rep_id=None)
    with pytest.raises(Refused, match="没有法定代表人证件号码"):
        service.register(db, _reg(no_id))


def test_a_second_registration_is_refused(db: Session) -> None:
    subject = _firm(db, 6)
    service.register(db, _reg(subject))
    with pytest.raises(Refused, match="已注册"):
        service.register(db, _reg(subject))


# ---------------------------------------------------------------- activation

def test_an_activation_code_works_once(db: Session) -> None:
    subject = _firm(db, 7)
    service.register(db, _reg(subject))
    code = service.issue_code(db, subject.uscc or "", actor="user:admin")
    with pytest.raises(Refused, match="激活码不正确"):
        service.activate(db, subject.uscc or "", "AAAAA-AAAAA", address="10.0.0.1")
    account = service.activate(db, subject.uscc or "", code.lower(), address="10.0.0.1")
    assert account.status == "active" and account.activated_by == "code" and account.activation_code_hash is None
    with pytest.raises(Refused, match="激活码不正确、已使用"):
        service.activate(db, subject.uscc or "", code, address="10.0.0.1")


def test_an_expired_activation_code_is_refused(db: Session) -> None:
    subject = _firm(db, 8)
    service.register(db, _reg(subject))
    code = service.issue_code(db, subject.uscc or "", actor="user:admin", now=utcnow() - timedelta(days=8))
    with pytest.raises(Refused, match="已过期"):
        service.activate(db, subject.uscc or "", code, address="10.0.0.1")
    assert service.get_account(db, subject.uscc or "").status == "pending"
    with pytest.raises(Refused, match="激活码不正确"):  # and it is gone: a new one must be issued
        service.activate(db, subject.uscc or "", code, address="10.0.0.1")


def test_the_cli_prints_an_activation_code_once_and_the_office_may_approve(db: Session) -> None:
    subject, other = _firm(db, 9), _firm(db, 10)
    service.register(db, _reg(subject))
    service.register(db, _reg(other))
    db.commit()
    result = CliRunner().invoke(cli_app, ["account", "issue-code", "--uscc", subject.uscc or ""])
    assert result.exit_code == 0, result.output
    code = result.stdout.strip().splitlines()[-1]
    assert len(code) == 11 and code[5] == "-"
    db.expire_all()
    assert service.activate(db, subject.uscc or "", code, address="10.0.0.1").status == "active"
    db.commit()
    again = CliRunner().invoke(cli_app, ["account", "issue-code", "--uscc", subject.uscc or ""])
    assert again.exit_code == 1 and "无需激活码" in again.output
    approved = CliRunner().invoke(cli_app, ["account", "approve", "--uscc", other.uscc or ""])
    assert approved.exit_code == 0, approved.output
    db.expire_all()
    assert service.get_account(db, other.uscc or "").activated_by == "cli"


# ---------------------------------------------------------------- login

def test_pending_and_disabled_accounts_cannot_log_in(db: Session) -> None:
    subject = _firm(db, 11)
    account = service.register(db, _reg(subject))
    with pytest.raises(Forbidden, match="尚未激活"):
        service.authenticate(db, subject.uscc or "", PASSWORD, address="10.0.0.2")
    service.approve(db, account.id, actor="user:admin")
    assert service.authenticate(db, subject.uscc or "", PASSWORD, address="10.0.0.2").id == account.id
    service.set_disabled(db, account.id, True, actor="user:admin")
    with pytest.raises(Forbidden, match="已停用"):
        service.authenticate(db, subject.uscc or "", PASSWORD, address="10.0.0.2")


def test_login_is_throttled_per_account_and_failures_are_audited(db: Session) -> None:
    subject = _firm(db, 12)
    _active(db, subject)
    for i in range(throttle.PER_ACCOUNT.amount):
        with pytest.raises(Unauthorized):
            service.authenticate(db, subject.uscc or "", "wrong-password", address=f"10.1.0.{i}")
    db.commit()
    # from a fresh address, with the right password: the account waits
    with pytest.raises(throttle.Throttled, match="该账号"):
        service.authenticate(db, subject.uscc or "", PASSWORD, address="10.9.9.9")
    failures = db.scalars(select(AuditEvent).where(AuditEvent.action == "account.login_failed")).all()
    assert len(failures) == throttle.PER_ACCOUNT.amount


def test_login_is_throttled_per_address(db: Session) -> None:
    subject = _firm(db, 13)
    _active(db, subject)
    for i in range(throttle.PER_ADDRESS.amount):
        with pytest.raises(Unauthorized):  # many accounts tried from one address
            service.authenticate(db, make_uscc("91", "371402", f"AB{i:06d}"), "guess", address="10.2.0.1")
    with pytest.raises(throttle.Throttled, match="本机"):
        service.authenticate(db, subject.uscc or "", PASSWORD, address="10.2.0.1")
    assert service.authenticate(db, subject.uscc or "", PASSWORD, address="10.2.0.2").uscc == subject.uscc


# ---------------------------------------------------------------- over HTTP

def test_register_activate_log_in_and_out_over_the_pages(client: Any, db: Session) -> None:
    subject = _firm(db, 14)
    form = {"uscc": subject.uscc, "legal_rep_name": "张三", "legal_rep_id": OTHER_ID, "password": PASSWORD,
            "password2": PASSWORD}
    bad = client.post("/account/register", data=form, headers=HTML)
    assert bad.status_code == 422 and "不一致" in bad.text
    ok = client.post("/account/register", data={**form, "legal_rep_id": REP_ID}, headers=HTML)
    assert ok.status_code == 201 and "等待激活" in ok.text and REP_ID not in ok.text
    pending = client.post("/account/login", data={"uscc": subject.uscc, "password": PASSWORD}, headers=HTML)
    assert pending.status_code == 403 and "尚未激活" in pending.text
    db.expire_all()
    code = service.issue_code(db, subject.uscc or "", actor="user:admin")
    db.commit()
    assert client.post("/account/activate", data={"uscc": subject.uscc, "code": code}, headers=HTML).status_code == 200
    r = client.post("/account/login", data={"uscc": subject.uscc, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account"
    assert subject.name in client.get("/account", headers=HTML).text
    client.post("/account/logout", follow_redirects=False)
    gone = client.get("/account", headers=HTML, follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/account/login")


def test_an_account_sees_its_own_records_cases_and_checks_only(client: Any, db: Session) -> None:
    mine, theirs = _firm(db, 15), _firm(db, 16)
    _active(db, mine)
    _active(db, theirs)
    scjg = accounts.get_department(db, "SCJG")
    # a penalty out of publication (轻微: never public) for mine, a public one for theirs
    records.add_record(db, subject=mine, item_code="admin_penalty", dept_id=scjg.id, decision_no="德市监罚〔2026〕5号",
                       values={"subject_name": mine.name, "decision_no": "德市监罚〔2026〕5号", "penalty_type": "警告"},
                       decision_date=date(2026, 1, 5), severity="轻微")
    records.add_record(db, subject=theirs, item_code="admin_penalty", dept_id=scjg.id, decision_no="德市监罚〔2026〕6号",
                       values={"subject_name": theirs.name, "decision_no": "德市监罚〔2026〕6号", "penalty_type": "罚款"},
                       decision_date=date(2026, 1, 5), publish_from=date(2026, 1, 5), publish_until=date(2027, 1, 5))
    db.commit()
    checks.check_one(db, dept=scjg, subject=mine.uscc or "", matter="食品经营许可审批", matter_type="license")
    checks.check_one(db, dept=scjg, subject=theirs.uscc or "", matter="政府采购资格审查", matter_type="procurement")
    db.commit()
    assert client.post("/account/login", data={"uscc": mine.uscc, "password": PASSWORD},
                       follow_redirects=False).status_code == 303
    filed = client.post("/api/v1/complaints", json={"category": "其他", "target_name": theirs.name,
                                                   "content": "虚假宣传，夸大产品功效，已截图留存"})
    assert filed.status_code == 201, filed.text
    page = client.get("/account", headers=HTML).text
    assert filed.json()["case_no"] in page and "投诉举报" in page      # the complaint it filed
    assert "德市监罚〔2026〕5号" in page and "不公开" in page          # its own non-public record
    assert "食品经营许可审批" in page and "德州市市场监督管理局" in page  # who checked it, and for what
    assert "德市监罚〔2026〕6号" not in page and "政府采购资格审查" not in page and theirs.name not in page


def test_the_office_approves_or_issues_codes_in_admin(client: Any, db: Session) -> None:
    subject, other = _firm(db, 17), _firm(db, 18)
    first, second = service.register(db, _reg(subject)), service.register(db, _reg(other))
    accounts.add_department(db, "XYB", "德州市社会信用体系建设领导小组办公室", credit_office=True)
    accounts.create_user(db, "op", "operator-123", role="operator", dept_code="XYB")
    accounts.create_user(db, "clerk", "clerk-12345", role="dept", dept_code="SCJG")
    db.commit()
    client.post("/admin/login", data={"username": "clerk", "password": "clerk-12345"})
    assert client.get("/admin/accounts", headers=HTML).status_code == 403
    client.post("/admin/logout")
    client.post("/admin/login", data={"username": "op", "password": "operator-123"})
    page = client.get("/admin/accounts", headers=HTML)
    assert page.status_code == 200 and subject.name in page.text and "待激活" in page.text
    r = client.post(f"/admin/accounts/{first.id}/approve", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    shown = client.post(f"/admin/accounts/{second.id}/code", headers=HTML)
    assert shown.status_code == 200 and "只显示这一次" in shown.text
    db.expire_all()
    assert db.get(SubjectAccount, first.id).activated_by == "user:op"  # type: ignore[union-attr]
    assert db.get(SubjectAccount, second.id).activation_code_hash is not None  # type: ignore[union-attr]


def test_registration_guesses_are_throttled(db: Session) -> None:
    subject = _firm(db, 19)
    for i in range(throttle.PER_ACCOUNT.amount):
        with pytest.raises(Refused, match="不一致"):
            service.register(db, _reg(subject, legal_rep_name=f"猜测{i}"), address=f"10.3.0.{i}")
    with pytest.raises(throttle.Throttled):  # even the right facts wait now
        service.register(db, _reg(subject), address="10.3.1.1")
    assert db.scalar(select(SubjectAccount)) is None
