"""Graded supervision rules: plan and interview state machines, the stratified draw (双随机: random subjects by
grade, two random inspectors per subject avoiding conflicts) and its reproducible fingerprint. Pure functions.

The draw is reproducible: given the population snapshot (subject ids in ascending order with their stratum), the
allocation per stratum, the roster snapshot and the seed, `draw` returns the same subjects and inspectors on any
machine (`random.Random` with a fixed seed; its `sample` and `shuffle` algorithms are stable across CPython
versions for integer seeds).
"""

from __future__ import annotations

import hashlib
import math
import random
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

ALGORITHM = "xinyong-draw-1"
UNGRADED = "未评价"  # the stratum of subjects without a grade under the plan's model
ALL = "all"


class PlanState(StrEnum):
    DRAFT = "draft"
    DRAWN = "drawn"
    IN_PROGRESS = "in_progress"
    PUBLISHED = "published"
    CLOSED = "closed"


PLAN_LABELS = {
    PlanState.DRAFT.value: "草拟",
    PlanState.DRAWN.value: "已抽取",
    PlanState.IN_PROGRESS.value: "检查中",
    PlanState.PUBLISHED.value: "结果已公示",
    PlanState.CLOSED.value: "已结束",
}

# where each plan action may start
PLAN_MOVES: dict[str, frozenset[str]] = {
    "draw": frozenset({PlanState.DRAFT.value}),
    "result": frozenset({PlanState.DRAWN.value, PlanState.IN_PROGRESS.value}),
    "publish": frozenset({PlanState.IN_PROGRESS.value}),
    "close": frozenset({PlanState.PUBLISHED.value}),
}

OUTCOMES = {
    "pass": "未发现问题（合格）",
    "rectify": "发现问题，责令整改",
    "case": "发现问题，立案查处",
    "not_found": "未发现（查无下落）",
    "closed": "已关闭或停业",
}


def plan_may(action: str, state: str) -> bool:
    return state in PLAN_MOVES[action]


