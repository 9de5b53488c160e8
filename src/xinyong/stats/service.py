"""Monitoring: build a month's snapshot, and read snapshots for the board, the public page and the report.

Building is the only step that reads the platform's tables (through the sources of stats/indicators.py);
everything else reads `stat_snapshots` and `stat_months`, a few hundred rows per month.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.core import audit
from xinyong.core.db import utcnow
from xinyong.core.errors import NotFound, Refused
from xinyong.core.jobs import register_daily
from xinyong.stats import sources_more  # noqa: F401  (registers the evaluation and exchange sources)
from xinyong.stats.config import Indicator, get_population
from xinyong.stats.indicators import BuildContext, DrillRows, get_indicators, headline, sources
from xinyong.stats.models import StatMonth, StatSnapshot
from xinyong.stats.rules import Month, change, check_build, meets, month_of, parse_month, ratio

log = logging.getLogger("xinyong.stats")
TREND_MONTHS = 24


def build_month(session: Session, month_text: str, *, today: date, actor: str, rebuild: bool = False,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Compute every indicator of the month into the snapshot tables (replacing the month's rows)."""
    month = parse_month(month_text)
    existing = session.get(StatMonth, month.label)
    state = check_build(month, today, built_closed=existing is not None and existing.state == "closed",
                        rebuild=rebuild)
    started = time.perf_counter()
    indicators = get_indicators()
    ctx = BuildContext(session, month, today, get_population())
    registry = sources()
    rows: list[dict[str, Any]] = []
    for ind in indicators.list():
        if progress:
            progress(ind.name)
        for v in registry[ind.source].compute(ctx, ind):
            rows.append({"month": month.label, "indicator": ind.id, "grouping": v.grouping, "key": v.key,
                         "label": v.label[:200], "numerator": v.numerator, "denominator": v.denominator,
                         "value": ratio(v.numerator, v.denominator, ind.unit)})
    heads = headline(ctx)
    session.execute(delete(StatSnapshot).where(StatSnapshot.month == month.label))
    if rows:
        session.execute(insert(StatSnapshot), rows)
    seconds = round(time.perf_counter() - started, 3)
    rebuilt = existing is not None and existing.state == "closed"
    if existing is None:
        existing = StatMonth(month=month.label, rebuilds=0)
        session.add(existing)
    existing.state, existing.built_by, existing.seconds = state, actor[:100], seconds
    existing.headline = json.dumps(heads, ensure_ascii=False)
    existing.built_at = utcnow()
    if rebuilt:
        existing.rebuilds = (existing.rebuilds or 0) + 1
        audit.record(session, actor=actor, action="stats.rebuild", entity="stat_month", entity_id=month.label,
                     after={"rows": len(rows), "rebuilds": existing.rebuilds})
        log.warning("closed month %s rebuilt by %s (%d rows)", month.label, actor, len(rows))
    else:
        log.info("month %s built (%s, %d rows, %.2fs)", month.label, state, len(rows), seconds)
    session.flush()
    return {"month": month.label, "state": state, "indicators": len(indicators.items), "rows": len(rows),
            "seconds": seconds, "rebuilt": rebuilt}


def daily_build(session: Session, today: date) -> int:
    """The daily job: this month (open), and last month once, when it has not been built since it closed."""
    current = month_of(today)
    done = 0
    previous = session.get(StatMonth, current.previous().label)
    if previous is None or previous.state == "open":
        build_month(session, current.previous().label, today=today, actor="jobs")
        done += 1
    build_month(session, current.label, today=today, actor="jobs")
    return done + 1


register_daily("stats.build", daily_build)


# ---------------------------------------------------------------- reading snapshots


def built_months(session: Session) -> list[str]:
    return list(session.scalars(select(StatMonth.month).order_by(StatMonth.month)))


def resolve_month(session: Session, month_text: str | None) -> Month:
    """The month asked for (it must have been built), else the latest built month."""
    if month_text:
        month = parse_month(month_text)
        if session.get(StatMonth, month.label) is None:
            raise NotFound(f"{month.label} 的统计尚未生成；请先运行 xinyong stats build --month {month.label}",
                           rule="stats.not_built")
        return month
    latest = session.scalar(select(StatMonth.month).order_by(StatMonth.month.desc()).limit(1))
    if latest is None:
        raise NotFound("尚未生成任何月份的统计；请先运行 xinyong stats build", rule="stats.not_built")
    return parse_month(latest)


_COLUMNS = (StatSnapshot.month, StatSnapshot.indicator, StatSnapshot.grouping, StatSnapshot.key, StatSnapshot.label,
            StatSnapshot.numerator, StatSnapshot.denominator, StatSnapshot.value)


def _snapshots(session: Session, months: list[str], grouping: str | None = None,
               key: str | None = None) -> list[Any]:
    """Snapshot rows as plain tuples (no ORM identity map: pages read a few hundred of them per request)."""
    q = select(*_COLUMNS).where(StatSnapshot.month.in_(months))
    if grouping is not None:
        q = q.where(StatSnapshot.grouping == grouping)
    if key is not None:
        q = q.where(StatSnapshot.key == key)
    return list(session.execute(q))


def _visible(indicators: list[Indicator], dept: Department | None) -> list[Indicator]:
    return [i for i in indicators if dept is None or "dept" in i.groups]


