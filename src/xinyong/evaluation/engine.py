"""The evaluation engine: facts extracted with SQL into Polars, scoring written once over narwhals' lazy API
and run on Polars (one machine) or PySpark (`--engine spark`, facts handed over as a Parquet snapshot).

Facts are one long frame: one row per counted thing (record, list entry, commitment outcome, repair), with
the subject, the fact id, the source it stands for (`item:admin_penalty`, `list:…`, `commitment:breached`,
`repair:approved`), the severity, its age in days at the as-of date and the amount fields sum/latest leaves
read. Every leaf selects its rows from it (source, severity, window), so records are read in ONE scan."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import narwhals as nw
import polars as pl
from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import Session

from xinyong.commitments.models import Commitment
from xinyong.core import conditions as cond
from xinyong.core.db import dialect_name
from xinyong.evaluation.config import LoadedModel
from xinyong.evaluation.schemas import EvaluationModel, Indicator
from xinyong.lists.config import get_list_types
from xinyong.lists.models import ListEntry
from xinyong.records.models import PayloadLayout, Record
from xinyong.repair.models import RepairApplication
from xinyong.subjects.models import Subject

FACT_SCHEMA: dict[str, Any] = {"subject_id": pl.Int64, "fact_id": pl.Int64, "source": pl.Utf8,
                               "severity": pl.Utf8, "age": pl.Int32}
POP_SCHEMA: dict[str, Any] = {"subject_id": pl.Int64, "kind": pl.Utf8, "region_code": pl.Utf8}


@dataclass(slots=True)
class Facts:
    population: pl.DataFrame   # subject_id, kind, region_code
    facts: pl.DataFrame        # FACT_SCHEMA + f_<field> Float64 + t_<field> Utf8 (filtered text) columns
    rows_read: int = 0


def amount_fields(model: EvaluationModel) -> dict[str, set[str]]:
    """item code → the payload fields sum/latest leaves read."""
    out: dict[str, set[str]] = {}
    for leaf, _b, _n in model.leaves():
        if leaf.field and leaf.source and leaf.source.item:
            out.setdefault(leaf.source.item, set()).add(leaf.field)
    return out


def _all_fields(model: EvaluationModel) -> list[str]:
    return sorted({f for fs in amount_fields(model).values() for f in fs})


def text_fields(model: EvaluationModel) -> dict[str, set[str]]:
    """item code → the text payload fields leaves filter on (source field + in / not_in)."""
    out: dict[str, set[str]] = {}
    for leaf, _b, _n in model.leaves():
        if leaf.source and leaf.source.item and leaf.source.field:
            out.setdefault(leaf.source.item, set()).add(leaf.source.field)
    return out


def _all_text_fields(model: EvaluationModel) -> list[str]:
    return sorted({f for fs in text_fields(model).values() for f in fs})


# ---------------------------------------------------------------- extraction (SQL → Polars)


def population_query(model: EvaluationModel, subject_ids: Iterable[int] | None = None) -> Any:
    q = (select(Subject.id.label("subject_id"), Subject.kind, Subject.region_code)
         .where(Subject.kind.in_(model.subject_kinds), Subject.status.in_(model.population.status)))
    if subject_ids is not None:
        q = q.where(Subject.id.in_(list(subject_ids)))
    return q.order_by(Subject.id)


def _record_states(model: EvaluationModel) -> list[str]:
    ex = model.exclude
    states = ["active"]
    if not ex.under_objection:
        states.append("objection")
    if not ex.repaired:
        states.append("repaired")
    if not ex.revoked:
        states.append("revoked")
    if not ex.outside_window:
        states.append("expired")
    return states


def _amount_expr(session: Session, item: str, field: str, text: bool = False) -> Any:
    """The numeric (or, with text, the text) value of one payload field, whatever layout each record was written
    under."""
    layouts = session.execute(select(PayloadLayout.id, PayloadLayout.fields)
                              .where(PayloadLayout.item_code == item)).all()
    import json

    whens = []
    pg = dialect_name(session) == "postgresql"
    for layout_id, fields_json in layouts:
        names = json.loads(fields_json)
        if field in names:
            idx = names.index(field)
            if pg:
                raw = func.jsonb_extract_path_text(func.cast(Record.payload, _JSONB), str(idx))
                expr = raw if text else func.cast(func.nullif(raw, ""), _NUM)
            elif text:
                expr = func.cast(func.json_extract(Record.payload, f"$[{idx}]"), _TEXT)
            else:
                expr = func.cast(func.json_extract(Record.payload, f"$[{idx}]"), _NUM)
            whens.append((Record.layout_id == layout_id, expr))
    if not whens:
        return literal(None, _TEXT if text else _NUM)
    from sqlalchemy import case
    return case(*whens, else_=None)


from sqlalchemy import Float as _NUM  # noqa: E402
from sqlalchemy import Text as _TEXT  # noqa: E402
from sqlalchemy.dialects.postgresql import JSONB as _JSONB  # noqa: E402


def facts_queries(session: Session, model: EvaluationModel, as_of: date,
                  subject_ids: list[int] | None = None) -> list[Any]:
    """The SQL of the fact sources the model reads, each selecting FACT_SCHEMA's columns (+ f_<field>)."""
    leaves = [leaf for leaf, _b, _n in model.leaves()]
    fields = _all_fields(model)
    fmap = amount_fields(model)
    queries: list[Any] = []
    texts = _all_text_fields(model)
    tmap = text_fields(model)
    null_fields = [*(literal(None, _NUM).label(f"f_{f}") for f in fields),
                   *(literal(None, _TEXT).label(f"t_{f}") for f in texts)]
    items = sorted({leaf.source.item for leaf in leaves if leaf.source and leaf.source.item})
    if items:
        max_window = max((leaf.window_days or 36500) for leaf in leaves if leaf.source and leaf.source.item)
        age = _days_between(session, as_of, Record.decision_date)
        cols = [Record.subject_id.label("subject_id"), Record.id.label("fact_id"),
                (literal("item:") + Record.item_code).label("source"), Record.severity.label("severity"),
                age.label("age")]
        for f in fields:
            with_f = [it for it in items if f in fmap.get(it, set())]
            if with_f:
                parts = [(Record.item_code == it, _amount_expr(session, it, f)) for it in with_f]
                from sqlalchemy import case
                cols.append(case(*parts, else_=None).label(f"f_{f}"))
            else:
                cols.append(literal(None, _NUM).label(f"f_{f}"))
        for f in texts:
            from sqlalchemy import case
            with_t = [it for it in items if f in tmap.get(it, set())]
            cols.append(case(*[(Record.item_code == it, _amount_expr(session, it, f, text=True)) for it in with_t],
                             else_=None).label(f"t_{f}"))
        q = select(*cols).where(Record.item_code.in_(items), Record.state.in_(_record_states(model)),
                                Record.decision_date <= as_of,
                                Record.decision_date > as_of - timedelta(days=max_window))
        if model.exclude.outside_window:
            q = q.where(Record.publish_from <= as_of,
                        or_(Record.publish_until.is_(None), Record.publish_until > as_of))
        if subject_ids is not None:
            q = q.where(Record.subject_id.in_(subject_ids))
        queries.append(q)
    list_codes = sorted({c for leaf in leaves if leaf.source and leaf.source.lists for c in leaf.source.lists}
                        | set(get_list_types().items))
    if list_codes:
        q = select(ListEntry.subject_id.label("subject_id"), ListEntry.id.label("fact_id"),
                   (literal("list:") + ListEntry.list_type).label("source"),
                   ListEntry.kind.label("severity"),
                   _days_between(session, as_of, ListEntry.published_on).label("age"), *null_fields
                   ).where(ListEntry.state == "published", ListEntry.published_on <= as_of,
                           ListEntry.term_end > as_of)
        if subject_ids is not None:
            q = q.where(ListEntry.subject_id.in_(subject_ids))
        queries.append(q)
    outcomes = sorted({leaf.source.commitments for leaf in leaves if leaf.source and leaf.source.commitments})
    if outcomes:
        q = select(Commitment.subject_id.label("subject_id"), Commitment.id.label("fact_id"),
                   (literal("commitment:") + Commitment.state).label("source"), literal(None, Commitment.state.type)
                   .label("severity"), _days_between(session, as_of, Commitment.outcome_on).label("age"),
                   *null_fields).where(Commitment.state.in_(outcomes), Commitment.outcome_on <= as_of,
                                       Commitment.subject_id.is_not(None))
        if subject_ids is not None:
            q = q.where(Commitment.subject_id.in_(subject_ids))
        queries.append(q)
    if any(leaf.source and leaf.source.repair for leaf in leaves):
        q = select(RepairApplication.subject_id.label("subject_id"), RepairApplication.id.label("fact_id"),
                   literal("repair:approved").label("source"), literal(None, RepairApplication.state.type)
                   .label("severity"), _days_between(session, as_of, RepairApplication.decided_on).label("age"),
                   *null_fields).where(RepairApplication.state == "approved", RepairApplication.decided_on <= as_of)
        if subject_ids is not None:
            q = q.where(RepairApplication.subject_id.in_(subject_ids))
        queries.append(q)
    return queries


