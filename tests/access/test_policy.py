"""The policy table and the object-level functions, without a database."""

from __future__ import annotations

import pytest

from xinyong.access import policy
from xinyong.access.actors import ANONYMOUS, Actor, ActorKind
from xinyong.core.errors import Forbidden, Unauthorized

OFFICE_KEY = Actor(ActorKind.DEPT_KEY, "dept:XYB", dept_id=1, dept_code="XYB", is_credit_office=True)
SCJG_KEY = Actor(ActorKind.DEPT_KEY, "dept:SCJG", dept_id=2, dept_code="SCJG")
SW_KEY = Actor(ActorKind.DEPT_KEY, "dept:SW", dept_id=3, dept_code="SW")
SCJG_USER = Actor(ActorKind.DEPT_USER, "user:clerk", dept_id=2, user_id=5)
OPERATOR = Actor(ActorKind.OPERATOR, "user:office", dept_id=1, user_id=6, is_credit_office=True)
AUDITOR = Actor(ActorKind.AUDITOR, "user:auditor", user_id=7)
ACCOUNT = Actor(ActorKind.SUBJECT, "account:91371402MA0000000X", account_id=1, subject_id=42)
BANK = Actor(ActorKind.BANK, "bank:test")
# what an auditor may do: read (the audit trail, oversight, statistics and the monthly report, 问题数据)
# plus changing one's own password (session.password): own credentials, not platform data
AUDITOR_READS = {"admin.page", "admin.oversight", "audit.read", "session.password", "admin.quality.read",
                 "admin.stats.read", "admin.stats.report"}
AUDITOR_READS |= {"fi.stats"}  # 信易贷 statistics
# what banks may do besides the public actions: their own financing business (信易贷)
BANK_ACTIONS = {"fi.bank", "fi.bank.report"}


def test_auditors_are_allowed_only_reading_actions() -> None:
    allowed = {a.name for a in policy.ACTIONS.values() if ActorKind.AUDITOR in a.kinds}
    public = {a.name for a in policy.ACTIONS.values() if a.kinds == policy.EVERYONE}
    assert allowed - public == AUDITOR_READS
    for name in public:  # what everyone may do reads, looks up or logs in
        assert name.split(".")[1] in ("read", "login", "verify", "lookup", "eligibility"), name


def test_banks_and_partners_have_only_public_actions() -> None:
    for kind in (ActorKind.BANK, ActorKind.PARTNER):
        assert all(a.kinds == policy.EVERYONE or a.kinds == {kind} for a in policy.ACTIONS.values() if kind in a.kinds)
    partner_own = {a.name for a in policy.ACTIONS.values() if a.kinds == {ActorKind.PARTNER}}
    assert partner_own == {"partner.feed", "partner.export", "partner.inbound"}
    assert all(policy.ACTIONS[name].kinds == {ActorKind.BANK} for name in BANK_ACTIONS)


def test_every_action_names_its_purpose_in_chinese() -> None:
    for a in policy.ACTIONS.values():
        assert a.kinds and any("\u4e00" <= ch <= "\u9fff" for ch in a.label), a.name


def test_unknown_actions_fail_loudly() -> None:
    with pytest.raises(KeyError, match="ACTIONS"):
        policy.allowed(ANONYMOUS, "batch.delete")


def test_refusals_are_401_without_credentials_and_403_with_them() -> None:
    with pytest.raises(Unauthorized, match="API 密钥"):
        policy.require(ANONYMOUS, "batch.create")
    with pytest.raises(policy.LoginRequired) as page:
        policy.require(ANONYMOUS, "admin.objections.act")
    assert page.value.login == "/admin/login"
    with pytest.raises(Forbidden, match="审计人员只能查阅，不能办理异议"):
        policy.require(AUDITOR, "admin.objections.act")
    with pytest.raises(Forbidden, match=r"^部门用户无权重新投递失败的事件；请使用信用办工作人员账号办理"):
        policy.require(SCJG_USER, "admin.outbox.retry")
    assert policy.require(OPERATOR, "admin.outbox.retry") is OPERATOR


def test_list_entries_before_publication_belong_to_their_initiator_and_the_office() -> None:
    for state in ("proposed", "notified", "revoked"):
        assert policy.may_read_list_entry(SCJG_KEY, initiator_dept_id=2, state=state)
        assert policy.may_read_list_entry(SCJG_USER, initiator_dept_id=2, state=state)
        assert policy.may_read_list_entry(OFFICE_KEY, initiator_dept_id=2, state=state)
        assert policy.may_read_list_entry(OPERATOR, initiator_dept_id=2, state=state)
        assert not policy.may_read_list_entry(SW_KEY, initiator_dept_id=2, state=state)
    for state in ("published", "suspended", "exited"):
        assert policy.may_read_list_entry(SW_KEY, initiator_dept_id=2, state=state)
    for who in (ANONYMOUS, ACCOUNT, AUDITOR, BANK):
        assert not policy.may_read_list_entry(who, initiator_dept_id=2, state="published")


@pytest.mark.parametrize("check", [policy.may_read_task, policy.may_read_batch, policy.may_read_check_batch])
def test_department_objects_are_read_by_their_department_and_the_office(check) -> None:  # type: ignore[no-untyped-def]
    assert check(SCJG_KEY, dept_id=2) and check(SCJG_USER, dept_id=2)
    assert check(OFFICE_KEY, dept_id=2) and check(OPERATOR, dept_id=2)
    for who in (SW_KEY, ANONYMOUS, ACCOUNT, AUDITOR, BANK):
        assert not check(who, dept_id=2)


def test_webhooks_are_managed_only_by_their_own_department() -> None:
    assert policy.may_manage_webhook(SCJG_KEY, dept_id=2)
    for who in (SW_KEY, OFFICE_KEY, OPERATOR, ANONYMOUS, AUDITOR):
        assert not policy.may_manage_webhook(who, dept_id=2)


def test_records_outside_the_public_projection() -> None:
    def may(actor: Actor, *, public: bool = False, shared: bool = False) -> bool:
        return policy.may_read_record(actor, dept_id=2, subject_id=42, public=public, shared=shared)

    for who in (ANONYMOUS, ACCOUNT, SW_KEY, AUDITOR, BANK):
        assert may(who, public=True)
    assert not may(ANONYMOUS, shared=True) and not may(BANK, shared=True) and not may(AUDITOR, shared=True)
    assert may(ACCOUNT)                                  # its own record
    assert not may(Actor(ActorKind.SUBJECT, "account:x", subject_id=43))
    assert may(SW_KEY, shared=True) and not may(SW_KEY)  # shared among departments, or not at all
    assert may(SCJG_KEY) and may(SCJG_USER)              # its provider
    assert may(OFFICE_KEY) and may(OPERATOR)


def test_cases_are_handled_by_the_departments_involved() -> None:
    assert policy.may_handle_case(SCJG_KEY, dept_ids={2})
    assert policy.may_handle_case(OPERATOR, dept_ids={2})
    assert not policy.may_handle_case(SW_KEY, dept_ids={2})
    assert not policy.may_handle_case(AUDITOR, dept_ids={2})