def board(session: Session, month: Month, *, dept: Department | None = None) -> dict[str, Any]:
    """Every indicator's value for the month (the city's, or one department's), its target and its change."""
    indicators = _visible(get_indicators().list(), dept)
    grouping, key = ("dept", dept.code) if dept else ("city", "")
    months = [month.shift(-i).label for i in range(TREND_MONTHS - 1, -1, -1)]
    values: dict[tuple[str, str], Any] = {}
    for s in _snapshots(session, months, grouping, key):
        values[(s.indicator, s.month)] = s
    built = {m: state for m, state in session.execute(
        select(StatMonth.month, StatMonth.state).where(StatMonth.month.in_(months)))}
    trend_months = [m for m in months if m in built]
    rows = []
    for ind in indicators:
        snap = values.get((ind.id, month.label))
        prev = values.get((ind.id, month.previous().label))
        value = snap.value if snap else None
        rows.append({
            "id": ind.id, "name": ind.name, "section": ind.section, "section_label": ind.section_label,
            "unit": ind.unit, "definition": ind.definition.model_dump(), "target": ind.target_text,
            "has_target": ind.target is not None, "value": value,
            "numerator": snap.numerator if snap else None, "denominator": snap.denominator if snap else None,
            "meets": meets(value, ind.target.op, ind.target.value) if ind.target else None,
            "previous": prev.value if prev else None, "change": change(value, prev.value if prev else None),
            "drill": ind.drill, "public": ind.public,
            "trend": [values[(ind.id, m)].value if (ind.id, m) in values else None for m in trend_months],
        })
    state = built.get(month.label)
    return {"month": month.label, "state": state, "months": trend_months, "indicators": rows,
            "dept": {"code": dept.code, "name": dept.name} if dept else None}


def league(session: Session, month: Month, indicator_id: str, *, grouping: str = "dept",
           dept: Department | None = None) -> dict[str, Any]:
    """One indicator's values per department (or item, region, type), best first by the target's direction."""
    ind = _indicator(indicator_id)
    if grouping not in ind.groups:
        raise Refused(f"指标“{ind.name}”不按该维度统计；可选：{'、'.join(ind.groups)}", rule="stats.grouping")
    snaps = _snapshots(session, [month.label], grouping)
    rows = [s for s in snaps if s.indicator == ind.id and (dept is None or grouping != "dept" or s.key == dept.code)]
    lower_first = ind.target is not None and ind.direction == "lower"
    rows.sort(key=lambda s: (s.value is None, (s.value or 0) if lower_first else -(s.value or 0), s.key))
    return {"indicator": _indicator_out(ind), "month": month.label, "grouping": grouping, "rows": [
        {"key": s.key, "label": s.label, "numerator": s.numerator, "denominator": s.denominator, "value": s.value,
         "meets": meets(s.value, ind.target.op, ind.target.value) if ind.target else None} for s in rows]}


def leagues(session: Session, month: Month, *, dept: Department | None = None) -> list[dict[str, Any]]:
    """League tables of every indicator grouped by department (one query)."""
    snaps = _snapshots(session, [month.label], "dept")
    per: dict[str, list[Any]] = defaultdict(list)
    for s in snaps:
        if dept is None or s.key == dept.code:
            per[s.indicator].append(s)
    out = []
    for ind in get_indicators().list():
        if "dept" not in ind.groups:
            continue
        lower_first = ind.target is not None and ind.direction == "lower"
        rows = sorted(per.get(ind.id, []), key=lambda s: (s.value is None,
                                                          (s.value or 0) if lower_first else -(s.value or 0), s.key))
        out.append({"indicator": _indicator_out(ind), "rows": [
            {"key": s.key, "label": s.label, "numerator": s.numerator, "denominator": s.denominator,
             "value": s.value, "meets": meets(s.value, ind.target.op, ind.target.value) if ind.target else None}
            for s in rows]})
    return out


def public_summary(session: Session) -> dict[str, Any] | None:
    """The public page: the latest built month's headline figures and the public indicators' city trends."""
    latest = session.scalars(select(StatMonth).order_by(StatMonth.month.desc()).limit(1)).first()
    if latest is None:
        return None
    month = parse_month(latest.month)
    data = board(session, month)
    return {"month": latest.month, "headline": json.loads(latest.headline or "{}"), "months": data["months"],
            "indicators": [r for r in data["indicators"] if r["public"]]}


def drill(session: Session, month: Month, indicator_id: str, *, dept: Department | None = None,
          dept_code: str | None = None) -> dict[str, Any]:
    """The rows behind a number (e.g. the late records behind the on-time share); a department sees its own."""
    ind = _indicator(indicator_id)
    source = sources()[ind.source]
    if not ind.drill or source.drill is None:
        raise NotFound(f"指标“{ind.name}”没有可查看的明细", rule="stats.no_drill")
    dept_id: int | None = dept.id if dept else None
    if dept is None and dept_code:
        found = session.scalar(select(Department).where(Department.code == dept_code))
        if found is None:
            raise NotFound(f"部门代码“{dept_code[:20]}”不存在", rule="stats.dept")
        dept_id = found.id
    rows: DrillRows = source.drill(session, month, dept_id)
    return {"indicator": _indicator_out(ind), "month": month.label, "title": rows.title, "columns": rows.columns,
            "rows": [[v.isoformat() if isinstance(v, date) else v for v in row] for row in rows.rows]}


def _indicator(indicator_id: str) -> Indicator:
    ind = get_indicators().get(indicator_id)
    if ind is None:
        raise NotFound(f"指标“{indicator_id[:40]}”不存在", rule="stats.indicator")
    return ind


def _indicator_out(ind: Indicator) -> dict[str, Any]:
    return {"id": ind.id, "name": ind.name, "unit": ind.unit, "target": ind.target_text,
            "section_label": ind.section_label, "definition": ind.definition.model_dump(), "drill": ind.drill}


def indicator_list() -> list[dict[str, Any]]:
    return [{**_indicator_out(i), "groups": i.groups, "source": i.source, "public": i.public}
            for i in get_indicators().list()]
