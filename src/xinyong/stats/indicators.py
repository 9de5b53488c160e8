"""Sources of indicators: registered computations the configuration names, and the shared passes they read.

A source turns one month into values per group (city, region, department, item, type). Sources over records
share ONE aggregate pass per month (`BuildContext.records`: GROUP BY department, item and region), so adding
an indicator adds no scan. Other modules register their own sources with `register_source` (an earlier
package cannot import this one; a later one, e.g. stats.quality, simply calls it on import).
"""

from __future__ import annotations

import pkgutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from importlib import import_module
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.catalog.service import get_catalog
from xinyong.checks.models import CheckLog
from xinyong.checks.rules import MATTER_TYPES
from xinyong.complaints.models import Complaint
from xinyong.core.calendar import workdays_between
from xinyong.ingest.models import Batch, BatchReject
from xinyong.joint.stats import joint_stats
from xinyong.lists.models import ListEntry
from xinyong.objections.models import Objection
from xinyong.records.models import Record
from xinyong.repair.models import RepairApplication
from xinyong.stats.config import (
    Indicator,
    Indicators,
    Population,
    PopulationYear,
    cached_indicators,
    indicators_dir,
)
from xinyong.stats.rules import Month, median
from xinyong.subjects.models import Subject

CST = ZoneInfo("Asia/Shanghai")
ORG_KINDS = ("legal_person", "individual_business", "other_org")
ENTERPRISE_KINDS = ("legal_person", "individual_business")


def utc_start(day: date) -> datetime:
    """The instant a CST calendar day begins, in UTC (how timestamps are stored)."""
    return datetime(day.year, day.month, day.day, tzinfo=CST).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Value:
    grouping: str
    key: str
    label: str
    numerator: float
    denominator: float | None


@dataclass(frozen=True, slots=True)
class DrillRows:
    title: str
    columns: list[str]
    rows: list[list[Any]]


Source = Callable[["BuildContext", Indicator], list[Value]]
Drill = Callable[[Session, Month, int | None], DrillRows]


@dataclass(frozen=True, slots=True)
class SourceDef:
    name: str
    compute: Source
    drill: Drill | None = None


_sources: dict[str, SourceDef] = {}


def register_source(name: str, compute: Source, *, drill: Drill | None = None) -> None:
    _sources[name] = SourceDef(name, compute, drill)


def sources() -> dict[str, SourceDef]:
    return dict(_sources)


@dataclass(slots=True)
class _Agg:
    """Numerator and denominator summed per group while a source walks its rows."""

    groups: list[str]
    labels: dict[tuple[str, str], str] = field(default_factory=dict)
    num: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    den: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))

    def add(self, keys: dict[str, tuple[str, str]], numerator: float, denominator: float = 0.0) -> None:
        for g in self.groups:
            if g == "city":
                k = ("city", "")
                self.labels[k] = "全市"
            elif g in keys:
                k = (g, keys[g][0])
                self.labels[k] = keys[g][1]
            else:
                continue
            self.num[k] += numerator
            self.den[k] += denominator

    def values(self, *, ratio: bool, denominators: dict[tuple[str, str], float] | None = None) -> list[Value]:
        out = []
        self.labels.setdefault(("city", ""), "全市")  # the city always has a value, 0 (or none for a ratio)
        for k in sorted(set(self.num) | set(denominators or {}) | {("city", "")}):
            if k[0] not in self.groups:
                continue
            den: float | None = None
            if ratio:
                den = (denominators or self.den).get(k, 0.0)
            out.append(Value(k[0], k[1], self.labels.get(k, k[1]), self.num.get(k, 0.0), den))
        return out