def _days_between(session: Session, as_of: date, column: Any) -> Any:
    if dialect_name(session) == "postgresql":
        return literal(as_of) - column
    return func.cast(func.julianday(literal(as_of.isoformat())) - func.julianday(column), _INT)


from sqlalchemy import Integer as _INT  # noqa: E402


def _schema(model: EvaluationModel) -> dict[str, Any]:
    return {**FACT_SCHEMA, **{f"f_{f}": pl.Float64 for f in _all_fields(model)},
            **{f"t_{f}": pl.Utf8 for f in _all_text_fields(model)}}


def read_frame(session: Session, query: Any, schema: dict[str, Any]) -> pl.DataFrame:
    """One query into Polars: COPY … TO STDOUT (CSV) on PostgreSQL, a plain select on SQLite."""
    if dialect_name(session) == "postgresql":
        sql = copy_sql(session, query)
        raw = session.connection().connection.driver_connection
        buf = io.BytesIO()
        with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:  # type: ignore[union-attr]
            for chunk in copy:
                buf.write(chunk)
        if buf.tell() == 0:
            return pl.DataFrame(schema=schema)
        buf.seek(0)
        return pl.read_csv(buf, has_header=False, new_columns=list(schema), schema_overrides=schema)
    rows = session.execute(query).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def copy_sql(session: Session, query: Any) -> str:
    return str(query.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}))


