"""The small rule language configuration uses for conditions over a subject's credit facts.

One language serves every place a city writes a condition in YAML: evaluation models' overrides (直接判级),
financing products' eligibility rules, and whatever later needs "is this subject …". A condition is a tree:

    all: [cond, …]        every one holds
    any: [cond, …]        at least one holds
    not: cond             the condition does not hold
    {fact: NAME, OP: VALUE}   a leaf, OP one of eq, ne, lt, lte, gt, gte, in, not_in

e.g. ``{all: [{fact: on_black_list, eq: false}, {fact: grade, in: [A, B]}, {fact: years_established, gte: 2}]}``.

Which facts exist is not this module's business: the domain that evaluates conditions declares its facts
(`Fact(name, label, kind)`), and parsing refuses a leaf naming another fact or comparing a fact with a value of
the wrong kind, with the path of the offending node so that a loader can report the file's line. Evaluation is
pure and explains every failing leaf in Chinese ("信用等级为 C，要求属于 A、B").

Written here rather than taken from a library: the general expression engines (e.g. json-logic, CEL) accept
arbitrary expressions that a YAML author cannot validate against the facts a domain offers, and none explains
a failure in Chinese; this language is deliberately small enough to check completely at load time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

FactKind = Literal["bool", "number", "text", "date"]
OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in")
OP_LABELS = {"eq": "等于", "ne": "不等于", "lt": "小于", "lte": "不大于", "gt": "大于", "gte": "不小于",
             "in": "属于", "not_in": "不属于"}
_ORDERED = ("lt", "lte", "gt", "gte")
Value = bool | int | float | str | date | None
Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Fact:
    name: str
    label: str          # Chinese, as a user reads it: "信用等级", "成立年限（年）"
    kind: FactKind


class ConditionError(ValueError):
    """A condition that cannot be used; `path` locates the node (keys and list indexes) for the file's line."""

    def __init__(self, message: str, path: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


@dataclass(frozen=True, slots=True)
class Leaf:
    fact: Fact
    op: str
    value: Value | tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Any_:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = Leaf | All | Any_ | Not


@dataclass(slots=True)
class Outcome:
    ok: bool
    reasons: list[str] = field(default_factory=list)   # Chinese, one per failing leaf (empty when ok)

    @property
    def reason(self) -> str:
        return "；".join(self.reasons)


# ---------------------------------------------------------------- parsing


def parse(data: object, facts: Mapping[str, Fact], path: Path = ()) -> Condition:
    """Parse one condition from its YAML form against the facts a domain offers."""
    if not isinstance(data, Mapping):
        raise ConditionError("条件须为一个映射（all、any、not 或 fact 与比较方式）", path)
    keys = set(data)
    if keys & {"all", "any"}:
        if len(keys) != 1:
            raise ConditionError("all 或 any 须单独成项，不能与其他键并列", path)
        key = "all" if "all" in keys else "any"
        items = data[key]
        if not isinstance(items, Sequence) or isinstance(items, str) or not items:
            raise ConditionError(f"{key} 须为非空的条件列表", (*path, key))
        parsed = tuple(parse(item, facts, (*path, key, i)) for i, item in enumerate(items))
        return All(parsed) if key == "all" else Any_(parsed)
    if "not" in keys:
        if len(keys) != 1:
            raise ConditionError("not 须单独成项，不能与其他键并列", path)
        return Not(parse(data["not"], facts, (*path, "not")))
    if "fact" not in keys:
        raise ConditionError("条件须写明 all、any、not 之一，或 fact 及一种比较方式", path)
    name = data["fact"]
    if not isinstance(name, str) or name not in facts:
        known = "、".join(sorted(facts)) or "（无）"
        raise ConditionError(f"未知的事实“{name}”；可用的事实：{known}", (*path, "fact"))
    fact = facts[name]
    ops = [k for k in keys if k != "fact"]
    if len(ops) != 1 or ops[0] not in OPS:
        raise ConditionError(f"事实“{fact.label}”须配一种比较方式：{'、'.join(OPS)}", path)
    op = ops[0]
    raw = data[op]
    if op in ("in", "not_in"):
        if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
            raise ConditionError(f"{op} 须为非空列表", (*path, op))
        return Leaf(fact, op, tuple(_value(fact, v, (*path, op, i)) for i, v in enumerate(raw)))
    if op in _ORDERED and fact.kind in ("bool", "text"):
        raise ConditionError(f"事实“{fact.label}”不能比较大小，请用 eq、ne、in 或 not_in", (*path, op))
    return Leaf(fact, op, _value(fact, raw, (*path, op)))


def _value(fact: Fact, raw: object, path: Path) -> Value:
    if fact.kind == "bool":
        if not isinstance(raw, bool):
            raise ConditionError(f"事实“{fact.label}”是是否型，须写 true 或 false", path)
        return raw
    if fact.kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConditionError(f"事实“{fact.label}”是数值，须写数字", path)
        return raw
    if fact.kind == "date":
        if isinstance(raw, date):
            return raw
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        raise ConditionError(f"事实“{fact.label}”是日期，须写 YYYY-MM-DD", path)
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ConditionError(f"事实“{fact.label}”是文字，须写文字", path)
    return str(raw)


# ---------------------------------------------------------------- evaluating


def evaluate(condition: Condition, facts: Mapping[str, object]) -> Outcome:
    """Whether the condition holds for these facts, and why not (Chinese) when it does not.

    A fact missing from `facts` (or None) makes its leaf fail: "no record" never passes an eligibility rule
    by accident; write `any: [{fact: X, eq: …}, …]` for a rule that should tolerate it."""
    if isinstance(condition, Leaf):
        actual = facts.get(condition.fact.name)
        if _holds(condition, actual):
            return Outcome(True)
        return Outcome(False, [explain(condition, actual)])
    if isinstance(condition, All):
        reasons: list[str] = []
        for item in condition.items:
            outcome = evaluate(item, facts)
            reasons.extend(outcome.reasons)
        return Outcome(not reasons, reasons)
    if isinstance(condition, Any_):
        reasons = []
        for item in condition.items:
            outcome = evaluate(item, facts)
            if outcome.ok:
                return Outcome(True)
            reasons.extend(outcome.reasons)
        return Outcome(False, ["以下条件均不满足：" + "；".join(reasons)])
    inner = evaluate(condition.item, facts)
    if inner.ok:
        return Outcome(False, [f"不得满足：{describe(condition.item)}"])
    return Outcome(True)


def _holds(leaf: Leaf, actual: object) -> bool:
    if actual is None:
        return False
    value = leaf.value
    try:
        if leaf.op == "eq":
            return actual == value
        if leaf.op == "ne":
            return actual != value
        if leaf.op == "in":
            return actual in value  # type: ignore[operator]
        if leaf.op == "not_in":
            return actual not in value  # type: ignore[operator]
        if leaf.op == "lt":
            return actual < value  # type: ignore[operator]
        if leaf.op == "lte":
            return actual <= value  # type: ignore[operator]
        if leaf.op == "gt":
            return actual > value  # type: ignore[operator]
        return actual >= value  # type: ignore[operator]
    except TypeError:
        return False


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, tuple):
        return "、".join(_show(v) for v in value)
    if value is None:
        return "无记录"
    return str(value)


def describe(condition: Condition) -> str:
    """The condition in plain Chinese ("信用等级属于 A、B")."""
    if isinstance(condition, Leaf):
        return f"{condition.fact.label}{OP_LABELS[condition.op]} {_show(condition.value)}"
    if isinstance(condition, All):
        return "（" + " 且 ".join(describe(c) for c in condition.items) + "）"
    if isinstance(condition, Any_):
        return "（" + " 或 ".join(describe(c) for c in condition.items) + "）"
    return f"非（{describe(condition.item)}）"


def explain(leaf: Leaf, actual: object) -> str:
    return f"{leaf.fact.label}为 {_show(actual)}，要求{OP_LABELS[leaf.op]} {_show(leaf.value)}"


def facts_used(condition: Condition) -> set[str]:
    if isinstance(condition, Leaf):
        return {condition.fact.name}
    if isinstance(condition, Not):
        return facts_used(condition.item)
    return set().union(*(facts_used(c) for c in condition.items))
