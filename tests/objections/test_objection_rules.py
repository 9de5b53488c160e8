"""The objection state machine, walked over every pair of states and every role; deadlines across holidays."""

from __future__ import annotations

import logging
from datetime import date
from itertools import product

import pytest

from xinyong.core.errors import Forbidden, RuleViolation
from xinyong.objections import rules
from xinyong.objections.rules import ROLE_LABELS, Role, State

ALL_ROLES = frozenset(Role)


@pytest.mark.parametrize(("current", "to"), list(product(State, State)))
def test_every_pair_of_states(current: State, to: State) -> None:
    if to in rules.TRANSITIONS[current]:
        rules.check_transition(current, to, ALL_ROLES)
        needed = rules.ACTOR_OF[to]
        rules.check_transition(current, to, frozenset({needed}))
        for other in set(Role) - {needed}:
            with pytest.raises(Forbidden) as exc:
                rules.check_transition(current, to, frozenset({other}))
            assert ROLE_LABELS[needed] in exc.value.detail
    else:
        with pytest.raises(RuleViolation) as exc:
            rules.check_transition(current, to, ALL_ROLES)
        assert "不能变为" in exc.value.detail and exc.value.rule == "objection_transition"


def test_closed_states_have_no_way_out() -> None:
    for state in rules.CLOSED:
        assert rules.TRANSITIONS[state] == frozenset()


def test_a_list_entry_cannot_be_corrected_only_revoked_or_upheld() -> None:
    with pytest.raises(RuleViolation):
        rules.check_outcome(State.CORRECTED, "entry")
    rules.check_outcome(State.CORRECTED, "record")
    rules.check_outcome(State.REVOKED, "entry")
    rules.check_outcome(State.UPHELD, "entry")


@pytest.mark.parametrize(("state", "ok"), [("active", True), ("objection", False), ("expired", False),
                                           ("repaired", False), ("superseded", False), ("revoked", False)])
def test_only_information_in_force_takes_an_objection(state: str, ok: bool) -> None:
    if ok:
        rules.check_target_state(state)
    else:
        with pytest.raises(RuleViolation):
            rules.check_target_state(state)


@pytest.mark.parametrize(("forwarded", "workdays", "due"), [
    (date(2026, 9, 30), 5, date(2026, 10, 13)),   # National Day 10-01..07, Saturday 10-10 is a working day
    (date(2026, 2, 13), 5, date(2026, 2, 27)),    # Spring Festival; Saturday 02-14 is a working day
    (date(2026, 3, 2), 5, date(2026, 3, 9)),      # an ordinary week
])
def test_answer_deadline_counts_working_days_across_holidays(forwarded: date, workdays: int, due: date) -> None:
    assert rules.answer_due(forwarded, workdays) == due


def test_2027_falls_back_to_weekdays_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    from xinyong.core import calendar

    calendar.set_calendar_dir(None)
    with caplog.at_level(logging.WARNING, logger="xinyong.calendar"):
        assert rules.answer_due(date(2027, 9, 30), 5) == date(2027, 10, 7)
    assert "2027" in caplog.text
    calendar.set_calendar_dir(None)


def test_overdue_only_after_the_last_working_day_and_only_while_forwarded() -> None:
    due = date(2026, 10, 13)
    assert not rules.is_overdue(State.FORWARDED, due, due)
    assert rules.is_overdue(State.FORWARDED, due, date(2026, 10, 14))
    assert not rules.is_overdue(State.ANSWERED, due, date(2026, 10, 14))
    assert not rules.is_overdue(State.FORWARDED, None, date(2026, 10, 14))
