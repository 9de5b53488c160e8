"""The small rule language: parsing refuses what a domain does not offer, evaluation explains in Chinese."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.core.conditions import ConditionError, Fact, describe, evaluate, facts_used, parse

FACTS = {
    "grade": Fact("grade", "信用等级", "text"),
    "on_black_list": Fact("on_black_list", "列入失信名单", "bool"),
    "years": Fact("years", "成立年限（年）", "number"),
    "established": Fact("established", "成立日期", "date"),
}

RULE = {"all": [{"fact": "on_black_list", "eq": False}, {"fact": "grade", "in": ["A", "B"]},
                {"fact": "years", "gte": 2}]}


def test_a_rule_holds_or_says_why_not() -> None:
    rule = parse(RULE, FACTS)
    assert evaluate(rule, {"on_black_list": False, "grade": "A", "years": 5}).ok
    outcome = evaluate(rule, {"on_black_list": True, "grade": "C", "years": 1})
    assert not outcome.ok
    assert outcome.reasons == ["列入失信名单为 是，要求等于 否", "信用等级为 C，要求属于 A、B",
                               "成立年限（年）为 1，要求不小于 2"]
    assert facts_used(rule) == {"on_black_list", "grade", "years"}
    assert "信用等级属于 A、B" in describe(rule)


def test_a_missing_fact_never_passes() -> None:
    outcome = evaluate(parse({"fact": "years", "gte": 2}, FACTS), {})
    assert not outcome.ok and "无记录" in outcome.reason


def test_any_and_not() -> None:
    rule = parse({"any": [{"fact": "grade", "eq": "A"}, {"not": {"fact": "years", "lt": 3}}]}, FACTS)
    assert evaluate(rule, {"grade": "A", "years": 1}).ok
    assert evaluate(rule, {"grade": "C", "years": 4}).ok
    assert not evaluate(rule, {"grade": "C", "years": 1}).ok
    dates = parse({"fact": "established", "lte": "2020-01-01"}, FACTS)
    assert evaluate(dates, {"established": date(2019, 5, 1)}).ok


@pytest.mark.parametrize(("data", "path", "words"), [
    ({"fact": "nope", "eq": 1}, ("fact",), "未知的事实"),
    ({"fact": "years", "eq": "x"}, ("eq",), "须写数字"),
    ({"fact": "grade", "gt": "A"}, ("gt",), "不能比较大小"),
    ({"all": []}, ("all",), "非空"),
    ({"all": [{"fact": "years"}]}, ("all", 0), "比较方式"),
    ({"any": [{"fact": "established", "eq": "2020-13-01"}]}, ("any", 0, "eq"), "YYYY-MM-DD"),
    ("grade", (), "映射"),
])
def test_a_broken_condition_names_its_place(data: object, path: tuple[object, ...], words: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(data, FACTS)
    assert caught.value.path == path
    assert words in caught.value.message


@given(st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_ordered_comparisons_agree_with_python(actual: int, bound: int) -> None:
    for op, expect in (("lt", actual < bound), ("lte", actual <= bound), ("gt", actual > bound),
                       ("gte", actual >= bound), ("eq", actual == bound), ("ne", actual != bound)):
        assert evaluate(parse({"fact": "years", op: bound}, FACTS), {"years": actual}).ok is expect
