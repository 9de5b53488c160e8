"""Runs: full and incremental evaluation, the atomic switch of current grades, history and migrations, the
lease that keeps a second run of the same model out, and what the pages and the API read.

`run` owns its transactions (like a CLI command): the lease row and the run's history row are committed on
their own so other processes see them; the results, the switch of `evaluation_current` and the run's final
state are one transaction, so a failed or interrupted run leaves the previous results in force."""

from __future__ import annotations

import io
import json
import os
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xinyong.cases.models import CaseEvent
from xinyong.commitments.models import Commitment
from xinyong.core import clock
from xinyong.core.db import dialect_name, new_session, utcnow
from xinyong.core.errors import RuleViolation
from xinyong.core.jobs import register_daily
from xinyong.evaluation import engine as eng
from xinyong.evaluation import grades
from xinyong.evaluation.config import LoadedModel, get_model, get_models
from xinyong.evaluation.grades import GradeChange
from xinyong.evaluation.models import EvaluationCurrent, EvaluationLease, EvaluationResult, EvaluationRun
from xinyong.lists.models import ListEntry, ListEntryEvent
from xinyong.records.models import Record, RecordEvent
from xinyong.repair.models import RepairApplication
from xinyong.subjects.models import Subject

ENGINES = ("polars", "spark")
LEASE_SECONDS = 6 * 3600


@dataclass(slots=True)
class RunOutcome:
    run_id: int
    model: str
    version: str
    engine: str
    as_of: date
    kind: str
    subjects: int
    grades: dict[str, int]
    migrations: list[tuple[str | None, str | None, int]]
    seconds: float
    changed: list[GradeChange] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "model": self.model, "version": self.version, "engine": self.engine,
                "as_of": self.as_of.isoformat(), "subjects": self.subjects, "grades": self.grades,
                "seconds": round(self.seconds, 3)}


# ---------------------------------------------------------------- lease


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_lease(model_id: str) -> None:
    with new_session() as s:
        now = utcnow()
        s.execute(delete(EvaluationLease).where(EvaluationLease.model_id == model_id,
                                                EvaluationLease.expires_at < now))
        s.commit()
        s.add(EvaluationLease(model_id=model_id, holder=_holder(), acquired_at=now,
                              expires_at=now + timedelta(seconds=LEASE_SECONDS)))
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            held = s.get(EvaluationLease, model_id)
            since = held.acquired_at.strftime("%Y-%m-%d %H:%M:%S UTC") if held else "刚才"
            raise RuleViolation(f"评价模型“{model_id}”正在运行（{held.holder if held else ''}，开始于 {since}），"
                                "同一模型不能同时运行两次；请待其结束后再试", rule="evaluation.run_in_progress") from None


def release_lease(model_id: str) -> None:
    with new_session() as s:
        s.execute(delete(EvaluationLease).where(EvaluationLease.model_id == model_id,
                                                EvaluationLease.holder == _holder()))
        s.commit()


# ---------------------------------------------------------------- change detection (refresh)


def watermark(session: Session) -> dict[str, Any]:
    def top(col: Any) -> int:
        return int(session.execute(select(func.coalesce(func.max(col), 0))).scalar_one())

    return {"records": top(Record.id), "record_events": top(RecordEvent.id),
            "list_entry_events": top(ListEntryEvent.id), "case_events": top(CaseEvent.id),
            "at": utcnow().isoformat()}


