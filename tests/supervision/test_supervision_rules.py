"""Graded supervision rules: ratios, allocation, the reproducible stratified draw with conflicts, states."""

from __future__ import annotations

import random
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.supervision import rules

NAMES = ["A", "B", "C", "D", rules.UNGRADED]


def population(n: int, seed: int = 1) -> dict[str, array[int]]:
    rng = random.Random(seed)
    members: dict[str, array[int]] = {name: array("q") for name in NAMES}
    for sid in range(10, 10 + 3 * n, 3):
        members[NAMES[rng.randrange(len(NAMES))]].append(sid)
    return members


def everyone(members: dict[str, array[int]]) -> list[int]:
    return sorted(sid for ids in members.values() for sid in ids)


@pytest.mark.parametrize(("text", "value"), [("5%", 0.05), ("0.03", 0.03), (0.2, 0.2), (10, 0.1), ("all", None),
                                             ("全部", None), ("100%", None), ("0%", 0.0)])
def test_ratios_are_read_as_percent_fraction_or_all(text: object, value: float | None) -> None:
    assert rules.parse_ratio(text) == (pytest.approx(value) if value is not None else None)


@pytest.mark.parametrize("bad", ["abc", "150%", -1, True, None, [1]])
def test_bad_ratios_are_refused_in_chinese(bad: object) -> None:
    with pytest.raises(ValueError, match="抽查比例"):
        rules.parse_ratio(bad)


@given(st.text(max_size=12))
def test_parse_ratio_never_crashes_otherwise(text: str) -> None:
    try:
        value = rules.parse_ratio(text)
    except ValueError as exc:
        assert "抽查比例" in str(exc)
    else:
        assert value is None or 0 <= value < 1


def test_allocation_by_ratio_rounds_up_and_takes_all() -> None:
    counts = {"A": 1000, "B": 500, "C": 7, "D": 40, rules.UNGRADED: 0}
    ratios = {"A": 0.03, "B": 0.05, "C": 0.1, "D": None, rules.UNGRADED: 0.05}
    assert rules.allocate(counts, ratios) == {"A": 30, "B": 25, "C": 1, "D": 40, rules.UNGRADED: 0}


@given(st.dictionaries(st.sampled_from(NAMES), st.integers(0, 500), min_size=1),
       st.dictionaries(st.sampled_from(NAMES), st.one_of(st.none(), st.floats(0, 1)), min_size=0),
       st.integers(1, 3000))
def test_allocation_to_a_size_is_exact_and_within_each_stratum(counts: dict[str, int],
                                                              ratios: dict[str, float | None], size: int) -> None:
    total = sum(counts.values())
    if size > total:
        with pytest.raises(ValueError, match="超过检查对象总数"):
            rules.allocate(counts, ratios, size)
        return
    out = rules.allocate(counts, ratios, size)
    assert sum(out.values()) == size
    assert all(0 <= out[s] <= counts[s] for s in counts)


def roster(n: int) -> list[rules.Inspector]:
    return [rules.Inspector(id=i, name=f"检查员{i}", badge_no=f"B{i}") for i in range(1, n + 1)]


def test_the_draw_is_reproducible_from_its_inputs_and_differs_by_seed() -> None:
    members = population(5000)
    alloc = {"A": 30, "B": 20, "C": 10, "D": 5, rules.UNGRADED: 3}
    one = rules.draw(members, NAMES, alloc, roster(6), {}, seed=42)
    again = rules.draw(members, NAMES, alloc, roster(6), {}, seed=42)
    other = rules.draw(members, NAMES, alloc, roster(6), {}, seed=43)
    assert one.items == again.items and one.digest() == again.digest()
    assert one.digest() != other.digest()
    assert len(one.items) == 68 and len({d.subject_id for d in one.items}) == 68
    for d in one.items:
        assert d.subject_id in members[d.stratum]            # drawn from its own stratum
        assert d.inspectors[0] != d.inspectors[1]            # two distinct inspectors


def test_conflicted_inspectors_are_never_sent_and_too_few_free_ones_refuse() -> None:
    members = population(300)
    ids = everyone(members)
    alloc = {n: 20 for n in NAMES}
    first = int(ids[0])
    team = [rules.Inspector(1, "甲", "B1", conflict_subjects=frozenset({first})),
            rules.Inspector(2, "乙", "B2", conflict_regions=("3714",)),
            rules.Inspector(3, "丙", "B3"), rules.Inspector(4, "丁", "B4")]
    regions = {int(sid): ("371402" if i % 2 else "371500") for i, sid in enumerate(ids)}
    result = rules.draw(members, NAMES, alloc, team, regions, seed=7)
    for d in result.items:
        if d.subject_id == first:
            assert 1 not in d.inspectors
        if regions[d.subject_id].startswith("3714"):
            assert 2 not in d.inspectors
    with pytest.raises(rules.NotEnoughInspectors):
        rules.draw(members, NAMES, alloc, team[1:3], {int(s): "371402" for s in ids}, seed=7)


def test_a_stratum_smaller_than_its_allocation_is_refused() -> None:
    with pytest.raises(ValueError, match="档只有"):
        rules.draw(population(10), NAMES, {"A": 50}, roster(2), {}, seed=1)


def test_population_digest_covers_ids_strata_and_names() -> None:
    members = population(100)
    base = rules.population_digest(members, NAMES)
    assert base == rules.population_digest({k: array("q", v) for k, v in members.items()}, list(NAMES))
    moved = dict(members)
    moved["A"], moved["B"] = members["A"] + members["B"][:1], members["B"][1:]
    assert base != rules.population_digest(moved, NAMES)
    assert base != rules.population_digest(members, NAMES[::-1])


@pytest.mark.parametrize(("grade", "low"), [("A+", False), ("A", False), ("B", False), ("C", True), ("C-", True),
                                            ("D", True), ("D-", True), (None, False), ("X", False)])
def test_low_grades_start_at_c(grade: str | None, low: bool) -> None:
    assert rules.is_low_grade(grade, ["A+", "A", "B", "C", "C-", "D", "D-"]) is low


def test_low_grades_without_c_are_the_worse_half() -> None:
    assert [rules.is_low_grade(g, ["A", "B", "M", "D"]) for g in "ABMD"] == [False, False, True, True]


@pytest.mark.parametrize("action", sorted(rules.PLAN_MOVES))
@pytest.mark.parametrize("state", [s.value for s in rules.PlanState])
def test_plan_moves(action: str, state: str) -> None:
    expected = {"draw": {"draft"}, "result": {"drawn", "in_progress"}, "publish": {"in_progress"},
                "close": {"published"}}[action]
    assert rules.plan_may(action, state) is (state in expected)


@pytest.mark.parametrize("action", sorted(rules.INTERVIEW_MOVES))
@pytest.mark.parametrize("state", [s.value for s in rules.InterviewState])
def test_interview_moves(action: str, state: str) -> None:
    expected = {"hold": {"scheduled"}, "cancel": {"scheduled"}, "rectified": {"rectifying", "overdue"}}[action]
    assert rules.interview_may(action, state) is (state in expected)


def test_overdue_is_after_the_deadline_day() -> None:
    assert not rules.is_overdue("rectifying", "2026-05-01", "2026-05-01")
    assert rules.is_overdue("rectifying", "2026-05-01", "2026-05-02")
    assert not rules.is_overdue("rectified", "2026-05-01", "2026-05-02")
    assert not rules.is_overdue("rectifying", None, "2026-05-02")
