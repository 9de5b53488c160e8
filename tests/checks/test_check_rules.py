from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from xinyong.checks import rules
from xinyong.checks.rules import ListFact, RecordFact, classify

TODAY = date(2026, 6, 1)
RECORD_STATES = ("active", "objection", "superseded", "repaired", "revoked", "expired")
LIST_STATES = ("proposed", "notified", "published", "suspended", "exited", "revoked")
ITEMS = ("admin_penalty", "business_abnormal", "dishonest_judgment_debtor", "tax_credit_rating", "admin_license",
         "honour", "admin_inspection", "registration")


def test_not_found_whatever_the_facts() -> None:
    facts = [RecordFact("dishonest_judgment_debtor", "active")]
    assert classify(False, facts, [ListFact("black", "published")], TODAY).result == "not_found"


def test_nothing_is_clean() -> None:
    assert classify(True, [], [], TODAY) == rules.Verdict("clean", ())


@pytest.mark.parametrize(("item", "state"), list(itertools.product(ITEMS, RECORD_STATES)))
def test_every_item_in_every_state(item: str, state: str) -> None:
    fact = RecordFact(item, state, TODAY - timedelta(days=10), TODAY + timedelta(days=10), TODAY - timedelta(days=10),
                      "D" if item == "tax_credit_rating" else None)
    verdict = classify(True, [fact], [], TODAY)
    if state not in ("active", "objection"):
        expected = "clean"
    elif item == "dishonest_judgment_debtor":
        expected = "dishonest" if state == "active" else "attention"
    elif item in ("admin_penalty", "business_abnormal", "tax_credit_rating"):
        expected = "attention"
    else:
        expected = "clean"
    assert verdict.result == expected
    assert bool(verdict.reasons) == (expected != "clean")


@pytest.mark.parametrize(("kind", "state"), list(itertools.product(("black", "red", "other"), LIST_STATES)))
def test_every_list_kind_in_every_state(kind: str, state: str) -> None:
    verdict = classify(True, [], [ListFact(kind, state, "严重违法失信名单")], TODAY)
    expected = {("black", "published"): "dishonest", ("black", "suspended"): "attention"}.get((kind, state), "clean")
    assert verdict.result == expected
    if expected != "clean":
        assert "严重违法失信名单" in verdict.reasons[0]


@pytest.mark.parametrize(("until", "in_force"), [(None, True), (TODAY + timedelta(days=1), True), (TODAY, False),
                                                 (TODAY - timedelta(days=1), False)])
def test_window_end_is_exclusive(until: date | None, in_force: bool) -> None:
    fact = RecordFact("admin_penalty", "active", TODAY - timedelta(days=100), until)
    assert rules.in_force(fact, TODAY) is in_force
    assert classify(True, [fact], [], TODAY).result == ("attention" if in_force else "clean")


@pytest.mark.parametrize(("grade", "age", "expected"), [("D", 10, "attention"), ("D", rules.RATING_FRESH_DAYS, "attention"),
                                                        ("D", rules.RATING_FRESH_DAYS + 1, "clean"), ("A", 10, "clean"),
                                                        ("M", 10, "clean"), (None, 10, "clean")])
def test_tax_rating(grade: str | None, age: int, expected: str) -> None:
    fact = RecordFact("tax_credit_rating", "active", None, None, TODAY - timedelta(days=age), grade)
    assert classify(True, [fact], [], TODAY).result == expected


def test_rating_without_date_counts() -> None:
    assert classify(True, [RecordFact("tax_credit_rating", "active", grade="D")], [], TODAY).result == "attention"


def test_dishonest_outranks_attention_and_keeps_every_reason() -> None:
    facts = [RecordFact("admin_penalty", "active"), RecordFact("dishonest_judgment_debtor", "active"),
             RecordFact("admin_penalty", "active")]
    verdict = classify(True, facts, [ListFact("red", "published")], TODAY)
    assert verdict.result == "dishonest"
    assert verdict.reasons == ("被人民法院列为失信被执行人", "有公示期内的行政处罚")


def test_red_list_alone_is_clean() -> None:
    assert classify(True, [RecordFact("honour", "active")], [ListFact("red", "published")], TODAY).result == "clean"


@pytest.mark.parametrize("value", list(rules.MATTER_TYPES))
def test_known_matter_types(value: str) -> None:
    assert rules.check_matter_type(value) is None


@pytest.mark.parametrize("value", ["", "LICENSE", "bidding", "x" * 5000, "<script>"])
def test_unknown_matter_types_are_explained_in_chinese(value: str) -> None:
    reason = rules.check_matter_type(value)
    assert reason is not None and "核查事项类型" in reason and "procurement" in reason
    assert len(reason) < 300