class BuildContext:
    """One month being built: the session, the month and what several sources share (computed once)."""

    def __init__(self, session: Session, month: Month, today: date, population: Population) -> None:
        self.session = session
        self.month = month
        self.today = today
        self.population = population
        self.start, self.end = utc_start(month.first), utc_start(month.next)

    @cached_property
    def depts(self) -> dict[int, Department]:
        return {d.id: d for d in self.session.scalars(select(Department))}

    def dept_key(self, dept_id: int | None) -> tuple[str, str]:
        d = self.depts.get(dept_id or -1)
        return (d.code, d.name) if d else (str(dept_id), f"部门{dept_id}")

    @cached_property
    def item_names(self) -> dict[str, str]:
        return {i.code: i.name for i in get_catalog().items.values()}

    @cached_property
    def dual_items(self) -> frozenset[str]:
        return frozenset(i.code for i in get_catalog().items.values() if i.dual_publicity)

    def keys(self, dept_id: int | None, item: str | None = None, region: str | None = None) -> dict[str, tuple[str, str]]:
        out = {"dept": self.dept_key(dept_id)}
        if item is not None:
            out["item"] = (item, self.item_names.get(item, item))
        if region:
            out["region"] = (region, self.region_names.get(region, region))
        return out

    @cached_property
    def pop(self) -> PopulationYear | None:
        return self.population.for_year(self.month.first.year)

    @cached_property
    def region_names(self) -> dict[str, str]:
        return {r.code: r.name for r in self.pop.regions} if self.pop else {}

    @cached_property
    def records(self) -> list[Any]:
        """The one pass over records: everything collected up to the month's end, by department, item, region."""
        start, end = self.start, self.end
        last12 = utc_start(self.month.shift(-11).first)
        ytd = utc_start(date(self.month.first.year, 1, 1))
        in_month = Record.created_at >= start

        def count_if(cond: Any) -> Any:
            return func.sum(case((cond, 1), else_=0))

        q = (select(Record.dept_id, Record.item_code, Subject.region_code.label("region"),
                    func.count().label("cum"),
                    count_if(in_month).label("month_n"),
                    count_if(and_(in_month, Record.late.is_(True))).label("late"),
                    count_if(and_(in_month, Record.report_workdays.is_not(None))).label("timed"),
                    count_if(Record.created_at >= last12).label("last12"),
                    count_if(Record.created_at >= ytd).label("ytd"),
                    count_if(Record.state.in_(("active", "objection"))).label("published"))
             .select_from(Record).outerjoin(Subject, Subject.id == Record.subject_id)
             .where(Record.created_at < end)
             .group_by(Record.dept_id, Record.item_code, Subject.region_code))
        return list(self.session.execute(q))

    @cached_property
    def batches(self) -> list[Any]:
        q = (select(Batch.dept_id, Batch.item_code, func.sum(Batch.rows).label("rows"),
                    func.sum(Batch.rejected).label("rejected"), func.sum(Batch.duplicates).label("duplicates"))
             .where(Batch.started_at >= self.start, Batch.started_at < self.end)
             .group_by(Batch.dept_id, Batch.item_code))
        return list(self.session.execute(q))

    @cached_property
    def subjects_by_kind(self) -> dict[str, tuple[int, int]]:
        """kind → (subjects registered, of which with at least one record by the month's end). Registration dates
        are not the platform's (a subject is created when first seen), so the denominator is today's register."""
        totals = {k: n for k, n in self.session.execute(select(Subject.kind, func.count()).group_by(Subject.kind))}
        # a semi-join (one pass over records, hashed), cheaper than probing the index once per subject
        recorded = select(Record.subject_id).where(Record.created_at < self.end)
        covered = {k: n for k, n in self.session.execute(
            select(Subject.kind, func.count()).where(Subject.id.in_(recorded)).group_by(Subject.kind))}
        return {k: (int(n), int(covered.get(k, 0))) for k, n in totals.items()}

    @cached_property
    def joint(self) -> dict[str, Any]:
        return joint_stats(self.session, self.month.label, today=self.today)


# ---------------------------------------------------------------- records


def _collected(ctx: BuildContext, ind: Indicator) -> list[Value]:
    agg = _Agg(ind.groups)
    only_dual = bool(ind.params.get("dual_publicity"))
    for r in ctx.records:
        if only_dual and r.item_code not in ctx.dual_items:
            continue
        agg.add(ctx.keys(r.dept_id, r.item_code, r.region), float(r.month_n or 0))
    return agg.values(ratio=False)


def _per_capita(ctx: BuildContext, ind: Indicator) -> list[Value]:
    agg = _Agg(ind.groups)
    for r in ctx.records:
        agg.add(ctx.keys(r.dept_id, r.item_code, r.region), float(r.cum or 0))
    dens: dict[tuple[str, str], float] = {}
    if ctx.pop is not None:
        dens[("city", "")] = float(ctx.pop.population)
        for reg in ctx.pop.regions:
            dens[("region", reg.code)] = float(reg.population)
            agg.labels.setdefault(("region", reg.code), reg.name)
    # Records of subjects outside the city's regions count for the city, not for a region.
    return [v for v in agg.values(ratio=True, denominators=dens) if v.grouping != "region" or v.key in ctx.region_names]