def changed_subjects(session: Session, loaded: LoadedModel, last: EvaluationRun, as_of: date) -> set[int]:
    """Subjects whose facts may differ from the last run's: new or changed records, list entry events, case
    events, commitment outcomes, subjects' status; and, when the as-of date moved, everything whose
    publication window, list term or indicator window starts or ends between the two dates."""
    wm = json.loads(last.watermark or "{}")
    ids: set[int] = set()

    def add(q: Any) -> None:
        ids.update(int(x) for x in session.execute(q).scalars())

    add(select(Record.subject_id).where(Record.id > wm.get("records", 0)).distinct())
    add(select(Record.subject_id).join(RecordEvent, RecordEvent.record_id == Record.id)
        .where(RecordEvent.id > wm.get("record_events", 0)).distinct())
    add(select(ListEntry.subject_id).join(ListEntryEvent, ListEntryEvent.entry_id == ListEntry.id)
        .where(ListEntryEvent.id > wm.get("list_entry_events", 0)).distinct())
    for case_type, table in (("objection", None), ("repair", RepairApplication)):
        if table is not None:
            add(select(table.subject_id).join(CaseEvent, (CaseEvent.case_id == table.id)
                                              & (CaseEvent.case_type == case_type))
                .where(CaseEvent.id > wm.get("case_events", 0)).distinct())
    lo, hi = sorted((last.as_of, as_of))
    add(select(Commitment.subject_id).where(Commitment.outcome_on >= lo, Commitment.subject_id.is_not(None))
        .distinct())
    since = datetime.fromisoformat(wm["at"]) if "at" in wm else last.started_at
    add(select(Subject.id).where(Subject.updated_at >= since))
    if lo != hi:
        windows = sorted({leaf.window_days for leaf, _b, _n in loaded.model.leaves() if leaf.window_days})

        def between(col: Any, shift: int = 0) -> Any:
            return (col > lo - timedelta(days=shift)) & (col <= hi - timedelta(days=shift))

        add(select(Record.subject_id).where(or_(between(Record.publish_from), between(Record.publish_until),
                                                between(Record.decision_date),
                                                *[between(Record.decision_date, w) for w in windows])).distinct())
        add(select(ListEntry.subject_id).where(or_(between(ListEntry.published_on), between(ListEntry.term_end)))
            .distinct())
        add(select(Commitment.subject_id).where(Commitment.subject_id.is_not(None),
                                                or_(*[between(Commitment.outcome_on, w) for w in windows]))
            .distinct())
        add(select(RepairApplication.subject_id).where(or_(between(RepairApplication.decided_on),
                                                           *[between(RepairApplication.decided_on, w)
                                                             for w in windows])).distinct())
    return ids


# ---------------------------------------------------------------- runs


def last_run(session: Session, model_id: str) -> EvaluationRun | None:
    return session.execute(select(EvaluationRun).where(EvaluationRun.model_id == model_id,
                                                       EvaluationRun.state == "done")
                           .order_by(EvaluationRun.id.desc()).limit(1)).scalar_one_or_none()


def run(model_id: str, *, as_of: date | None = None, engine: str = "polars", kind: str = "full",
        progress: Any = None) -> RunOutcome:
    """Evaluate the model's population (kind full) or the subjects whose facts changed (kind refresh)."""
    if engine not in ENGINES:
        raise RuleViolation(f"未知的计算引擎“{engine}”，可选：polars、spark", rule="evaluation.engine")
    loaded = get_model(model_id)
    today = clock.today()
    as_of = as_of or today
    if as_of > today:
        raise RuleViolation(f"评价基准日 {as_of.isoformat()} 晚于今天（{today.isoformat()}），不能评价未来；"
                            "请不写 --as-of 或写今天及以前的日期", rule="evaluation.as_of_future")
    acquire_lease(model_id)
    try:
        with new_session() as s:
            r = EvaluationRun(model_id=model_id, model_name=loaded.model.name, model_version=loaded.model.version,
                              kind=kind, engine=engine, as_of=as_of, state="running", subjects=0, grades="{}",
                              migrations="[]", watermark="{}", seconds=0.0)
            s.add(r)
            s.commit()
            run_id = r.id
        with new_session() as s:
            s.execute(update(EvaluationLease).where(EvaluationLease.model_id == model_id).values(run_id=run_id))
            s.commit()
        session = new_session()
        try:
            outcome = _work(session, loaded, run_id, as_of, engine, kind)
            session.commit()
        except BaseException as exc:
            session.rollback()
            with new_session() as s:
                s.execute(update(EvaluationRun).where(EvaluationRun.id == run_id)
                          .values(state="failed", error=str(exc)[:2000] or type(exc).__name__,
                                  finished_at=utcnow()))
                s.commit()
            raise
        finally:
            session.close()
        return outcome
    finally:
        release_lease(model_id)


