"""Eligibility of firms for products: the credit facts products' rules may name, computed from records, lists
and grades, and the same rules as Polars expressions for batches (many firms × many products).

`evaluate` (core/conditions) explains one firm's failure in Chinese; `polars_expr` translates a condition into
an expression over a facts frame with the same semantics (a missing fact fails its leaf, `not` of a failed leaf
holds), tested to agree on random facts and conditions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.core import conditions as cond
from xinyong.core.conditions import Condition, Fact
from xinyong.records import rules as record_rules
from xinyong.records.models import Record
from xinyong.subjects.models import Subject

FACTS: dict[str, Fact] = {f.name: f for f in (
    Fact("on_black_list", "列入严重失信主体名单", "bool"),
    Fact("on_court_list", "列为失信被执行人", "bool"),
    Fact("abnormal_operation", "列入经营异常名录", "bool"),
    Fact("grade", "公共信用综合评价等级", "text"),
    Fact("severe_penalties_2y", "近2年严重行政处罚（次）", "number"),
    Fact("penalties_2y", "近2年行政处罚（次）", "number"),
    Fact("years_established", "成立年限（年）", "number"),
    Fact("tax_credit_rating", "纳税信用等级", "text"),
    Fact("region_code", "所在地区代码", "text"),
)}
SCHEMA: dict[str, Any] = {"subject_id": pl.Int64, "on_black_list": pl.Boolean, "on_court_list": pl.Boolean,
                          "abnormal_operation": pl.Boolean, "grade": pl.Utf8, "severe_penalties_2y": pl.Int64,
                          "penalties_2y": pl.Int64, "years_established": pl.Int64, "tax_credit_rating": pl.Utf8,
                          "region_code": pl.Utf8}


def parse_rules(text: str | Mapping[str, Any] | None) -> Condition | None:
    """A product's rule from its stored JSON (or a mapping); None when it has no rule."""
    if text is None or text == "" or text == {}:
        return None
    if isinstance(text, str):
        return _parsed(text)
    return cond.parse(text, FACTS)


@lru_cache(maxsize=4096)
def _parsed(text: str) -> Condition:
    """Stored rules are parsed once per process (conditions are immutable)."""
    return cond.parse(json.loads(text), FACTS)


@lru_cache(maxsize=4096)
def describe_rules(text: str) -> str:
    condition = parse_rules(text) if text else None
    return cond.describe(condition) if condition is not None else "无"


# ---------------------------------------------------------------- facts from the database

def _grades(session: Session, subject_ids: list[int] | None) -> dict[int, str]:
    from xinyong.evaluation.grades import current_grades

    return {sid: g.grade for sid, g in current_grades(session, subject_ids).items() if g.grade}


def facts_frame(session: Session, subject_ids: Iterable[int] | None, today: date) -> pl.DataFrame:
    """One row per subject (organisations only) with every fact; a fact without data is null."""
    ids = list(subject_ids) if subject_ids is not None else None
    query = select(Subject.id, Subject.established, Subject.region_code).where(Subject.kind != "natural_person")
    if ids is not None:
        query = query.where(Subject.id.in_(ids))
    base = session.execute(query).all()
    rows: dict[int, dict[str, Any]] = {}
    for sid, established, region in base:
        years = None
        if established is not None:
            years = today.year - established.year - ((today.month, today.day) < (established.month, established.day))
        rows[sid] = {"subject_id": sid, "on_black_list": False, "on_court_list": False, "abnormal_operation": False,
                     "grade": None, "severe_penalties_2y": 0, "penalties_2y": 0, "years_established": years,
                     "tax_credit_rating": None, "region_code": region}
    if rows:
        _add_record_facts(session, rows, ids, today)
        _add_list_facts(session, rows, ids, today)
        for sid, grade in _grades(session, ids).items():
            if sid in rows:
                rows[sid]["grade"] = grade
    return pl.DataFrame(list(rows.values()), schema=SCHEMA, orient="row")


