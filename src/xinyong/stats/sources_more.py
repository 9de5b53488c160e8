"""Sources over the evaluation and exchange domains: grade distribution and evaluated share (公共信用综合评价),
upstream pushes delivered and on time (上报省平台). Registered on import by stats.indicators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.evaluation.grades import COMPREHENSIVE, grade_order
from xinyong.evaluation.models import EvaluationCurrent
from xinyong.exchange.models import OutboxEvent
from xinyong.stats.config import Indicator
from xinyong.stats.indicators import CST, BuildContext, Value, _Agg, register_source
from xinyong.stats.report import Section, register_section
from xinyong.stats.rules import Month
from xinyong.subjects.models import Subject


def _grades(ctx: BuildContext, ind: Indicator) -> list[Value]:
    """Subjects per current grade of the comprehensive model (the grades in force when the month is built)."""
    model = str(ind.params.get("model", COMPREHENSIVE))
    counts = {g: int(n) for g, n in ctx.session.execute(
        select(EvaluationCurrent.grade, func.count()).where(EvaluationCurrent.model_id == model)
        .group_by(EvaluationCurrent.grade))}
    try:
        order = grade_order(model)
    except KeyError:
        order = sorted(counts)
    agg = _Agg(ind.groups)
    for g in [*order, *sorted(set(counts) - set(order))]:
        agg.add({"type": (g, g)}, float(counts.get(g, 0)))
    return agg.values(ratio=False)


def _evaluated_share(ctx: BuildContext, ind: Indicator) -> list[Value]:
    model = str(ind.params.get("model", COMPREHENSIVE))
    evaluated = ctx.session.scalar(select(func.count()).select_from(EvaluationCurrent)
                                   .where(EvaluationCurrent.model_id == model)) or 0
    orgs = ctx.session.scalar(select(func.count()).select_from(Subject).where(Subject.kind != "natural_person")) or 0
    return [Value("city", "", "全市", float(evaluated), float(orgs))]


def _upstream(ctx: BuildContext, ind: Indicator) -> list[Value]:
    """Events queued for the upstream platforms in the month: delivered (accepted), or delivered by the deadline."""
    q = (select(OutboxEvent.dept_id, OutboxEvent.state, OutboxEvent.sent_at, OutboxEvent.deadline)
         .where(OutboxEvent.created_at >= ctx.start, OutboxEvent.created_at < ctx.end))
    prefix = ind.params.get("target_prefix")
    if prefix:
        q = q.where(OutboxEvent.target.startswith(str(prefix)))
    on_time = ind.params.get("count") == "on_time"
    agg = _Agg(ind.groups)
    # per row in Python: a month's upstream events are thousands, and the deadline is compared in China time
    for dept_id, state, sent_at, deadline in ctx.session.execute(q):
        keys = ctx.keys(dept_id) if dept_id is not None else {}
        if on_time:
            if deadline is None:
                continue
            ok = sent_at is not None and state == "delivered" and sent_at.astimezone(CST).date() <= deadline
            agg.add(keys, 1.0 if ok else 0.0, 1.0)
        else:
            agg.add(keys, 1.0 if state == "delivered" else 0.0, 1.0)
    return agg.values(ratio=True)



register_source("evaluation.grades", _grades)
register_source("evaluation.evaluated_share", _evaluated_share)
register_source("exchange.upstream", _upstream)


# ---------------------------------------------------------------- 问题数据 and 重错码 (stats.quality counts them)


def _error_code_rate(ctx: BuildContext, ind: Indicator) -> list[Value]:
    from xinyong.stats import quality

    agg = _Agg(ind.groups)
    names = {d.code: d.name for d in ctx.depts.values()}
    for code, (bad, rows) in quality.error_code_counts(ctx.session, ctx.month.label).items():
        agg.add({"dept": (code, names.get(code, code))}, float(bad), float(rows))
    return agg.values(ratio=True)


def _open_issues(ctx: BuildContext, ind: Indicator) -> list[Value]:
    from xinyong.stats import quality
    from xinyong.stats.quality_rules import KINDS

    agg = _Agg(ind.groups)
    names = {d.code: d.name for d in ctx.depts.values()}
    for code, kinds in quality.open_counts(ctx.session, ctx.month.label).items():
        for kind, n in kinds.items():
            agg.add({"dept": (code, names.get(code, code)), "type": (kind, KINDS.get(kind, kind))}, float(n))
    return agg.values(ratio=False)


def _issues_section(session: Session, month: Month) -> Section | None:
    """The report's 问题数据 by department: items open at the month's end, per kind."""
    from xinyong.stats import quality
    from xinyong.stats.quality_rules import KINDS

    counts = quality.open_counts(session, month.label)
    names = {code: name for code, name in session.execute(select(Department.code, Department.name))}
    kinds = list(KINDS)
    rows: list[list[Any]] = [[names.get(code, code), *[by_kind.get(k, 0) for k in kinds], sum(by_kind.values())]
                             for code, by_kind in sorted(counts.items(), key=lambda kv: -sum(kv[1].values()))]
    return Section("问题数据（按部门）", ["部门", *[KINDS[k] for k in kinds], "合计"], rows)


register_source("quality.error_code_rate", _error_code_rate)
register_source("quality.open_issues", _open_issues)
register_section(_issues_section)