def extract(session: Session, model: EvaluationModel, as_of: date,
            subject_ids: list[int] | None = None) -> Facts:
    schema = _schema(model)
    pop_ids = None if subject_ids is None else subject_ids
    population = pl.DataFrame(schema=POP_SCHEMA)
    frames = []
    if pop_ids is None or pop_ids:
        chunks = [None] if pop_ids is None else [pop_ids[i:i + 5000] for i in range(0, len(pop_ids), 5000)]
        pops = [read_frame(session, population_query(model, c), POP_SCHEMA) for c in chunks]
        population = pl.concat(pops) if pops else population
        for c in chunks:
            for q in facts_queries(session, model, as_of, c):
                frames.append(read_frame(session, q, schema))
    facts = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    return Facts(population=population, facts=facts, rows_read=facts.height + population.height)


# ---------------------------------------------------------------- scoring (narwhals: Polars or PySpark)


def _leaf_value(leaf: Indicator) -> Any:
    return f"v_{leaf.id}"


def _rule_expr(leaf: Indicator, v: Any) -> Any:
    """0–100 points of the leaf's budget from its aggregated value."""
    r = leaf.rule
    assert r is not None
    if r.per_occurrence is not None:
        raw = v * r.per_occurrence
        return nw.when(raw > (r.cap or 0)).then(nw.lit(float(r.cap or 0))).otherwise(raw)
    if r.threshold is not None:
        return nw.when(v >= r.threshold).then(nw.lit(float(r.points or 0))).otherwise(nw.lit(0.0))
    expr: Any = nw.lit(0.0)
    for iv in reversed(r.intervals or []):
        test = v >= iv.from_ if iv.to is None else (v >= iv.from_) & (v < iv.to)
        expr = nw.when(test).then(nw.lit(float(iv.points))).otherwise(expr)
    return expr


def _condition_expr(c: cond.Condition, columns: dict[str, str]) -> Any:
    if isinstance(c, cond.All):
        out = _condition_expr(c.items[0], columns)
        for item in c.items[1:]:
            out = out & _condition_expr(item, columns)
        return out
    if isinstance(c, cond.Any_):
        out = _condition_expr(c.items[0], columns)
        for item in c.items[1:]:
            out = out | _condition_expr(item, columns)
        return out
    if isinstance(c, cond.Not):
        return ~_condition_expr(c.item, columns)
    col = nw.col(columns[c.fact.name])
    if c.op in ("in", "not_in"):
        vals = list(c.value) if isinstance(c.value, tuple) else [c.value]
        test = col.is_in(vals)
        return ~test if c.op == "not_in" else test
    v = c.value
    return {"eq": lambda: col == v, "ne": lambda: col != v, "lt": lambda: col < v, "lte": lambda: col <= v,
            "gt": lambda: col > v, "gte": lambda: col >= v}[c.op]()