def _coverage(ctx: BuildContext, ind: Indicator) -> list[Value]:
    kinds = ORG_KINDS if ind.params.get("of") != "persons" else ("natural_person",)
    covered = sum(ctx.subjects_by_kind.get(k, (0, 0))[1] for k in kinds)
    if ind.params.get("of") == "persons":
        den = float(ctx.pop.adults) if ctx.pop else 0.0
    else:
        den = float(sum(ctx.subjects_by_kind.get(k, (0, 0))[0] for k in kinds))
    return [Value("city", "", "全市", float(covered), den)]


def _uploads_per_enterprise(ctx: BuildContext, ind: Indicator) -> list[Value]:
    n = sum(float(r.last12 or 0) for r in ctx.records if r.item_code in ctx.dual_items)
    enterprises = sum(ctx.subjects_by_kind.get(k, (0, 0))[0] for k in ENTERPRISE_KINDS)
    return [Value("city", "", "全市", n, float(enterprises))]


def _on_time(ctx: BuildContext, ind: Indicator) -> list[Value]:
    agg = _Agg(ind.groups)
    for r in ctx.records:
        if r.item_code in ctx.dual_items and r.timed:
            agg.add(ctx.keys(r.dept_id, r.item_code, r.region), float(r.timed - (r.late or 0)), float(r.timed))
    return agg.values(ratio=True)


def _late_records(session: Session, month: Month, dept_id: int | None) -> DrillRows:
    dual = [i.code for i in get_catalog().items.values() if i.dual_publicity]
    q = (select(Record.id, Department.name, Record.item_code, Record.decision_no, Record.decision_date,
                Record.created_at, Record.report_workdays)
         .join(Department, Department.id == Record.dept_id)
         .where(Record.late.is_(True), Record.item_code.in_(dual), Record.created_at >= utc_start(month.first),
                Record.created_at < utc_start(month.next)))
    if dept_id is not None:
        q = q.where(Record.dept_id == dept_id)
    rows = [[r.id, r.name, r.item_code, r.decision_no or "", r.decision_date, r.created_at.astimezone(CST).date(),
             r.report_workdays] for r in session.execute(q.order_by(Record.id).limit(500))]
    return DrillRows("迟报的双公示记录（决定后超过7个工作日报送）",
                     ["记录号", "报送部门", "目录项", "决定文书号", "决定日期", "入库日期", "间隔工作日"], rows)


def _month_records(session: Session, month: Month, dept_id: int | None) -> DrillRows:
    q = (select(Record.id, Department.name, Record.item_code, Record.decision_no, Record.decision_date,
                Record.created_at, Record.state)
         .join(Department, Department.id == Record.dept_id)
         .where(Record.created_at >= utc_start(month.first), Record.created_at < utc_start(month.next)))
    if dept_id is not None:
        q = q.where(Record.dept_id == dept_id)
    rows = [[r.id, r.name, r.item_code, r.decision_no or "", r.decision_date, r.created_at.astimezone(CST).date(),
             r.state] for r in session.execute(q.order_by(Record.id).limit(500))]
    return DrillRows("本月入库的信用记录（前500条）",
                     ["记录号", "报送部门", "目录项", "决定文书号", "决定日期", "入库日期", "状态"], rows)


# ---------------------------------------------------------------- batches: compliance and quality


def _batch_share(ctx: BuildContext, ind: Indicator) -> list[Value]:
    what = ind.params.get("count", "passed")
    only_dual = bool(ind.params.get("dual_publicity"))
    agg = _Agg(ind.groups)
    for b in ctx.batches:
        if only_dual and b.item_code not in ctx.dual_items:
            continue
        rows = float(b.rows or 0)
        n = {"passed": rows - float(b.rejected or 0), "rejected": float(b.rejected or 0),
             "duplicates": float(b.duplicates or 0)}[what]
        agg.add(ctx.keys(b.dept_id, b.item_code), n, rows)
    return agg.values(ratio=True)


