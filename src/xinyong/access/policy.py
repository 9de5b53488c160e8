"""Who may do what: one table of actions → the actor kinds that may do them, and small pure functions that
answer "may this actor act on this object".

Every route declares one action of ACTIONS (access/deps.py: `Allow`, `AllowDept`, `AllowUser`, or `declare` for
the hot check path); tests/access walks every route for every actor kind against this table. The object-level
functions take plain facts (ids, states), not ORM rows of the domains above `access`, so that any service can
consult them without an import cycle.

Roles mean something:
- the public (anonymous) reads what is public and files cases in its own capacity;
- an organisation's own account (subject) does the same, plus what is about itself;
- a department key is its department's API caller; a department user acts for its own department in /admin;
- the credit office operator runs the platform;
- an auditor reads (the dashboard, oversight statistics, the audit trail) and never acts;
- banks and partners have no routes yet: everything not public refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from xinyong.access.actors import ACTOR_LABELS, Actor, ActorKind
from xinyong.core.errors import Forbidden, Unauthorized

A, S, K, U, OP, R, B, P = (ActorKind.ANONYMOUS, ActorKind.SUBJECT, ActorKind.DEPT_KEY, ActorKind.DEPT_USER,
                          ActorKind.OPERATOR, ActorKind.AUDITOR, ActorKind.BANK, ActorKind.PARTNER)

EVERYONE = frozenset(ActorKind)
# Filing or following up a case in one's own capacity (objection, repair, complaint, commitment): anyone who may
# act; auditors never act, banks and partners have no such role yet.
FILERS = frozenset({A, S, K, U, OP})
DEPT_API = frozenset({K})
STAFF = frozenset({U, OP})               # department users and the credit office in /admin
STAFF_READ = frozenset({U, OP, R})       # ... and auditors, where the page only reads
OFFICE = frozenset({OP})
AUDIT = frozenset({OP, R})


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    label: str                   # Chinese: what the actor was trying to do ("查看批次")
    kinds: frozenset[ActorKind]
    # where an anonymous visitor of a page is sent to log in (API callers get 401 instead)
    login: str = "/admin/login"


def _table(*actions: Action) -> dict[str, Action]:
    return {a.name: a for a in actions}


ACTIONS: dict[str, Action] = _table(
    # ---- the public: portal, public API reads, documentation, health
    Action("public.read", "查看公开信息", EVERYONE),
    Action("session.login", "登录或退出", EVERYONE),
    Action("report.read", "查看或下载信用报告", EVERYONE),
    Action("report.verify", "验证信用报告", EVERYONE),
    # ---- due process in one's own capacity (the subject-account engineer narrows who may file)
    Action("objection.file", "提出异议", FILERS),
    Action("objection.lookup", "查询异议办理情况", EVERYONE),
    Action("objection.withdraw", "撤回异议", FILERS),
    Action("repair.eligibility", "查看信用修复条件", EVERYONE),
    Action("repair.apply", "申请信用修复", FILERS),
    Action("repair.lookup", "查询修复申请办理情况", EVERYONE),
    Action("repair.withdraw", "撤回修复申请", FILERS),
    Action("complaint.file", "投诉举报", FILERS),
    Action("complaint.lookup", "查询投诉举报办理情况", EVERYONE),
    Action("commitment.sign", "签署信用承诺", FILERS),
    Action("commitment.read", "查看信用承诺", EVERYONE),
    # ---- organisations' own accounts (法人和非法人组织): register and activate, the firm's own page
    Action("account.register", "注册或激活主体账户", frozenset({A, S})),
    Action("account.read", "查看本单位的信用信息", frozenset({S}), login="/account/login"),
    # ---- a department's API (its key)
    Action("batch.create", "报送数据批次", DEPT_API),
    Action("batch.read", "查看数据批次及退回明细", DEPT_API),
    Action("check.run", "信用核查", DEPT_API),
    Action("check.read", "下载批量核查结果", DEPT_API),
    Action("check.stats", "查看核查统计", DEPT_API),
    Action("report.person", "查询自然人信用报告", DEPT_API),
    Action("list_entry.create", "提出名单列入", DEPT_API),
    Action("list_entry.update", "办理名单（告知、公示、移出）", DEPT_API),
    Action("list_entry.read", "查看名单信息", DEPT_API),
    Action("task.read", "查看联合奖惩任务", DEPT_API),
    Action("task.feedback", "反馈联合奖惩任务", DEPT_API),
    Action("webhook.read", "查看事件接收地址", DEPT_API),
    Action("webhook.manage", "登记或停用事件接收地址", DEPT_API),
    Action("stats.read", "查看联合奖惩统计", DEPT_API),
    Action("objection.list", "查看本部门的异议", DEPT_API),
    Action("objection.decide", "办理异议（受理、转办、答复、决定）", DEPT_API),
    Action("repair.list", "查看本部门的修复申请", DEPT_API),
    Action("repair.decide", "决定信用修复", DEPT_API),
    Action("commitment.outcome", "登记承诺履约情况", DEPT_API),
    Action("complaint.list", "查看本部门承办的投诉举报", DEPT_API),
    Action("complaint.handle", "办理投诉举报", DEPT_API),
    # ---- /admin
    Action("admin.page", "查看管理后台", STAFF_READ),
    # one's own credentials, not the platform's data: every staff role, auditors included
    Action("session.password", "修改本人密码", STAFF_READ),
    Action("admin.oversight", "查看联合奖惩监督统计", STAFF_READ),
    Action("audit.read", "查阅审计日志", AUDIT),
    Action("admin.checks", "在管理后台办理信用核查", STAFF),
    Action("admin.lists.read", "查看本部门的名单", STAFF),
    Action("admin.lists.act", "在管理后台办理名单", STAFF),
    Action("admin.tasks.read", "查看本部门的奖惩任务", STAFF),
    Action("admin.tasks.act", "反馈奖惩任务", STAFF),
    Action("admin.outbox.retry", "重新投递失败的事件", OFFICE),
    Action("admin.objections.read", "查看异议案件", STAFF),
    Action("admin.objections.act", "办理异议", STAFF),
    Action("admin.repair.read", "查看修复申请", STAFF),
    Action("admin.repair.act", "决定信用修复", STAFF),
    Action("admin.complaints.read", "查看投诉举报", STAFF),
    Action("admin.complaints.act", "办理投诉举报", STAFF),
    Action("admin.commitments.read", "查看承诺履约", STAFF),
    Action("admin.commitments.act", "登记承诺履约情况", STAFF),
    Action("account.manage", "审核主体账户或发放激活码", OFFICE),
    # ---- evaluation (公共信用综合评价)
    Action("evaluation.models", "查看评价模型", frozenset({S, K, U, OP})),
    Action("evaluation.subject", "查看主体的评价结果", frozenset({S, K})),
    Action("admin.evaluation.read", "查看公共信用综合评价", STAFF),
    Action("admin.evaluation.run", "运行评价", OFFICE),
    #
    # ---- supervision (分级分类监管, 双随机, 诚信约谈)
    Action("inspection.read", "查看本部门的抽查计划、抽取结果和检查人员名录", DEPT_API),
    Action("inspection.act", "维护检查人员名录、制定抽查计划、抽取和登记检查结果", DEPT_API),
    Action("interview.read", "查看本部门的诚信约谈", DEPT_API),
    Action("interview.act", "安排或登记诚信约谈", DEPT_API),
    Action("admin.inspections.read", "查看双随机抽查", STAFF),
    Action("admin.inspections.act", "办理双随机抽查", STAFF),
    Action("admin.interviews.read", "查看诚信约谈", STAFF),
    Action("admin.interviews.act", "办理诚信约谈", STAFF),
    #
    # ---- exchange upstream (上报省平台, 死信重放)
    Action("exchange.rejections", "查看被上级平台退回的本部门数据", DEPT_API),
    Action("exchange.resend", "改正后重新报送被退回的数据", DEPT_API),
    Action("admin.exchange.read", "查看数据交换（上报）状态", OFFICE),
    Action("admin.exchange.replay", "重放死信、重新报送", OFFICE),
    Action("admin.exchange.rejections", "查看并重新报送本部门被退回的数据", STAFF),
    #
    # ---- sharing partners, inbound, change feed, exports
    Action("partner.feed", "读取共享变更订阅", frozenset({P})),
    Action("partner.export", "下载共享数据快照", frozenset({P})),
    Action("partner.inbound", "上级平台下发名单或数据", frozenset({P})),
    Action("admin.partners.read", "查看共享合作方及读取记录", OFFICE),
    Action("admin.partners.manage", "登记或吊销共享合作方", OFFICE),
    #
    # ---- financing (信易贷)
    Action("fi.firm", "办理本企业的融资需求和授权", frozenset({S}), login="/account/login"),
    Action("fi.bank", "办理金融机构的信易贷业务（产品、接单、反馈）", frozenset({B}), login="/bank/login"),
    Action("fi.bank.report", "查看企业授权的信用报告", frozenset({B}), login="/bank/login"),
    Action("fi.manage", "管理金融机构、用户和密钥", OFFICE),
    Action("fi.stats", "查看信易贷统计", AUDIT),
    #
    # ---- statistics and data quality (监测统计, 问题数据)
    Action("admin.stats.read", "查看监测统计", STAFF_READ),
    Action("admin.stats.report", "下载监测月报", AUDIT),
    Action("admin.quality.read", "查看问题数据", STAFF_READ),
    Action("admin.quality.act", "办理问题数据（整改通知、情况说明）", STAFF),
    Action("quality.list", "查询本部门的问题数据", DEPT_API),
    #
)


def action(name: str) -> Action:
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"unknown action {name!r}: add it to xinyong.access.policy.ACTIONS") from None


def allowed(actor: Actor, name: str) -> bool:
    return actor.kind in action(name).kinds


class LoginRequired(Unauthorized):
    """An anonymous visitor of a page that needs a login: the web layer redirects pages to `login` and answers
    API calls with 401."""

    def __init__(self, detail: str, *, login: str = "/admin/login") -> None:
        super().__init__(detail)
        self.login = login


def _hint(act: Action) -> str:
    if act.kinds == DEPT_API:
        return "请使用本部门的 API 密钥（Authorization: Bearer <密钥>）调用"
    if act.kinds <= OFFICE:
        return "请使用信用办工作人员账号办理"
    if act.kinds <= STAFF_READ:
        return "请使用部门或信用办工作人员账号登录管理后台"
    return "请联系信用办开通相应权限"


def refusal(actor: Actor, name: str) -> Unauthorized | Forbidden:
    """The error for an actor refused an action: 401 without credentials, 403 with them; in Chinese."""
    act = action(name)
    if actor.kind is ActorKind.ANONYMOUS:
        if act.kinds == DEPT_API:
            return Unauthorized(f"{act.label}须提供 API 密钥：请在请求头中提供 Authorization: Bearer <密钥>")
        return LoginRequired(f"{act.label}须先登录：{_hint(act)}", login=act.login)
    if actor.kind is ActorKind.AUDITOR:
        return Forbidden(f"审计人员只能查阅，不能{act.label}；{_hint(act)}")
    return Forbidden(f"{ACTOR_LABELS[actor.kind]}无权{act.label}；{_hint(act)}")


def require(actor: Actor, name: str) -> Actor:
    if actor.kind not in action(name).kinds:
        raise refusal(actor, name)
    return actor


# ---------------------------------------------------------------- object-level checks (pure)

def runs_platform(actor: Actor) -> bool:
    """The credit office: its operators, and its own department's key or users."""
    return actor.kind is ActorKind.OPERATOR or (actor.kind in (K, U) and actor.is_credit_office)


