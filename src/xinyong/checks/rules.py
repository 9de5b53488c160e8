"""How a credit check classifies a subject. Pure functions, no I/O.

A department sees one of four results:
- dishonest: the subject is on a published black (serious dishonesty) list, or on the court's list of
  dishonest judgment debtors (失信被执行人) in force and not under objection;
- attention: records in force that a department should weigh: penalties inside their window, an entry in
  the business-abnormal directory, a recent D tax-credit rating, a suspended black-list entry, or a
  失信被执行人 record under objection (while an objection is reviewed its measures are suspended, so the
  subject is not treated as dishonest, but the department is told);
- clean: found, nothing of the above;
- not_found: no subject, or no unique one (see checks/service.py for ambiguous names).
Red lists and honours never change the result: they are shown, not weighed against the subject.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

Result = Literal["clean", "attention", "dishonest", "not_found"]
RESULT_LABELS: Final[dict[str, str]] = {
    "clean": "未发现失信信息",
    "attention": "需关注",
    "dishonest": "严重失信",
    "not_found": "未找到主体",
    "ambiguous": "名称对应多个主体",
    "invalid": "查询内容无效",
}

MATTER_TYPES: Final[dict[str, str]] = {
    "license": "行政许可",
    "procurement": "政府采购与招标投标",
    "subsidy": "财政资金与补贴",
    "hiring": "招录聘用",
    "honour": "评先评优",
    "other": "其他",
}

# Court list imported as records; the platform does not decide it.
DISHONEST_ITEMS: Final = frozenset({"dishonest_judgment_debtor"})
# Records in force that a department should weigh.
ATTENTION_ITEMS: Final = frozenset({"admin_penalty", "business_abnormal"})
RATED_ITEMS: Final = frozenset({"tax_credit_rating"})
ATTENTION_GRADES: Final = frozenset({"D"})
# A tax-credit rating is annual: a D rating older than this has been replaced by a newer one.
RATING_FRESH_DAYS: Final = 400
LIVE_STATES: Final = frozenset({"active", "objection"})
# Items whose in-force records can change a result; the batch path loads only these.
WEIGHED_ITEMS: Final = DISHONEST_ITEMS | ATTENTION_ITEMS | RATED_ITEMS

ITEM_REASONS: Final[dict[str, str]] = {
    "dishonest_judgment_debtor": "被人民法院列为失信被执行人",
    "admin_penalty": "有公示期内的行政处罚",
    "business_abnormal": "被列入经营异常名录",
    "tax_credit_rating": "纳税信用评价为D级",
}


@dataclass(frozen=True)
class RecordFact:
    item_code: str
    state: str
    publish_from: date | None = None
    publish_until: date | None = None
    decision_date: date | None = None
    grade: str | None = None  # e.g. the tax-credit rating


@dataclass(frozen=True)
class ListFact:
    kind: str    # "black" | "red"
    state: str   # proposed | notified | published | suspended | exited | revoked
    name: str = ""


@dataclass(frozen=True)
class Verdict:
    result: Result
    reasons: tuple[str, ...]


def check_matter_type(value: str) -> str | None:
    """None when the matter type is allowed, else a Chinese reason."""
    if value in MATTER_TYPES:
        return None
    allowed = "、".join(f"{k}（{v}）" for k, v in MATTER_TYPES.items())
    shown = value[:40] + ("…" if len(value) > 40 else "")
    return f"核查事项类型「{shown}」无效，应为以下之一：{allowed}"


def in_force(fact: RecordFact, today: date) -> bool:
    if fact.state not in LIVE_STATES:
        return False
    # publish_until is exclusive; a department weighs a record until then (as records.rules.visible)
    return fact.publish_until is None or today < fact.publish_until


def _weighs(fact: RecordFact, today: date) -> bool:
    if fact.item_code in ATTENTION_ITEMS or fact.item_code in DISHONEST_ITEMS:
        return True
    if fact.item_code in RATED_ITEMS and fact.grade in ATTENTION_GRADES:
        return fact.decision_date is None or today - fact.decision_date <= timedelta(days=RATING_FRESH_DAYS)
    return False


def classify(found: bool, records: Iterable[RecordFact], lists: Iterable[ListFact], today: date) -> Verdict:
    if not found:
        return Verdict("not_found", ())
    dishonest: list[str] = []
    attention: list[str] = []
    for entry in lists:
        if entry.kind != "black":
            continue
        label = f"「{entry.name}」" if entry.name else ""
        if entry.state == "published":
            dishonest.append(f"被列入严重失信主体名单{label}")
        elif entry.state == "suspended":
            attention.append(f"严重失信主体名单{label}列入因异议暂停")
    for fact in records:
        if not in_force(fact, today) or not _weighs(fact, today):
            continue
        reason = ITEM_REASONS.get(fact.item_code, fact.item_code)
        if fact.item_code in DISHONEST_ITEMS:
            if fact.state == "objection":
                attention.append(reason + "（异议处理中，相关措施暂停）")
            else:
                dishonest.append(reason)
        else:
            attention.append(reason + ("（异议处理中）" if fact.state == "objection" else ""))
    if dishonest:
        return Verdict("dishonest", _unique(dishonest + attention))
    if attention:
        return Verdict("attention", _unique(attention))
    return Verdict("clean", ())


def _unique(reasons: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(reasons))