def _reject_reasons(session: Session, month: Month, dept_id: int | None) -> DrillRows:
    q = (select(Department.name, BatchReject.field, BatchReject.reason, func.count().label("n"))
         .join(Batch, Batch.id == BatchReject.batch_id).join(Department, Department.id == Batch.dept_id)
         .where(Batch.started_at >= utc_start(month.first), Batch.started_at < utc_start(month.next))
         .group_by(Department.name, BatchReject.field, BatchReject.reason))
    if dept_id is not None:
        q = q.where(Batch.dept_id == dept_id)
    rows = [[r.name, r.field, r.reason, int(r.n)]
            for r in session.execute(q.order_by(func.count().desc()).limit(50))]
    return DrillRows("退回行的主要原因（按部门、字段、原因）", ["部门", "字段", "原因", "行数"], rows)


# ---------------------------------------------------------------- lists and joint (joint.stats does the counting)


def _pushed_on_time(ctx: BuildContext, ind: Indicator) -> list[Value]:
    agg = _Agg(ind.groups)
    codes = {d.code: d for d in ctx.depts.values()}
    for r in ctx.joint["initiators"]:
        d = codes.get(r["dept"])
        agg.add(ctx.keys(d.id if d else None), float(r["initiated"] - r["late_pushes"]), float(r["initiated"]))
    return agg.values(ratio=True)


def _feedback_on_time(ctx: BuildContext, ind: Indicator) -> list[Value]:
    agg = _Agg(ind.groups)
    codes = {d.code: d for d in ctx.depts.values()}
    for r in ctx.joint["feedback"]:
        d = codes.get(r["dept"])
        agg.add(ctx.keys(d.id if d else None), float(r["answered"] - r["late_feedback"]), float(r["tasks"]))
    return agg.values(ratio=True)


def _measures_applied(ctx: BuildContext, ind: Indicator) -> list[Value]:
    agg = _Agg(ind.groups)
    for r in ctx.joint["measures_applied"]:
        agg.add({"type": (r["type"], r["label"])}, float(r["count"]))
    return agg.values(ratio=False)


# ---------------------------------------------------------------- due process


def _objections_per_10k(ctx: BuildContext, ind: Indicator) -> list[Value]:
    agg = _Agg(ind.groups)
    dens: dict[tuple[str, str], float] = defaultdict(float)
    for r in ctx.records:
        k = ctx.keys(r.dept_id)
        dens[("city", "")] += float(r.published or 0)
        dens[("dept", k["dept"][0])] += float(r.published or 0)
    q = (select(Objection.provider_dept_id, func.count())
         .where(Objection.submitted_on >= ctx.month.first, Objection.submitted_on < ctx.month.next)
         .group_by(Objection.provider_dept_id))
    for dept_id, n in ctx.session.execute(q):
        agg.add(ctx.keys(dept_id), float(n))
    return [v for v in agg.values(ratio=True, denominators=dens) if v.numerator or v.grouping == "city"]


def _decided_on_time(ctx: BuildContext, ind: Indicator) -> list[Value]:
    model: Any = {"objections": Objection, "repairs": RepairApplication, "complaints": Complaint}[
        ind.params.get("of", "objections")]
    done = model.concluded_on if model is Complaint else model.decided_on
    dept = model.provider_dept_id if model is Objection else model.dept_id
    q = (select(dept, func.count(), func.sum(case((model.overdue.is_(True), 1), else_=0)))
         .where(done >= ctx.month.first, done < ctx.month.next).group_by(dept))
    agg = _Agg(ind.groups)
    for dept_id, n, late in ctx.session.execute(q):
        agg.add(ctx.keys(dept_id), float(n - (late or 0)), float(n))
    return agg.values(ratio=True)


def _handling_days(ctx: BuildContext, ind: Indicator) -> list[Value]:
    """Working days from filing to decision, for cases decided in the month: median (objections) or mean."""
    model: Any = {"objections": Objection, "repairs": RepairApplication}[ind.params.get("of", "objections")]
    dept = model.provider_dept_id if model is Objection else model.dept_id
    q = (select(dept, model.submitted_on, model.decided_on)
         .where(model.decided_on >= ctx.month.first, model.decided_on < ctx.month.next))
    per: dict[tuple[str, str], list[float]] = defaultdict(list)
    labels: dict[tuple[str, str], str] = {("city", ""): "全市"}
    for dept_id, filed, decided in ctx.session.execute(q):
        days = float(workdays_between(filed, decided)) if decided >= filed else 0.0
        per[("city", "")].append(days)
        if "dept" in ind.groups:
            code, name = ctx.dept_key(dept_id)
            per[("dept", code)].append(days)
            labels[("dept", code)] = name
    out = []
    for k, spans in sorted(per.items()):
        if ind.params.get("stat") == "median":
            # denominator 1: the value is the median itself; no case decided → 0/0, no value
            out.append(Value(k[0], k[1], labels[k], median(spans) or 0.0, 1.0))
        else:
            out.append(Value(k[0], k[1], labels[k], sum(spans), float(len(spans))))
    if not per:
        out.append(Value("city", "", "全市", 0.0, 0.0))
    return out


