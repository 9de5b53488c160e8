"""信易贷 rules: the life of a need (a pure state machine), SLA stages in working days, amount checks.

A need is posted for eligible banks to claim (抢单) or sent to one chosen product's bank. Feedback is mandatory
and structured:

    posted --claim--> accepted        sent --accept--> accepted
    accepted --contact (first contact with the firm, once)--> accepted
    accepted --grant (amount, rate, term)--> granted
    accepted --refuse (reasons from REFUSAL_REASONS + text)--> refused
    granted --disburse (amount, date)--> disbursed
    granted --withdraw--> withdrawn
    posted | sent --cancel (the firm)--> cancelled

No stage may be skipped, and every action but `cancel` belongs to the need's bank.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Final

STATES: Final = ("posted", "sent", "accepted", "granted", "refused", "disbursed", "withdrawn", "cancelled")
STATE_LABELS: Final = {"posted": "待接单", "sent": "已推送待受理", "accepted": "已受理", "granted": "已授信",
                       "refused": "已拒绝", "disbursed": "已放款", "withdrawn": "已撤回（未放款）",
                       "cancelled": "企业已取消"}
FINAL_STATES: Final = frozenset({"refused", "disbursed", "withdrawn", "cancelled"})
ACTIONS: Final = ("claim", "accept", "contact", "grant", "refuse", "disburse", "withdraw", "cancel")
ACTION_LABELS: Final = {"claim": "接单", "accept": "受理", "contact": "首次联系企业", "grant": "授信", "refuse": "拒绝", "disburse": "放款",
                        "withdraw": "撤回", "cancel": "取消", "post": "发布需求", "send": "推送产品"}
TRANSITIONS: Final[Mapping[tuple[str, str], str]] = {
    ("posted", "claim"): "accepted",
    ("sent", "accept"): "accepted",
    ("accepted", "contact"): "accepted",
    ("accepted", "grant"): "granted",
    ("accepted", "refuse"): "refused",
    ("granted", "disburse"): "disbursed",
    ("granted", "withdraw"): "withdrawn",
    ("posted", "cancel"): "cancelled",
    ("sent", "cancel"): "cancelled",
}
BANK_ACTIONS: Final = frozenset({"claim", "accept", "contact", "grant", "refuse", "disburse", "withdraw"})
FIRM_ACTIONS: Final = frozenset({"cancel"})

REFUSAL_REASONS: Final = {
    "credit": "信用状况不符合要求",
    "repayment": "还款能力不足",
    "collateral": "担保或抵押不足",
    "materials": "材料不全且未补正",
    "scope": "不属于产品服务范围",
    "unreachable": "无法联系企业",
    "declined_by_firm": "企业放弃申请",
    "other": "其他原因",
}
GUARANTEES: Final = {"credit": "信用", "mortgage": "抵押", "guarantee": "担保", "pledge": "质押"}
ROLES: Final = {"product_manager": "产品经理", "loan_officer": "信贷员"}
INSTITUTION_KINDS: Final = {"bank": "银行", "guarantee": "融资担保公司", "microloan": "小额贷款公司"}
PURPOSES: Final = {"need": "办理本次融资需求", "monitoring": "贷后监测"}

# SLA per stage in working days: the stage, the state it runs in, the limit. Configurable (set_sla).
DEFAULT_SLA: Final = {"claim": 2, "contact": 1, "decision": 3, "disbursement": 5}
STAGE_OF_STATE: Final = {"posted": "claim", "sent": "claim", "accepted": "decision", "granted": "disbursement"}
STAGE_LABELS: Final = {"claim": "接单", "contact": "首次联系", "decision": "授信决定", "disbursement": "放款"}

MAX_AMOUNT: Final = 10_000_000_000  # 100 亿元: beyond any small-firm loan
MAX_TERM: Final = 360                # months


class RuleError(ValueError):
    """A refused step; the message is Chinese and says what to do instead."""


def next_state(state: str, action: str) -> str:
    """The state after `action`, or RuleError naming what may happen now."""
    if action not in ACTIONS:
        raise RuleError(f"未知的操作“{action}”；可用的操作：{'、'.join(ACTIONS)}")
    target = TRANSITIONS.get((state, action))
    if target is None:
        allowed = [ACTION_LABELS[a] for (s, a) in TRANSITIONS if s == state]
        now = STATE_LABELS.get(state, state)
        if allowed:
            raise RuleError(f"需求当前为“{now}”，不能{ACTION_LABELS[action]}；现在只能：{'、'.join(allowed)}")
        raise RuleError(f"需求当前为“{now}”，办理已结束，不能再{ACTION_LABELS[action]}")
    return target


def check_amount(amount: object, *, label: str = "金额") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise RuleError(f"{label}须为整数（元）")
    if amount <= 0:
        raise RuleError(f"{label}须大于 0 元")
    if amount > MAX_AMOUNT:
        raise RuleError(f"{label}不能超过 {MAX_AMOUNT} 元")
    return amount


def check_term(term: object) -> int:
    if isinstance(term, bool) or not isinstance(term, int) or not 1 <= term <= MAX_TERM:
        raise RuleError(f"期限须为 1 至 {MAX_TERM} 个月的整数")
    return term


def check_in_range(value: float, low: float, high: float, label: str, unit: str) -> None:
    if not low <= value <= high:
        raise RuleError(f"{label} {value:g}{unit} 超出产品范围（{low:g}{unit} 至 {high:g}{unit}），请按产品范围填写")


def check_product_ranges(min_amount: int, max_amount: int, min_term: int, max_term: int, min_rate: float,
                         max_rate: float, guarantee: str) -> None:
    check_amount(min_amount, label="最低额度")
    check_amount(max_amount, label="最高额度")
    if min_amount > max_amount:
        raise RuleError("最低额度不能高于最高额度")
    check_term(min_term)
    check_term(max_term)
    if min_term > max_term:
        raise RuleError("最短期限不能长于最长期限")
    if not 0 < min_rate <= max_rate <= 36:
        raise RuleError("年利率须在 0 至 36% 之间，且最低不高于最高")
    if guarantee not in GUARANTEES:
        raise RuleError(f"担保方式须为：{'、'.join(f'{k}（{v}）' for k, v in GUARANTEES.items())}")


def check_refusal(reasons: list[str], text: str) -> None:
    if not reasons:
        raise RuleError("拒绝须选择至少一项原因")
    unknown = [r for r in reasons if r not in REFUSAL_REASONS]
    if unknown:
        raise RuleError(f"未知的拒绝原因：{'、'.join(unknown)}；可选：{'、'.join(REFUSAL_REASONS)}")
    if not text.strip():
        raise RuleError("拒绝须填写说明，告诉企业原因和改进方向")


def stage_of(state: str, contacted: bool = True) -> str | None:
    """The SLA stage a need in this state is in: an accepted need waits for its first contact, then a decision."""
    if state == "accepted" and not contacted:
        return "contact"
    return STAGE_OF_STATE.get(state)


def stage_started(state: str, posted_on: date, accepted_on: date | None, decided_on: date | None,
                  contacted_on: date | None = None, *, contacted: bool = True) -> date | None:
    stage = stage_of(state, contacted)
    if stage == "claim":
        return posted_on
    if stage == "contact":
        return accepted_on
    if stage == "decision":
        return contacted_on or accepted_on
    if stage == "disbursement":
        return decided_on
    return None


def overdue(state: str, started: date | None, today: date, sla: Mapping[str, int],
            working_days_between: Callable[[date, date], int], *, contacted: bool = True) -> str | None:
    """The stage that is past its limit today (working days since it started), else None."""
    stage = stage_of(state, contacted)
    if stage is None or started is None:
        return None
    limit = sla.get(stage, DEFAULT_SLA[stage])
    return stage if working_days_between(started, today) > limit else None


def check_grant_scope(items: list[str], known: frozenset[str]) -> list[str]:
    if not items:
        raise RuleError("授权范围须至少包括一个信用信息项目")
    unknown = sorted(set(items) - known)
    if unknown:
        raise RuleError(f"授权范围中有未知的信用信息项目：{'、'.join(unknown)}；请从目录中选择")
    return sorted(set(items))


def grant_in_force(granted_on: date, expires_on: date, revoked_on: date | None, today: date) -> str | None:
    """None when the grant is in force today, else why not (Chinese)."""
    if revoked_on is not None:
        return f"企业已于 {revoked_on.isoformat()} 撤销授权"
    if today > expires_on:
        return f"授权已于 {expires_on.isoformat()} 到期"
    if today < granted_on:
        return "授权尚未生效"
    return None
