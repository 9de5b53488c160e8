"""Task states walked exhaustively; feedback due dates across holidays and make-up days; retry timing."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from xinyong.core import calendar
from xinyong.core.errors import Refused, RuleViolation
from xinyong.joint import rules
from xinyong.joint.rules import TASK_TRANSITIONS, TaskState

CJK = re.compile(r"[\u4e00-\u9fff]")
TODAY = date(2026, 3, 2)


@pytest.mark.parametrize("src", list(TaskState))
@pytest.mark.parametrize("dst", list(TaskState))
def test_every_pair_of_task_states(src: TaskState, dst: TaskState) -> None:
    if dst in TASK_TRANSITIONS[src]:
        rules.check_task_transition(src, dst)
    else:
        with pytest.raises(RuleViolation) as info:
            rules.check_task_transition(src, dst)
        assert CJK.search(info.value.detail) and info.value.rule == "task_transition"


def test_suspended_task_resumes_only_to_where_it_was() -> None:
    rules.check_task_transition(TaskState.SUSPENDED, TaskState.APPLIED, TaskState.APPLIED)
    with pytest.raises(RuleViolation, match="暂停前"):
        rules.check_task_transition(TaskState.SUSPENDED, TaskState.OPEN, TaskState.APPLIED)


@pytest.mark.parametrize("state", list(TaskState))
def test_feedback_only_while_awaited_or_pending(state: TaskState) -> None:
    if state in (TaskState.OPEN, TaskState.OVERDUE, TaskState.PENDING):
        rules.check_feedback_allowed(state)
    else:
        with pytest.raises(RuleViolation) as info:
            rules.check_feedback_allowed(state)
        assert CJK.search(info.value.detail) and info.value.rule == "task_feedback"
    if state == TaskState.SUSPENDED:
        with pytest.raises(RuleViolation, match="暂停执行"):
            rules.check_feedback_allowed(state)


@pytest.mark.parametrize(("dispatched", "due"), [
    (date(2026, 3, 2), date(2026, 3, 16)),     # ordinary fortnight
    # National Day 2026: Oct 1–7 off, Sep 25 (中秋) off, Sun Sep 20 and Sat Oct 10 are make-up working days
    (date(2026, 9, 18), date(2026, 10, 9)),    # Sun 9-20 works; 9-25 and 10-1..7 off: 9-20..24, 9-28..30, 10-8, 10-9
    (date(2026, 9, 28), date(2026, 10, 16)),   # 9-29, 9-30, 10-8, 10-9, Sat 10-10, 10-12..16
    # Spring Festival 2026: Feb 15–23 off; Sat Feb 14 and Sat Feb 28 are make-up working days
    (date(2026, 2, 9), date(2026, 2, 28)),     # 2-10..2-13, Sat 2-14, 2-24..2-27, Sat 2-28
    (date(2026, 2, 13), date(2026, 3, 5)),     # Sat 2-14, 2-24..2-28, 3-2..3-5
])
def test_feedback_due_ten_working_days_after_dispatch(dispatched: date, due: date) -> None:
    assert rules.due_date(dispatched) == due
    assert calendar.workdays_between(dispatched, due) == 10


def test_due_dates_in_2027_come_from_the_calendar_config(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text(
        "year: 2027\nholidays: [2027-01-01, 2027-01-04]\nworkdays: [2027-01-09]\n", encoding="utf-8")
    calendar.set_calendar_dir(tmp_path)
    try:
        # 12-31 Thu dispatch; Jan 1 and Jan 4 off; Sat Jan 9 works: 1-5..1-8, 1-9, 1-11..1-15
        assert rules.due_date(date(2026, 12, 31)) == date(2027, 1, 15)
    finally:
        calendar.set_calendar_dir(None)


def test_feedback_validation_in_chinese() -> None:
    assert rules.check_feedback("applied", "某政府采购项目", TODAY, None, TODAY) == TaskState.APPLIED
    assert rules.check_feedback("pending", None, None, None, TODAY) == TaskState.PENDING
    with pytest.raises(Refused, match="matter"):
        rules.check_feedback("applied", "", TODAY, None, TODAY)
    with pytest.raises(Refused, match="applied_at"):
        rules.check_feedback("applied", "某事项", None, None, TODAY)
    with pytest.raises(Refused, match="不能晚于今天"):
        rules.check_feedback("applied", "某事项", TODAY + timedelta(days=1), None, TODAY)
    with pytest.raises(Refused, match="说明理由"):
        rules.check_feedback("not_applicable", None, None, " ", TODAY)
    with pytest.raises(Refused, match="只能是"):
        rules.check_feedback("lifted", None, None, None, TODAY)
    with pytest.raises(Refused, match="只能是"):
        rules.check_feedback("nonsense", None, None, None, TODAY)


def test_retry_backoff_is_exponential_and_capped_and_gives_up_after_48_hours() -> None:
    delays = [rules.retry_delay(n).total_seconds() for n in range(1, 10)]
    assert delays[:5] == [30, 60, 120, 240, 480] and max(delays) == 600
    start = datetime(2026, 3, 2, tzinfo=UTC)
    assert not rules.gives_up(start, start + timedelta(hours=47, minutes=59))
    assert rules.gives_up(start, start + timedelta(hours=48))