class InterviewState(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"                # held; no rectification required
    RECTIFYING = "rectifying"    # held; rectification committed, deadline pending
    OVERDUE = "overdue"          # rectification not done by its deadline (flagged by the daily job)
    RECTIFIED = "rectified"
    CANCELLED = "cancelled"


INTERVIEW_LABELS = {
    InterviewState.SCHEDULED.value: "已安排",
    InterviewState.HELD.value: "已约谈",
    InterviewState.RECTIFYING.value: "整改中",
    InterviewState.OVERDUE.value: "整改逾期",
    InterviewState.RECTIFIED.value: "已整改",
    InterviewState.CANCELLED.value: "已取消",
}

INTERVIEW_MOVES: dict[str, frozenset[str]] = {
    "hold": frozenset({InterviewState.SCHEDULED.value}),
    "cancel": frozenset({InterviewState.SCHEDULED.value}),
    "rectified": frozenset({InterviewState.RECTIFYING.value, InterviewState.OVERDUE.value}),
}


def interview_may(action: str, state: str) -> bool:
    return state in INTERVIEW_MOVES[action]


def is_overdue(state: str, deadline_iso: str | None, today_iso: str) -> bool:
    """Rectification pending past its deadline (the deadline day itself is still in time)."""
    return state == InterviewState.RECTIFYING.value and deadline_iso is not None and today_iso > deadline_iso


def is_low_grade(grade: str | None, order: Sequence[str]) -> bool:
    """Grades from C downwards (C, C-, D, D- …); for a model without C, the worse half of its grades."""
    if grade is None or grade not in order:
        return False
    pos = list(order).index(grade)
    if "C" in order:
        return pos >= list(order).index("C")
    return pos >= math.ceil(len(order) / 2)


# ---------------------------------------------------------------- allocation

def parse_ratio(value: object) -> float | None:
    """'all' → None (everyone); '5%' / 0.05 / 5 (percent when > 1) → 0.05. Raises ValueError in Chinese."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in (ALL, "全部", "100%"):
            return None
        try:
            number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise ValueError(f"抽查比例“{value}”无效：应写成百分比（如 5%）、小数（如 0.05）或 all（全部）") from None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"抽查比例“{value}”无效：应写成百分比（如 5%）、小数（如 0.05）或 all（全部）")
    else:
        number = float(value)
    if number > 1 and not (isinstance(value, str) and value.strip().endswith("%")):
        number = number / 100
    if not 0 <= number <= 1 or math.isnan(number):
        raise ValueError(f"抽查比例“{value}”超出范围：应在 0% 到 100% 之间")
    return None if number == 1 else number


def allocate(counts: Mapping[str, int], ratios: Mapping[str, float | None], size: int | None = None) -> dict[str, int]:
    """How many subjects to draw from each stratum. Without `size`: ceil(n × ratio) (everyone for 'all').
    With `size`: that many in total, spread in proportion to the ratio-based numbers (largest remainder), never
    more than a stratum holds. The caller refuses a size larger than the population."""
    base = {s: (n if ratios.get(s, 0.0) is None else min(n, math.ceil(n * (ratios.get(s) or 0.0) - 1e-9)))
            for s, n in counts.items()}
    if size is None:
        return base
    total = sum(counts.values())
    if size > total:
        raise ValueError(f"抽取数量 {size} 超过检查对象总数 {total}")
    weights = {s: float(base[s]) for s in counts}
    if sum(weights.values()) == 0:
        weights = {s: float(n) for s, n in counts.items()}
    out = {s: 0 for s in counts}
    left = size
    open_ = {s for s in counts if counts[s] > 0 and weights[s] > 0}
    while left > 0 and open_:
        w = sum(weights[s] for s in open_)
        quotas = {s: left * weights[s] / w for s in open_}
        capped = {s for s in open_ if out[s] + quotas[s] >= counts[s]}
        if capped:
            for s in capped:
                left -= counts[s] - out[s]
                out[s] = counts[s]
            open_ -= capped
            continue
        floors = {s: int(quotas[s]) for s in open_}
        for s in open_:
            out[s] += floors[s]
        rest = left - sum(floors.values())
        for s in sorted(open_, key=lambda s: (-(quotas[s] - floors[s]), s))[:rest]:
            out[s] += 1
        left = 0
    if left > 0:  # only strata with zero weight remain: fill them in their order
        for s in counts:
            take = min(left, counts[s] - out[s])
            out[s] += take
            left -= take
    return out


# ---------------------------------------------------------------- the draw

@dataclass(frozen=True, slots=True)
class Inspector:
    id: int
    name: str
    badge_no: str
    conflict_subjects: frozenset[int] = frozenset()
    conflict_regions: tuple[str, ...] = ()     # region code prefixes (e.g. "3714" for a district)

    def conflicts_with(self, subject_id: int, region: str | None) -> bool:
        if subject_id in self.conflict_subjects:
            return True
        return region is not None and any(region.startswith(p) for p in self.conflict_regions)


@dataclass(frozen=True, slots=True)
class Drawn:
    subject_id: int
    stratum: str
    inspectors: tuple[int, int]


@dataclass(slots=True)
class DrawResult:
    items: list[Drawn] = field(default_factory=list)

    def digest(self) -> str:
        h = hashlib.sha256()
        for d in self.items:
            h.update(f"{d.subject_id}|{d.stratum}|{d.inspectors[0]}|{d.inspectors[1]}\n".encode())
        return h.hexdigest()


class NotEnoughInspectors(ValueError):
    def __init__(self, subject_id: int, available: int) -> None:
        super().__init__(subject_id, available)
        self.subject_id = subject_id
        self.available = available


Members = Mapping[str, "array[int]"]  # stratum → its subject ids, ascending


def population_digest(members: Members, names: Sequence[str]) -> str:
    """Fingerprint of the population snapshot: per stratum (in `names` order) its name and its ids (ascending)."""
    h = hashlib.sha256()
    for name in names:
        ids = members.get(name, array("q"))
        h.update(f"{name}\0{len(ids)}\0".encode())
        h.update(ids.tobytes())
    return h.hexdigest()


def pick_subjects(members: Members, names: Sequence[str], allocation: Mapping[str, int],
                  rng: random.Random) -> list[tuple[int, str]]:
    """Per stratum (in `names` order) a uniform sample without replacement over its members in id order."""
    out: list[tuple[int, str]] = []
    for name in names:
        k = allocation.get(name, 0)
        if k <= 0:
            continue
        pool = members.get(name, array("q"))
        if k > len(pool):
            raise ValueError(f"“{name}”档只有 {len(pool)} 户，不能抽取 {k} 户")
        chosen = sorted(rng.sample(range(len(pool)), k))
        out.extend((pool[j], name) for j in chosen)
    return out


def assign(subjects: Sequence[tuple[int, str]], roster: Sequence[Inspector], regions: Mapping[int, str | None],
           rng: random.Random) -> list[Drawn]:
    """Two distinct inspectors at random for each subject, among those without a conflict with it."""
    everyone = sorted(roster, key=lambda x: x.id)
    ids_all = [x.id for x in everyone]
    conflicted = [x for x in everyone if x.conflict_subjects or x.conflict_regions]
    out: list[Drawn] = []
    for sid, stratum in subjects:
        region = regions.get(sid)
        if conflicted and any(x.conflicts_with(sid, region) for x in conflicted):
            pool = [x.id for x in everyone if not x.conflicts_with(sid, region)]
        else:
            pool = ids_all
        if len(pool) < 2:
            raise NotEnoughInspectors(sid, len(pool))
        a, b = rng.sample(pool, 2)
        out.append(Drawn(sid, stratum, (a, b)))
    return out


def draw(members: Members, names: Sequence[str], allocation: Mapping[str, int], roster: Sequence[Inspector],
         regions: Mapping[int, str | None], seed: int) -> DrawResult:
    """The whole draw from its inputs: subjects first, then inspectors, from one seeded generator."""
    rng = random.Random(seed)
    subjects = pick_subjects(members, names, allocation, rng)
    return DrawResult(assign(subjects, roster, regions, rng))