def refresh(model_id: str | None = None, *, as_of: date | None = None, engine: str = "polars") -> list[RunOutcome]:
    """Re-evaluate, in every model (or one), only the subjects whose facts changed since its last run."""
    ids = [model_id] if model_id else sorted(get_models())
    return [run(m, as_of=as_of, engine=engine, kind="refresh") for m in ids]


def _work(session: Session, loaded: LoadedModel, run_id: int, as_of: date, engine: str,
          kind: str) -> RunOutcome:
    started = time.perf_counter()
    model = loaded.model
    mark = watermark(session)
    previous = last_run(session, model.id)
    subject_ids: list[int] | None = None
    if kind == "refresh" and previous is not None:
        subject_ids = sorted(changed_subjects(session, loaded, previous, as_of))
    elif kind == "refresh":
        kind = "full"
    facts = eng.extract(session, model, as_of, subject_ids)
    result = eng.run_engine(loaded, facts, engine)
    ids_json = eng.fact_ids(loaded, facts.facts)
    counts, migrations, changes = _write(session, loaded, run_id, as_of, result, ids_json, subject_ids)
    seconds = time.perf_counter() - started
    session.execute(update(EvaluationRun).where(EvaluationRun.id == run_id).values(
        state="done", kind=kind, subjects=result.height, grades=json.dumps(counts, ensure_ascii=False),
        migrations=json.dumps(migrations, ensure_ascii=False), watermark=json.dumps(mark),
        seconds=seconds, finished_at=utcnow()))
    grades.emit_changes(session, model.id, changes)
    return RunOutcome(run_id=run_id, model=model.id, version=model.version, engine=engine, as_of=as_of, kind=kind,
                      subjects=result.height, grades=counts, migrations=migrations, seconds=seconds,
                      changed=changes)


def _write(session: Session, loaded: LoadedModel, run_id: int, as_of: date, result: pl.DataFrame,
           ids_json: pl.DataFrame, subject_ids: list[int] | None
           ) -> tuple[dict[str, int], list[tuple[str | None, str | None, int]], list[grades.GradeChange]]:
    model = loaded.model
    leaves = [leaf.id for leaf, _b, _n in model.leaves()]
    # only the indicators that moved the score (most subjects: none): the explanation reads a missing one as 0
    moved = [pl.when(pl.col(f"p_{leaf}") != 0).then(pl.lit(f'"{leaf}":') + pl.col(f"p_{leaf}").cast(pl.Utf8))
             for leaf in leaves]
    contrib = pl.concat_str([pl.lit("{"), pl.concat_str(moved, separator=",", ignore_nulls=True).fill_null(""),
                             pl.lit("}")])
    rows = (result.lazy().join(ids_json.lazy(), on="subject_id", how="left")
            .select(pl.lit(run_id).alias("run_id"), pl.lit(model.id).alias("model_id"), "subject_id", "score",
                    "grade", "override", contrib.alias("contributions"),
                    pl.col("facts").fill_null("{}"), pl.lit(as_of).alias("as_of"))
            .collect())
    # migrations: current grades before the switch vs the new ones
    old = _current_frame(session, model.id, subject_ids)
    joined = rows.select("subject_id", "grade").join(old, on="subject_id", how="full", coalesce=True)
    counted = joined.group_by("old", "grade").len().sort("old", "grade", nulls_last=True)
    migrations = [(o, g, int(n)) for o, g, n in counted.iter_rows()]
    changes = [(int(s), o, str(g)) for s, g, o in joined.filter(
        pl.col("grade").is_not_null() & (pl.col("old").is_null() | (pl.col("old") != pl.col("grade")))).iter_rows()]
    counts = dict(Counter(rows["grade"].to_list()))
    order = model.grade_order
    counts = {g: counts[g] for g in order if g in counts}
    _insert_results(session, rows)
    cur = delete(EvaluationCurrent).where(EvaluationCurrent.model_id == model.id)
    if subject_ids is None:
        session.execute(cur)
    else:
        for i in range(0, len(subject_ids), 900):
            session.execute(cur.where(EvaluationCurrent.subject_id.in_(subject_ids[i:i + 900])))
    session.execute(insert(EvaluationCurrent).from_select(
        ["model_id", "subject_id", "run_id", "result_id", "grade", "score", "as_of"],
        select(EvaluationResult.model_id, EvaluationResult.subject_id, EvaluationResult.run_id, EvaluationResult.id,
               EvaluationResult.grade, EvaluationResult.score, EvaluationResult.as_of)
        .where(EvaluationResult.run_id == run_id)))
    return counts, migrations, changes