def _visible(query: Any) -> Any:
    return query.where(Record.state.in_(tuple(record_rules.VISIBLE_STATES)))


def _add_record_facts(session: Session, rows: dict[int, dict[str, Any]], ids: list[int] | None,
                      today: date) -> None:
    since = today - timedelta(days=730)

    def scoped(query: Any) -> Any:
        query = _visible(query)
        return query.where(Record.subject_id.in_(ids)) if ids is not None else query

    penalties = scoped(select(Record.subject_id, Record.severity, func.count())
                       .where(Record.item_code == "admin_penalty", Record.decision_date >= since)
                       .group_by(Record.subject_id, Record.severity))
    for sid, severity, n in session.execute(penalties):
        if sid in rows:
            rows[sid]["penalties_2y"] += int(n)
            if severity == "严重":
                rows[sid]["severe_penalties_2y"] += int(n)
    court = scoped(select(Record.subject_id).where(Record.item_code == "dishonest_judgment_debtor").distinct())
    for (sid,) in session.execute(court):
        if sid in rows:
            rows[sid]["on_court_list"] = True
    abnormal = scoped(select(Record.subject_id).where(Record.item_code == "business_abnormal").distinct())
    for (sid,) in session.execute(abnormal):
        if sid in rows:
            rows[sid]["abnormal_operation"] = True
    from xinyong.records.service import payload_values

    tax = scoped(select(Record.subject_id, Record.layout_id, Record.payload)
                 .where(Record.item_code == "tax_credit_rating")
                 .order_by(Record.subject_id, Record.decision_date.asc(), Record.id.asc()))
    for sid, layout_id, payload in session.execute(tax):  # the latest rating wins
        if sid in rows:
            rating = payload_values(session, layout_id, payload).get("rating")
            if rating:
                rows[sid]["tax_credit_rating"] = str(rating).strip().upper()


def _add_list_facts(session: Session, rows: dict[int, dict[str, Any]], ids: list[int] | None, today: date) -> None:
    from xinyong.lists.models import ListEntry

    query = select(ListEntry.subject_id).where(ListEntry.kind == "black", ListEntry.state == "published").distinct()
    if ids is not None:
        query = query.where(ListEntry.subject_id.in_(ids))
    for (sid,) in session.execute(query):
        if sid in rows:
            rows[sid]["on_black_list"] = True


def facts_of(session: Session, subject_id: int, today: date) -> dict[str, Any]:
    frame = facts_frame(session, [subject_id], today)
    return frame.row(0, named=True) if frame.height else {}


# ---------------------------------------------------------------- the same rules, vectorised

def polars_expr(condition: Condition) -> pl.Expr:
    """`condition` over a facts frame: true exactly where cond.evaluate(condition, row).ok."""
    if isinstance(condition, cond.Leaf):
        column = pl.col(condition.fact.name)
        value = condition.value
        op = condition.op
        if op in ("in", "not_in"):
            values = list(value) if isinstance(value, tuple) else [value]
            expr = column.is_in(values)
            expr = ~expr if op == "not_in" else expr
        else:
            lit = pl.lit(value)
            expr = {"eq": column == lit, "ne": column != lit, "lt": column < lit, "lte": column <= lit,
                    "gt": column > lit, "gte": column >= lit}[op]
        return pl.when(column.is_null()).then(pl.lit(False)).otherwise(expr.fill_null(False))
    if isinstance(condition, cond.All):
        return pl.all_horizontal([polars_expr(c) for c in condition.items])
    if isinstance(condition, cond.Any_):
        return pl.any_horizontal([polars_expr(c) for c in condition.items])
    return ~polars_expr(condition.item)


def batch_eligible(frame: pl.DataFrame, products: Mapping[int, Condition | None]) -> pl.DataFrame:
    """For every firm of `frame`, one boolean column per product ("p<id>"): its rule holds."""
    exprs = [(polars_expr(c) if c is not None else pl.lit(True)).alias(f"p{pid}") for pid, c in products.items()]
    return frame.select(pl.col("subject_id"), *exprs)
