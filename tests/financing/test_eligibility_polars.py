"""Products' rules vectorised with Polars agree with core/conditions.evaluate on every firm (hypothesis)."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.core import conditions as cond
from xinyong.financing import eligibility

GRADES = ["A", "B", "C", "D"]
TAX = ["A", "B", "M", "C", "D"]

fact_rows = st.fixed_dictionaries({
    "on_black_list": st.none() | st.booleans(), "on_court_list": st.none() | st.booleans(),
    "abnormal_operation": st.none() | st.booleans(), "grade": st.none() | st.sampled_from(GRADES),
    "severe_penalties_2y": st.none() | st.integers(0, 4), "penalties_2y": st.none() | st.integers(0, 6),
    "years_established": st.none() | st.integers(0, 30), "tax_credit_rating": st.none() | st.sampled_from(TAX),
    "region_code": st.none() | st.sampled_from(["371402", "371403", "110101"]),
})


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    bools = st.sampled_from(["on_black_list", "on_court_list", "abnormal_operation"]).flatmap(
        lambda f: st.sampled_from(["eq", "ne"]).flatmap(lambda op: st.booleans().map(lambda v: {"fact": f, op: v})))
    numbers = st.sampled_from(["severe_penalties_2y", "penalties_2y", "years_established"]).flatmap(
        lambda f: st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"]).flatmap(
            lambda op: st.integers(0, 10).map(lambda v: {"fact": f, op: v})))
    number_sets = st.sampled_from(["severe_penalties_2y", "years_established"]).flatmap(
        lambda f: st.sampled_from(["in", "not_in"]).flatmap(
            lambda op: st.lists(st.integers(0, 5), min_size=1, max_size=3).map(lambda v: {"fact": f, op: v})))
    texts = st.sampled_from(["grade", "tax_credit_rating"]).flatmap(
        lambda f: st.sampled_from(["eq", "ne", "in", "not_in"]).flatmap(
            lambda op: (st.sampled_from(TAX).map(lambda v: {"fact": f, op: v}) if op in ("eq", "ne") else
                        st.lists(st.sampled_from(TAX), min_size=1, max_size=3).map(lambda v: {"fact": f, op: v}))))
    return bools | numbers | number_sets | texts


conditions = st.recursive(_leaf(), lambda inner: (
    st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"all": xs})
    | st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"any": xs})
    | inner.map(lambda x: {"not": x})), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(fact_rows, min_size=1, max_size=20), data=conditions)
def test_polars_agrees_with_evaluate(rows: list[dict[str, Any]], data: dict[str, Any]) -> None:
    condition = cond.parse(data, eligibility.FACTS)
    frame = pl.DataFrame([{"subject_id": i, **r} for i, r in enumerate(rows)], schema=eligibility.SCHEMA,
                         orient="row")
    vectorised = eligibility.batch_eligible(frame, {1: condition})["p1"].to_list()
    expected = [cond.evaluate(condition, r).ok for r in rows]
    assert vectorised == expected


def test_product_without_rule_admits_everyone() -> None:
    frame = pl.DataFrame([{"subject_id": 1}], schema=eligibility.SCHEMA, orient="row")
    assert eligibility.batch_eligible(frame, {7: None})["p7"].to_list() == [True]