def _current_frame(session: Session, model_id: str, subject_ids: list[int] | None) -> pl.DataFrame:
    schema = {"subject_id": pl.Int64, "old": pl.Utf8}
    q = select(EvaluationCurrent.subject_id, EvaluationCurrent.grade).where(EvaluationCurrent.model_id == model_id)
    if subject_ids is None:
        return eng.read_frame(session, q, schema)
    frames = [eng.read_frame(session, q.where(EvaluationCurrent.subject_id.in_(subject_ids[i:i + 900])), schema)
              for i in range(0, len(subject_ids), 900)]
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


RESULT_COLUMNS = ("run_id", "model_id", "subject_id", "score", "grade", "override", "contributions", "facts",
                  "as_of")


def _insert_results(session: Session, rows: pl.DataFrame) -> None:
    if rows.height == 0:
        return
    if dialect_name(session) == "postgresql":
        raw = session.connection().connection.driver_connection
        buf = io.BytesIO()
        rows.select(RESULT_COLUMNS).write_csv(buf, include_header=False, null_value="")
        cols = ", ".join(RESULT_COLUMNS)
        with raw.cursor() as cur, cur.copy(f"COPY evaluation_results ({cols}) FROM STDIN WITH (FORMAT csv)") as cp:  # type: ignore[union-attr]
            data = buf.getvalue()
            for i in range(0, len(data), 1 << 20):
                cp.write(data[i:i + (1 << 20)])
        return
    records = rows.select(RESULT_COLUMNS).to_dicts()
    for i in range(0, len(records), 5000):
        session.execute(insert(EvaluationResult), records[i:i + 5000])


# ---------------------------------------------------------------- reads: API, pages, sections, checks


def model_list() -> list[Any]:
    from xinyong.evaluation.schemas import ModelOut

    out = []
    for lm in sorted(get_models().values(), key=lambda m: m.id):
        m = lm.model
        out.append(ModelOut(id=m.id, name=m.name, version=m.version,
                            legal_basis=f"{m.legal_basis.document} {m.legal_basis.article}",
                            subject_kinds=m.subject_kinds, base_score=m.base_score, grades=m.grade_order,
                            indicators=len(m.leaves()), overrides=len(m.overrides), public=m.public))
    return out


