"""Who may file a due-process case (objection, repair application, commitment) in a subject's name.

An organisation speaks through its own account (法人 / 非法人组织 account), or through the credit office's counter
(窗口代办: an operator files it and the case records who did); a commitment may also be entered by the department
that accepts it. Natural persons have no accounts: their existing paths (the public form, the counter) stay open.
The rule is pure: it takes the Actor and plain facts, and says how the case is recorded as filed, or refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from xinyong.access.actors import Actor, ActorKind
from xinyong.core.errors import Forbidden, Unauthorized


class FiledVia(StrEnum):
    PUBLIC = "public"          # a natural person's own filing on the public form or API
    ACCOUNT = "account"        # the organisation's own account
    COUNTER = "counter"        # 窗口代办: the credit office filed it for the applicant
    DEPARTMENT = "department"  # a commitment entered by the department that accepts it


FILED_VIA_LABELS = {
    FiledVia.PUBLIC: "申请人本人提交",
    FiledVia.ACCOUNT: "主体账户提交",
    FiledVia.COUNTER: "信用办窗口代办",
    FiledVia.DEPARTMENT: "受理部门录入",
}

ORGANISATION_KINDS = frozenset({"legal_person", "individual_business", "other_org"})


@dataclass(frozen=True, slots=True)
class Filing:
    via: FiledVia
    by: str                  # the actor's label: "account:9137…", "user:admin", "dept:SCJG", "anonymous"
    account_id: int | None   # the filing account, when an organisation filed through its own account

    @property
    def label(self) -> str:
        return FILED_VIA_LABELS[self.via]

    @property
    def timeline_actor(self) -> str:
        """How the case's timeline names the filer (the applicant sees it)."""
        if self.via is FiledVia.COUNTER:
            return "信用办窗口代办"
        if self.via is FiledVia.DEPARTMENT:
            return "受理部门录入"
        return "申请人"


def filer_note(actor: Actor) -> str:
    """What a filing form tells its visitor about the capacity they file in (shown above the form)."""
    if actor.kind is ActorKind.SUBJECT:
        return f"您正以本单位主体账户（{actor.label.removeprefix('account:')}）提交，只能办理本单位的事项。"
    if _counter(actor):
        return f"窗口代办：本申请将记录为信用办窗口代办（{actor.label}），请核验申请人的身份证明和授权委托书。"
    return ("以单位名义提交须先登录本单位的主体账户（/account/login；没有账户请先注册），或到信用办窗口代办；"
            "自然人可直接提交。")


def subject_code_of(actor: Actor) -> str:
    """The unified code an organisation's account files under (prefilled on its forms), else ''."""
    return actor.label.removeprefix("account:") if actor.kind is ActorKind.SUBJECT else ""


def _counter(actor: Actor) -> bool:
    return actor.is_credit_office and actor.kind in (ActorKind.OPERATOR, ActorKind.DEPT_USER, ActorKind.DEPT_KEY)


def filing_for(actor: Actor, *, what: str, subject_kind: str, subject_id: int,
               acceptor_dept_id: int | None = None) -> Filing:
    """How a case `what` (e.g. "异议") about subject `subject_id` filed by `actor` is recorded, or a refusal in Chinese.

    `acceptor_dept_id`: for commitments, the department that accepts it (it may enter the commitment itself)."""
    if actor.kind is ActorKind.AUDITOR:
        raise Forbidden("审计人员只能查看，不能代为提交申请")
    if subject_kind not in ORGANISATION_KINDS:
        if actor.kind is ActorKind.SUBJECT:
            raise Forbidden(f"您登录的是单位主体账户，只能以本单位名义提出{what}；自然人请退出账户后以个人身份提交，"
                            "或到信用办窗口办理")
        if _counter(actor):
            return Filing(FiledVia.COUNTER, actor.label, None)
        if actor.kind in (ActorKind.ANONYMOUS, ActorKind.DEPT_KEY, ActorKind.DEPT_USER, ActorKind.OPERATOR):
            return Filing(FiledVia.PUBLIC, actor.label, None)
        raise Forbidden(f"您的身份不能提出{what}")
    if actor.kind is ActorKind.SUBJECT:
        if actor.subject_id != subject_id or actor.account_id is None:
            raise Forbidden(f"您登录的主体账户属于其他单位，只能以本单位名义提出{what}；"
                            "如受其他单位委托，请由该单位登录其账户办理，或到信用办窗口代办")
        return Filing(FiledVia.ACCOUNT, actor.label, actor.account_id)
    if acceptor_dept_id is not None and actor.dept_id == acceptor_dept_id and actor.kind in (
            ActorKind.DEPT_KEY, ActorKind.DEPT_USER, ActorKind.OPERATOR):
        return Filing(FiledVia.DEPARTMENT, actor.label, None)
    if _counter(actor):
        return Filing(FiledVia.COUNTER, actor.label, None)
    if actor.kind is ActorKind.ANONYMOUS:
        raise Unauthorized(f"以单位名义提出{what}，须由该单位登录本单位的主体账户办理（没有账户请先在 /account/register "
                           "注册，由信用办发放激活码后登录）；也可携带营业执照副本和授权委托书到信用办窗口代办")
    raise Forbidden(f"以单位名义提出{what}，须由该单位的主体账户办理或到信用办窗口代办"
                    + ("；承诺也可由受理该承诺的部门录入" if acceptor_dept_id is not None else ""))
