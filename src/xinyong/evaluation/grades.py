"""The read contract other domains build on: the current grade of a subject under a model, the order of a
model's grades, and a listener hook called when a run changes grades.

Supervision, financing and statistics import only this module: it reads `evaluation_current` (one indexed
row per model and subject, switched in the run's transaction) and never loads the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeAlias

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.evaluation.models import EvaluationCurrent, EvaluationRun

COMPREHENSIVE = "city_comprehensive"  # the id of the city's comprehensive model


@dataclass(frozen=True, slots=True)
class Grade:
    subject_id: int
    model_id: str
    model_name: str
    model_version: str
    grade: str
    score: float
    as_of: date
    run_id: int


GradeChange: TypeAlias = tuple[int, str | None, str]  # (subject_id, old grade or None, new grade)
GradeListener: TypeAlias = Callable[[Session, str, list[GradeChange]], None]

_listeners: list[GradeListener] = []

# Filled by the model loader (evaluation.config) with every loaded model's bands, best → worst; the
# comprehensive model's shipped order is the default until the configuration has been read.
_orders: dict[str, list[str]] = {}
_DEFAULT_ORDER = ["A+", "A", "B", "C", "C-", "D", "D-"]
_order_loader: Callable[[str], list[str] | None] | None = None


def register_grade_listener(fn: GradeListener) -> None:
    """Later domains hear of grade changes: called in the run's transaction with
    (session, model_id, [(subject_id, old_grade, new_grade), …]) for the subjects whose grade changed."""
    if fn not in _listeners:
        _listeners.append(fn)


def emit_changes(session: Session, model_id: str, changes: list[GradeChange]) -> None:
    if not changes:
        return
    for fn in list(_listeners):
        fn(session, model_id, changes)


def set_order_loader(fn: Callable[[str], list[str] | None]) -> None:
    global _order_loader
    _order_loader = fn


def grade_order(model_id: str = COMPREHENSIVE) -> list[str]:
    """The model's grades, best → worst (e.g. ["A+","A","B","C","C-","D","D-"])."""
    if model_id not in _orders and _order_loader is not None:
        order = _order_loader(model_id)
        if order:
            _orders[model_id] = order
    if model_id in _orders:
        return list(_orders[model_id])
    if model_id == COMPREHENSIVE:
        return list(_DEFAULT_ORDER)
    raise KeyError(model_id)


def _query(model_id: str):  # type: ignore[no-untyped-def]
    return (select(EvaluationCurrent.subject_id, EvaluationCurrent.grade, EvaluationCurrent.score,
                   EvaluationCurrent.as_of, EvaluationCurrent.run_id, EvaluationRun.model_name,
                   EvaluationRun.model_version)
            .join(EvaluationRun, EvaluationRun.id == EvaluationCurrent.run_id)
            .where(EvaluationCurrent.model_id == model_id))


def _grade(model_id: str, row: tuple) -> Grade:  # type: ignore[type-arg]
    subject_id, grade, score, as_of, run_id, name, version = row
    return Grade(subject_id=subject_id, model_id=model_id, model_name=name, model_version=version,
                 grade=grade, score=float(score), as_of=as_of, run_id=run_id)


def current_grade(session: Session, subject_id: int, model_id: str = COMPREHENSIVE) -> Grade | None:
    """The subject's grade in force under the model, or None (not evaluated: outside the population or no run)."""
    row = session.execute(_query(model_id).where(EvaluationCurrent.subject_id == subject_id)).first()
    return _grade(model_id, tuple(row)) if row is not None else None


def current_grades(session: Session, subject_ids: Iterable[int] | None = None,
                   model_id: str = COMPREHENSIVE) -> dict[int, Grade]:
    """Current grades by subject id: of the given subjects (in chunks), or of the model's whole population."""
    if subject_ids is None:
        return {row[0]: _grade(model_id, tuple(row)) for row in session.execute(_query(model_id))}
    ids = list(dict.fromkeys(subject_ids))
    out: dict[int, Grade] = {}
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        for row in session.execute(_query(model_id).where(EvaluationCurrent.subject_id.in_(chunk))):
            out[row[0]] = _grade(model_id, tuple(row))
    return out