def explanation(session: Session, subject_id: int, model_id: str = grades.COMPREHENSIVE) -> dict[str, Any] | None:
    """The subject's current result under the model: grade, score, as-of, model and version, the override that
    decided the grade, the measures of the grade, and every indicator's contribution (largest first)."""
    cur = session.get(EvaluationCurrent, (model_id, subject_id))
    if cur is None:
        return None
    res = session.get(EvaluationResult, cur.result_id)
    run_row = session.get(EvaluationRun, cur.run_id)
    if res is None or run_row is None:
        return None
    lm = get_models().get(model_id)
    contributions = json.loads(res.contributions or "{}")
    facts = json.loads(res.facts or "{}")
    rows: list[dict[str, Any]] = []
    override_name = None
    if lm is not None:
        for leaf, budget, names in lm.model.leaves():
            pts = float(contributions.get(leaf.id, 0.0))
            rows.append({"indicator": leaf.id, "name": leaf.name, "path": " › ".join(names),
                         "direction": "加分" if leaf.direction == "bonus" else "扣分", "points": pts,
                         "budget": budget, "facts": [int(x) for x in facts.get(leaf.id, [])],
                         "text": _plain(leaf.name, leaf.direction or "", pts, len(facts.get(leaf.id, [])))})
        override_name = next((o.name for o in lm.model.overrides if o.id == res.override), None)
    rows.sort(key=lambda r: (-abs(float(r["points"])), str(r["indicator"])))
    measures = list(lm.model.measures.get(cur.grade, [])) if lm else []
    return {"model": model_id, "model_name": run_row.model_name, "version": run_row.model_version,
            "grade": cur.grade, "score": cur.score, "as_of": cur.as_of, "run_id": cur.run_id,
            "override": res.override, "override_name": override_name, "measures": measures,
            "base_score": lm.model.base_score if lm else None, "contributions": rows,
            "public": bool(lm and lm.model.public)}


def _plain(name: str, direction: str, points: float, n: int) -> str:
    if points == 0:
        return f"{name}：未影响得分"
    verb = "加" if points > 0 else "扣"
    facts = f"（依据 {n} 条信息）" if n else ""
    return f"{name}：{verb} {abs(points):g} 分{facts}"


def top_movers(expl: dict[str, Any], limit: int = 3) -> list[str]:
    return [r["text"] for r in expl["contributions"] if r["points"] != 0][:limit]


def runs(session: Session, model_id: str | None = None, limit: int = 50) -> list[EvaluationRun]:
    q = select(EvaluationRun).order_by(EvaluationRun.id.desc()).limit(limit)
    if model_id:
        q = q.where(EvaluationRun.model_id == model_id)
    return list(session.execute(q).scalars())


def distribution(session: Session, model_id: str, by: str = "region") -> list[tuple[str, dict[str, int]]]:
    """Current grade counts by region (区县) or by subject kind (行业 where the registration carries none)."""
    from xinyong.core.regions import lookup_region

    col = Subject.region_code if by == "region" else Subject.kind
    rows = session.execute(select(col, EvaluationCurrent.grade, func.count())
                           .join(Subject, Subject.id == EvaluationCurrent.subject_id)
                           .where(EvaluationCurrent.model_id == model_id)
                           .group_by(col, EvaluationCurrent.grade)).all()
    table: dict[str, dict[str, int]] = {}
    for key, grade, n in rows:
        if by == "region":
            region = lookup_region(key) if key else None
            label = region.full_name if region else (key or "未知")
        else:
            label = _kind_label(key) or (key or "未知")
        table.setdefault(label, {})[grade] = int(n)
    return sorted(table.items())


def _kind_label(kind: str | None) -> str | None:
    from xinyong.subjects.models import KIND_LABELS

    return KIND_LABELS.get(kind or "")


def daily_refresh(_session: Session, today: date) -> int:
    """`jobs run-daily`: refresh every model that has run before (a model never run waits for its first full
    run); the number of subjects re-evaluated."""
    from xinyong.catalog.service import config_dir

    if not (config_dir() / "evaluation").is_dir():
        return 0
    total = 0
    for model_id in sorted(get_models()):
        with new_session() as s:
            if last_run(s, model_id) is None:
                continue
        total += run(model_id, as_of=today, kind="refresh").subjects
    return total


register_daily("evaluation.refresh", daily_refresh)