def _cases_decided(ctx: BuildContext, ind: Indicator) -> list[Value]:
    q = (select(RepairApplication.dept_id, func.count())
         .where(RepairApplication.decided_on >= ctx.month.first, RepairApplication.decided_on < ctx.month.next)
         .group_by(RepairApplication.dept_id))
    agg = _Agg(ind.groups)
    for dept_id, n in ctx.session.execute(q):
        agg.add(ctx.keys(dept_id), float(n))
    return agg.values(ratio=False)


# ---------------------------------------------------------------- checks


def _checks(ctx: BuildContext, ind: Indicator) -> list[Value]:
    hits = CheckLog.result.in_(("attention", "dishonest"))
    q = (select(CheckLog.dept_id, CheckLog.matter_type, func.count(), func.sum(case((hits, 1), else_=0)))
         .where(CheckLog.at >= ctx.start, CheckLog.at < ctx.end).group_by(CheckLog.dept_id, CheckLog.matter_type))
    agg = _Agg(ind.groups)
    hit_rate = ind.params.get("count") == "hits"
    for dept_id, mtype, n, hit in ctx.session.execute(q):
        keys = ctx.keys(dept_id)
        keys["type"] = (mtype, MATTER_TYPES.get(mtype, mtype))
        if hit_rate:
            agg.add(keys, float(hit or 0), float(n))
        else:
            agg.add(keys, float(n))
    return agg.values(ratio=hit_rate)


def headline(ctx: BuildContext) -> dict[str, int]:
    """The public page's headline figures at the month's end."""
    dual_ytd = sum(int(r.ytd or 0) for r in ctx.records if r.item_code in ctx.dual_items)
    lists = ctx.session.scalar(select(func.count()).select_from(ListEntry).where(
        ListEntry.state == "published", ListEntry.published_on < ctx.month.next)) or 0
    repairs = ctx.session.scalar(select(func.count()).select_from(RepairApplication).where(
        RepairApplication.decided_on >= date(ctx.month.first.year, 1, 1),
        RepairApplication.decided_on < ctx.month.next)) or 0
    return {"records": sum(int(r.cum or 0) for r in ctx.records), "dual_ytd": dual_ytd,
            "lists": int(lists), "repairs_ytd": int(repairs)}


register_source("records.collected", _collected, drill=_month_records)
register_source("records.per_capita", _per_capita)
register_source("subjects.coverage", _coverage)
register_source("dual.uploads_per_enterprise", _uploads_per_enterprise)
register_source("dual.on_time", _on_time, drill=_late_records)
register_source("batches.share", _batch_share, drill=_reject_reasons)
register_source("lists.pushed_on_time", _pushed_on_time)
register_source("joint.feedback_on_time", _feedback_on_time)
register_source("joint.measures_applied", _measures_applied)
register_source("objections.per_10k", _objections_per_10k)
register_source("cases.decided_on_time", _decided_on_time)
register_source("cases.handling_days", _handling_days)
register_source("repairs.decided", _cases_decided)
register_source("checks.count", _checks)


_discovered = False


def _discover_sources() -> None:
    """Import the package's other source modules (sources_*.py, quality*.py) so that a CLI command, the daily
    job and the web app all know the same sources, whichever of them imported what first."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    import xinyong.stats as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith(("sources_", "quality")):
            import_module(f"xinyong.stats.{info.name}")


def get_indicators() -> Indicators:
    """The indicators of the configuration in use, checked against the sources registered so far."""
    _discover_sources()
    return cached_indicators(str(indicators_dir().resolve()), frozenset(_sources),
                             frozenset(n for n, s in _sources.items() if s.drill is not None))