def of_department(actor: Actor, dept_id: int | None) -> bool:
    """Acts for this department (a key or a user of it), or runs the platform."""
    if runs_platform(actor):
        return True
    return actor.kind in (K, U) and actor.dept_id is not None and actor.dept_id == dept_id


LIST_PUBLISHED_STATES = frozenset({"published", "suspended", "exited"})


def may_read_list_entry(actor: Actor, *, initiator_dept_id: int, state: str) -> bool:
    """A department reads its own entries at every stage and others' once published (implementing departments
    need them); an entry not yet published is its initiator's and the office's alone."""
    if of_department(actor, initiator_dept_id):
        return True
    return actor.kind in (K, U) and state in LIST_PUBLISHED_STATES


def may_read_task(actor: Actor, *, dept_id: int) -> bool:
    return of_department(actor, dept_id)


def may_manage_webhook(actor: Actor, *, dept_id: int) -> bool:
    """A department's event receivers are its own (the office does not manage them for it)."""
    return actor.kind in (K, U) and actor.dept_id == dept_id


def may_read_batch(actor: Actor, *, dept_id: int) -> bool:
    return of_department(actor, dept_id)


def may_read_check_batch(actor: Actor, *, dept_id: int) -> bool:
    return of_department(actor, dept_id)


def may_read_record(actor: Actor, *, dept_id: int, subject_id: int, public: bool, shared: bool) -> bool:
    """`public`: inside the public projection (published, public disclosure, in its window) today;
    `shared`: visible to departments today. The public sees the projection only; an organisation's account also
    sees its own records; departments see what is shared and what they provided; the office sees all."""
    if public or runs_platform(actor):
        return True
    if actor.kind is ActorKind.SUBJECT:
        return actor.subject_id is not None and actor.subject_id == subject_id
    if actor.kind in (K, U):
        return shared or actor.dept_id == dept_id
    return False


def may_handle_case(actor: Actor, *, dept_ids: set[int]) -> bool:
    """A case (objection, repair, complaint) is handled by the departments involved in it and the office."""
    if runs_platform(actor):
        return True
    return actor.kind in (K, U) and actor.dept_id in dept_ids
