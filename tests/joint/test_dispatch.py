"""Dispatch, feedback, overdue flags, suspension and lifting, checks and oversight, on both databases."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lists_support import add_departments, new_org, propose, publish
from xinyong.core.audit import AuditEvent
from xinyong.core.errors import Forbidden, RuleViolation
from xinyong.joint import service as joint
from xinyong.joint import stats
from xinyong.joint.config import get_measures
from xinyong.joint.models import JointTask, JointTaskCheck, JointTaskEvent
from xinyong.lists import service as lists

TODAY = date(2026, 3, 2)


def _tasks(db: Session, entry_id: int) -> list[JointTask]:
    return list(db.scalars(select(JointTask).where(JointTask.entry_id == entry_id).order_by(JointTask.id)))


def _expected(list_type: str, registered: set[str]) -> set[tuple[str, str]]:
    return {(m.code, code) for m in get_measures().for_list_type(list_type) for code in m.implementers
            if code in registered}


def test_publishing_creates_one_task_per_implementing_department_and_measure(db: Session) -> None:
    d = add_departments(db)
    entry = publish(db, d["SCJG"], new_org(db), today=TODAY)
    db.commit()
    tasks = _tasks(db, entry.id)
    codes = {v.id: k for k, v in d.items()}
    assert {(t.measure_code, codes[t.dept_id]) for t in tasks} == _expected("scjg_serious_illegal", set(d))
    assert all(t.state == "open" and t.dispatched_on == TODAY and t.due_date == date(2026, 3, 16) for t in tasks)
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "joint.dispatch")) == 1


def test_departments_not_registered_are_skipped(db: Session) -> None:
    d = add_departments(db, ["SCJG", "ZJ"])
    entry = publish(db, d["SCJG"], new_org(db), today=TODAY)
    assert {t.dept_id for t in _tasks(db, entry.id)} == {d["SCJG"].id, d["ZJ"].id}


def test_feedback_by_the_tasks_department(db: Session) -> None:
    d = add_departments(db)
    entry = publish(db, d["SCJG"], new_org(db), today=TODAY)
    task = next(t for t in _tasks(db, entry.id) if t.dept_id == d["ZJ"].id and t.measure_code == "p1_bidding")
    joint.give_feedback(db, task.id, dept=d["ZJ"], action="applied", matter="德州某工程施工招标",
                        applied_at=date(2026, 3, 5), note=None, today=date(2026, 3, 5))
    assert task.state == "applied" and task.feedback_late is False and task.feedback_at is not None
    with pytest.raises(RuleViolation, match="不能重复反馈"):
        joint.give_feedback(db, task.id, dept=d["ZJ"], action="not_applicable", matter=None, applied_at=None,
                            note="再次", today=date(2026, 3, 6))
    events = list(db.scalars(select(JointTaskEvent).where(JointTaskEvent.task_id == task.id)))
    assert [(e.action, e.to_state) for e in events] == [("feedback", "applied")]


def test_feedback_from_another_department_is_refused_and_changes_nothing(db: Session) -> None:
    d = add_departments(db)
    entry = publish(db, d["SCJG"], new_org(db), today=TODAY)
    db.commit()
    task = next(t for t in _tasks(db, entry.id) if t.dept_id == d["ZJ"].id)
    audits = db.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(Forbidden) as info:
        joint.give_feedback(db, task.id, dept=d["JT"], action="applied", matter="x", applied_at=TODAY, note=None,
                            today=TODAY)
    assert "不属于本部门" in info.value.detail and info.value.status == 403
    db.rollback()
    fresh = db.get(JointTask, task.id)
    assert fresh.state == "open" and fresh.feedback_at is None
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == audits


def test_overdue_scan_flags_open_tasks_past_due_and_late_feedback_is_marked(db: Session) -> None:
    d = add_departments(db)
    entry = publish(db, d["SCJG"], new_org(db), today=TODAY)
    tasks = _tasks(db, entry.id)
    answered = tasks[0]
    joint.give_feedback(db, answered.id, dept=db.get(type(d["SCJG"]), answered.dept_id), action="pending",
                        matter=None, applied_at=None, note=None, today=TODAY)
    db.commit()
    assert joint.mark_overdue(db, date(2026, 3, 16)) == 0       # the due date itself is still in time
    assert joint.mark_overdue(db, date(2026, 3, 17)) == len(tasks) - 1
    db.expire_all()
    assert {t.state for t in _tasks(db, entry.id)} == {"overdue", "pending"}
    late = tasks[1]
    joint.give_feedback(db, late.id, dept=db.get(type(d["SCJG"]), late.dept_id), action="not_applicable",
                        matter=None, applied_at=None, note="未在本部门办理业务", today=date(2026, 3, 18))
    assert late.state == "not_applicable" and late.feedback_late is True


def test_suspension_resumption_and_exit_move_the_tasks_and_notify(db: Session) -> None:
    d = add_departments(db)
    entry = publish(db, d["SCJG"], new_org(db), today=TODAY)
    first = _tasks(db, entry.id)[0]
    joint.give_feedback(db, first.id, dept=db.get(type(d["SCJG"]), first.dept_id), action="pending", matter=None,
                        applied_at=None, note=None, today=TODAY)
    lists.suspend_entry(db, entry.id, actor="objection:1", reason="异议已受理", today=TODAY)
    db.expire_all()
    assert {t.state for t in _tasks(db, entry.id)} == {"suspended"}
    with pytest.raises(RuleViolation, match="暂停执行"):
        joint.give_feedback(db, first.id, dept=db.get(type(d["SCJG"]), first.dept_id), action="applied",
                            matter="x", applied_at=TODAY, note=None, today=TODAY)
    lists.resume_entry(db, entry.id, actor="objection:1", reason="异议不成立", today=TODAY)
    db.expire_all()
    states = [t.state for t in _tasks(db, entry.id)]
    assert states[0] == "pending" and set(states[1:]) == {"open"}
    lists.exit_entry(db, entry.id, actor="repair:1", reason="信用修复", today=date(2026, 4, 1))
    db.expire_all()
    assert {(t.state, t.lifted_on) for t in _tasks(db, entry.id)} == {("lifted", date(2026, 4, 1))}
    actions = [e.action for e in db.scalars(select(JointTaskEvent).where(JointTaskEvent.task_id == first.id)
                                              .order_by(JointTaskEvent.id))]
    assert actions == ["feedback", "measure.suspended", "measure.resumed", "measure.lifted"]


def test_check_creates_or_links_a_task_for_the_calling_department(db: Session) -> None:
    from lists_support import DEPTS

    d = add_departments(db, [c for c in DEPTS if c != "CG"])
    s = new_org(db)
    entry = publish(db, d["SCJG"], s, today=TODAY)
    before = len(_tasks(db, entry.id))
    found = joint.measures_for_check(db, subject_id=s.id, dept=d["ZJ"], check_id="chk-1", today=TODAY)
    assert {m["code"] for m in found} == {m.code for m in get_measures().for_list_type("scjg_serious_illegal")
                                          if "ZJ" in m.implementers}
    row = found[0]
    assert {"code", "name", "type", "legal_basis", "list_type", "entry_id", "task_id", "suspended"} <= set(row)
    assert row["entry_id"] == entry.id and row["task_id"] and row["suspended"] is False
    assert len(_tasks(db, entry.id)) == before  # linked the dispatched tasks
    links = list(db.scalars(select(JointTaskCheck.check_id).where(JointTaskCheck.dept_id == d["ZJ"].id)))
    assert links == ["chk-1"] * len(found)
    # a department added after publication gets its task created by the check
    extra = add_departments(db, ["CG"])["CG"]
    made = joint.measures_for_check(db, subject_id=s.id, dept=extra, check_id=42, today=TODAY)
    assert made and all(m["task_id"] for m in made)
    assert db.get(JointTask, made[0]["task_id"]).created_via == "check"
    lists.suspend_entry(db, entry.id, actor="o", reason="异议", today=TODAY)
    assert all(m["suspended"] for m in joint.measures_for_check(db, subject_id=s.id, dept=d["ZJ"], check_id=3,
                                                                today=TODAY))
    assert joint.measures_for_check(db, subject_id=new_org(db).id, dept=d["ZJ"], check_id=4, today=TODAY) == []


def test_red_list_entry_dispatches_incentives(db: Session) -> None:
    d = add_departments(db)
    entry = publish(db, d["SW"], new_org(db), list_type="sw_a_grade_taxpayer", today=TODAY,
                    decision_date=date(2026, 2, 1))
    assert {t.measure_type for t in _tasks(db, entry.id)} == {"incentive"}


def test_monthly_oversight_counts_and_xlsx(db: Session) -> None:
    d = add_departments(db)
    entry = publish(db, d["SCJG"], new_org(db), today=TODAY)  # created now (test run), dispatched 2026-03-02
    task = next(t for t in _tasks(db, entry.id) if t.dept_id == d["ZJ"].id)
    joint.give_feedback(db, task.id, dept=d["ZJ"], action="applied", matter="招标项目", applied_at=TODAY, note=None,
                        today=TODAY)
    db.commit()
    data = stats.joint_stats(db, "2026-03", today=date(2026, 3, 20))
    total = len(_tasks(db, entry.id))
    assert data["tasks_total"] == total
    by_state = {r["state"]: r["count"] for r in data["tasks_by_state"]}
    assert by_state["applied"] == 1 and by_state["open"] == total - 1
    zj = next(r for r in data["feedback"] if r["dept"] == "ZJ")
    assert zj["answered"] == 1 and zj["applied"] == 1 and 0 < zj["feedback_rate"] <= 1
    assert next(r for r in data["measures_applied"] if r["type"] == "1")["count"] == 1
    initiators = {r["dept"]: r for r in data["initiators"]}
    assert "SCJG" in initiators and initiators["SW"]["missed_deadline"] is True
    book = load_workbook(io.BytesIO(stats.joint_stats_xlsx(data)))
    assert book.sheetnames[:4] == ["发起部门推送", "任务状态", "实施部门反馈", "措施实施"]
    with pytest.raises(Exception, match="YYYY-MM"):
        stats.joint_stats(db, "2026-13")


def test_unpublished_entries_dispatch_nothing(db: Session) -> None:
    d = add_departments(db)
    entry = propose(db, d["SCJG"], new_org(db), today=TODAY)
    lists.notify(db, entry.id, dept=d["SCJG"], notified_at=TODAY, channel="邮寄", today=TODAY)
    assert _tasks(db, entry.id) == []
