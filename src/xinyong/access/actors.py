"""The one typed description of who is calling: every request resolves to exactly one Actor."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xinyong.accounts.models import Department, SubjectAccount, User


class ActorKind(StrEnum):
    ANONYMOUS = "anonymous"
    SUBJECT = "subject"          # an organisation's own account (法人 / 非法人组织 account)
    DEPT_KEY = "dept_key"        # a department's API key
    DEPT_USER = "dept_user"      # a department's user of /admin
    OPERATOR = "operator"        # the credit office (信用办)
    AUDITOR = "auditor"          # reads the audit trail and statistics; never acts
    BANK = "bank"                # financial institutions (信易贷), later
    PARTNER = "partner"          # sharing partners and the upstream platform, later


ACTOR_LABELS = {
    ActorKind.ANONYMOUS: "公众（未登录）",
    ActorKind.SUBJECT: "主体账户",
    ActorKind.DEPT_KEY: "部门接口密钥",
    ActorKind.DEPT_USER: "部门用户",
    ActorKind.OPERATOR: "信用办",
    ActorKind.AUDITOR: "审计人员",
    ActorKind.BANK: "金融机构",
    ActorKind.PARTNER: "共享合作方",
}


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    # what audit events and logs name: "dept:SCJG", "user:admin", "account:9137…", "anonymous"
    label: str = "anonymous"
    dept_id: int | None = None
    dept_code: str | None = None
    user_id: int | None = None
    account_id: int | None = None
    subject_id: int | None = None
    # the credit office's department (operators, and department keys of the office itself)
    is_credit_office: bool = False
    # a bank's financial institution id or a sharing partner's id (ActorKind.BANK / ActorKind.PARTNER)
    party_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind in (ActorKind.DEPT_USER, ActorKind.OPERATOR, ActorKind.AUDITOR)


ANONYMOUS = Actor(ActorKind.ANONYMOUS)


def actor_for_dept(dept: Department) -> Actor:
    """A department's API key (and what a service given only a Department acts as)."""
    return Actor(ActorKind.DEPT_KEY, label=f"dept:{dept.code}", dept_id=dept.id, dept_code=dept.code,
                 is_credit_office=bool(dept.is_credit_office))


_ROLE_KINDS = {"operator": ActorKind.OPERATOR, "auditor": ActorKind.AUDITOR, "dept": ActorKind.DEPT_USER}


def role_kind(role: str) -> ActorKind:
    """The actor kind of a staff user's role; an unknown role acts as nobody more than a department user."""
    return _ROLE_KINDS.get(role, ActorKind.DEPT_USER)


def actor_for_user(user: User, dept: Department | None) -> Actor:
    kind = role_kind(user.role)
    return Actor(kind, label=f"user:{user.username}", dept_id=dept.id if dept else None,
                 dept_code=dept.code if dept else None, user_id=user.id,
                 is_credit_office=kind is ActorKind.OPERATOR or bool(dept is not None and dept.is_credit_office))


def actor_for_account(account: SubjectAccount) -> Actor:
    return Actor(ActorKind.SUBJECT, label=f"account:{account.uscc}", account_id=account.id,
                 subject_id=account.subject_id)