def score(loaded: LoadedModel, population: Any, facts: Any) -> Any:
    """Scores and grades as a narwhals LazyFrame: subject_id, score, grade, override, v_<leaf>, p_<leaf>.

    `population` and `facts` are narwhals LazyFrames of the same backend (Polars or PySpark)."""
    model = loaded.model
    leaves = model.leaves()
    parts = []
    for leaf, _budget, _names in leaves:
        src = leaf.source
        assert src is not None
        if src.item:
            sources = [f"item:{src.item}"]
        elif src.lists:
            sources = [f"list:{c}" for c in src.lists]
        elif src.commitments:
            sources = [f"commitment:{src.commitments}"]
        else:
            sources = ["repair:approved"]
        test = nw.col("source").is_in(sources)
        if src.severity:
            test = test & nw.col("severity").is_in(src.severity)
        if src.field:
            hit = nw.col(f"t_{src.field}").fill_null("").is_in(src.in_ or src.not_in or [])
            test = test & (hit if src.in_ is not None else ~hit)
        if leaf.window_days:
            test = test & (nw.col("age") < leaf.window_days)
        amount = nw.col(f"f_{leaf.field}") if leaf.field else nw.lit(0.0)
        parts.append(facts.filter(test).select(nw.col("subject_id"), nw.col("age"),
                                               amount.cast(nw.Float64).alias("amount"),
                                               nw.lit(leaf.id).alias("leaf")))
    long = nw.concat(parts, how="vertical")
    agg = long.group_by("subject_id", "leaf").agg(nw.len().alias("n"), nw.col("amount").sum().alias("total"),
                                                   nw.col("age").min().alias("newest"))
    latest_leaves = [leaf for leaf, _b, _n in leaves if leaf.aggregate == "latest"]
    if latest_leaves:
        newest = (long.join(agg.select("subject_id", "leaf", "newest"), on=["subject_id", "leaf"])
                  .filter(nw.col("age") == nw.col("newest"))
                  .group_by("subject_id", "leaf").agg(nw.col("amount").max().alias("latest")))
        agg = agg.join(newest, on=["subject_id", "leaf"], how="left")
    else:
        agg = agg.with_columns(nw.lit(0.0).alias("latest"))
    wide_cols = []
    for leaf, _b, _n in leaves:
        value = {"exists": nw.lit(1.0), "count": nw.col("n").cast(nw.Float64),
                 "sum": nw.col("total").fill_null(0.0), "latest": nw.col("latest").fill_null(0.0)}[leaf.aggregate or "count"]
        wide_cols.append(nw.when(nw.col("leaf") == leaf.id).then(value).otherwise(nw.lit(0.0)).alias(_leaf_value(leaf)))
    wide = agg.select(nw.col("subject_id"), *wide_cols).group_by("subject_id").agg(
        *[nw.col(_leaf_value(leaf)).sum() for leaf, _b, _n in leaves])
    black = [c for c, t in get_list_types().items.items() if t.kind == "black"]
    red = [c for c, t in get_list_types().items.items() if t.kind == "red"]
    lists = (facts.filter(nw.col("source").str.starts_with("list:"))
             .select(nw.col("subject_id"),
                     nw.when(nw.col("source").is_in([f"list:{c}" for c in black])).then(nw.lit(1.0))
                     .otherwise(nw.lit(0.0)).alias("black_lists"),
                     nw.when(nw.col("source").is_in([f"list:{c}" for c in red])).then(nw.lit(1.0))
                     .otherwise(nw.lit(0.0)).alias("red_lists"))
             .group_by("subject_id").agg(nw.col("black_lists").sum(), nw.col("red_lists").sum()))
    out = (population.select("subject_id").join(wide, on="subject_id", how="left")
           .join(lists, on="subject_id", how="left"))
    fills = [nw.col(_leaf_value(leaf)).fill_null(0.0) for leaf, _b, _n in leaves]
    out = out.with_columns(*fills, nw.col("black_lists").fill_null(0.0), nw.col("red_lists").fill_null(0.0))
    points = []
    for leaf, budget, _n in leaves:
        raw = _rule_expr(leaf, nw.col(_leaf_value(leaf)))
        sign = -1.0 if leaf.direction == "deduction" else 1.0
        points.append(((raw * (sign * budget / 100.0)).round(2) + 0.0).alias(f"p_{leaf.id}"))
    out = out.with_columns(*points)
    total: Any = nw.lit(float(model.base_score))
    for leaf, _b, _n in leaves:
        total = total + nw.col(f"p_{leaf.id}")
    clipped = (nw.when(total > model.max_score).then(nw.lit(float(model.max_score)))
               .when(total < model.min_score).then(nw.lit(float(model.min_score))).otherwise(total))
    out = out.with_columns(clipped.round(2).alias("score"))
    grade: Any = nw.lit(model.bands[-1].grade)
    for band in reversed(model.bands[:-1]):
        grade = nw.when(nw.col("score") >= band.min).then(nw.lit(band.grade)).otherwise(grade)
    out = out.with_columns(grade.alias("grade"), nw.lit(None, dtype=nw.String).alias("override"))
    columns = {"score": "score", "grade": "grade", "black_lists": "black_lists", "red_lists": "red_lists",
               **{leaf.id: _leaf_value(leaf) for leaf, _b, _n in leaves}}
    for oid, g, c in loaded.overrides:
        hit = _condition_expr(c, columns)
        out = out.with_columns(nw.when(hit).then(nw.lit(g)).otherwise(nw.col("grade")).alias("grade"),
                               nw.when(hit).then(nw.lit(oid)).otherwise(nw.col("override")).alias("override"))
    return out


def run_polars(loaded: LoadedModel, facts: Facts) -> pl.DataFrame:
    out = score(loaded, nw.from_native(facts.population.lazy()), nw.from_native(facts.facts.lazy()))
    frame: pl.DataFrame = out.collect().to_native()
    return frame.sort("subject_id")


def spark_session() -> Any:
    from pyspark.sql import SparkSession

    master = os.environ.get("XINYONG_SPARK_MASTER", "local[2]")
    return (SparkSession.builder.master(master).appName("xinyong-evaluation")
            .config("spark.sql.shuffle.partitions", "4").config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC").config("spark.ui.showConsoleProgress", "false").getOrCreate())


def run_spark(loaded: LoadedModel, facts: Facts) -> pl.DataFrame:
    """The same scoring on PySpark: the facts go over as a Parquet snapshot, the results come back to Polars."""
    spark = spark_session()
    with tempfile.TemporaryDirectory(prefix="xinyong-eval-") as tmp:
        pop_path, facts_path = os.path.join(tmp, "population.parquet"), os.path.join(tmp, "facts.parquet")
        facts.population.write_parquet(pop_path)
        facts.facts.write_parquet(facts_path)
        pop = nw.from_native(spark.read.parquet(pop_path))
        fx = nw.from_native(spark.read.parquet(facts_path))
        frame: pl.DataFrame = score(loaded, pop, fx).collect(backend="polars").to_native()
    return frame.sort("subject_id")


def run_engine(loaded: LoadedModel, facts: Facts, engine: str) -> pl.DataFrame:
    return run_spark(loaded, facts) if engine == "spark" else run_polars(loaded, facts)


def fact_ids(loaded: LoadedModel, facts: pl.DataFrame) -> pl.DataFrame:
    """subject_id → JSON text {leaf: [fact ids]} of the facts every leaf counted (Polars; same for both engines)."""
    parts = []
    for leaf, _b, _n in loaded.model.leaves():
        src = leaf.source
        assert src is not None
        if src.item:
            sources = [f"item:{src.item}"]
        elif src.lists:
            sources = [f"list:{c}" for c in src.lists]
        elif src.commitments:
            sources = [f"commitment:{src.commitments}"]
        else:
            sources = ["repair:approved"]
        test = pl.col("source").is_in(sources)
        if src.severity:
            test = test & pl.col("severity").is_in(src.severity)
        if src.field:
            hit = pl.col(f"t_{src.field}").fill_null("").is_in(src.in_ or src.not_in or [])
            test = test & (hit if src.in_ is not None else ~hit)
        if leaf.window_days:
            test = test & (pl.col("age") < leaf.window_days)
        parts.append(facts.lazy().filter(test).select("subject_id", "fact_id", pl.lit(leaf.id).alias("leaf")))
    if not parts:
        return pl.DataFrame(schema={"subject_id": pl.Int64, "facts": pl.Utf8})
    grouped = (pl.concat(parts).group_by("subject_id", "leaf")
               .agg(pl.col("fact_id").sort().cast(pl.Utf8).str.join(",").alias("ids"))
               .select("subject_id", pl.format('"{}":[{}]', "leaf", "ids").alias("part"))
               .group_by("subject_id").agg(pl.col("part").sort().str.join(",").alias("facts"))
               .select("subject_id", pl.concat_str([pl.lit("{"), pl.col("facts"), pl.lit("}")]).alias("facts")))
    return grouped.collect()
