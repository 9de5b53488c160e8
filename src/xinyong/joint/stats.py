"""Oversight of joint reward and punishment for one month: pushes by initiators (by the 10th), tasks by
state, feedback per implementing department, measures applied per type. JSON and XLSX."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.core import clock, exports
from xinyong.core.errors import Refused
from xinyong.joint.config import TYPE_LABELS
from xinyong.joint.models import JointTask
from xinyong.joint.rules import TASK_LABELS, TaskState
from xinyong.lists.config import get_list_types
from xinyong.lists.models import ListEntry

CST = ZoneInfo("Asia/Shanghai")
PUSH_DAY = 10  # 发起部门每月10日前推送上月产生的红黑名单
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(month: str) -> tuple[date, date]:
    m = _MONTH.match(month.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise Refused(f"month 应为 YYYY-MM 格式，如 2026-03（收到“{month[:20]}”）")
    if not 1900 <= int(m.group(1)) <= 2999:  # the previous and next months must be dates too
        raise Refused(f"month 的年份应在 1900 至 2999 之间，如 2026-03（收到“{month[:20]}”）")
    first = date(int(m.group(1)), int(m.group(2)), 1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt


def _utc(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=CST).astimezone(UTC)


def joint_stats(session: Session, month: str, *, today: date | None = None) -> dict[str, Any]:
    today = today or clock.today()
    first, nxt = parse_month(month)
    prev_first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    deadline = date(first.year, first.month, PUSH_DAY)
    start, end, cutoff = _utc(first), _utc(nxt), _utc(date(first.year, first.month, PUSH_DAY + 1))
    depts = {d.id: d for d in session.scalars(select(Department))}

    # -- initiators
    initiator_codes = {code for t in get_list_types().list() for code in t.initiators}
    pushed = {r.dept: r for r in session.execute(
        select(ListEntry.initiator_dept_id.label("dept"), func.count().label("initiated"),
               func.sum(case((ListEntry.created_at < cutoff, 1), else_=0)).label("by_10th"),
               func.sum(case(((ListEntry.created_at >= cutoff) & (ListEntry.decision_date >= prev_first)
                              & (ListEntry.decision_date < first), 1), else_=0)).label("late"))
        .where(ListEntry.created_at >= start, ListEntry.created_at < end).group_by(ListEntry.initiator_dept_id))}
    initiators = []
    for dept in sorted(depts.values(), key=lambda d: d.code):
        if dept.code not in initiator_codes and dept.id not in pushed:
            continue
        row = pushed.get(dept.id)
        by_10th = int(row.by_10th or 0) if row else 0
        late = int(row.late or 0) if row else 0
        initiators.append({
            "dept": dept.code, "dept_name": dept.name, "initiated": int(row.initiated) if row else 0,
            "pushed_by_10th": by_10th, "late_pushes": late,
            # Only judged once the 10th has passed.
            "missed_deadline": today > deadline and (by_10th == 0 or late > 0),
        })

    # -- tasks dispatched this month
    in_month = (JointTask.dispatched_on >= first) & (JointTask.dispatched_on < nxt)
    by_state = {s: 0 for s in TaskState}
    for state, n in session.execute(select(JointTask.state, func.count()).where(in_month).group_by(JointTask.state)):
        by_state[TaskState(state)] = int(n)
    feedback: list[dict[str, Any]] = []
    for r in session.execute(
            select(JointTask.dept_id, func.count().label("tasks"),
                   func.sum(case((JointTask.feedback_at.is_not(None), 1), else_=0)).label("answered"),
                   func.sum(case((JointTask.state == TaskState.OVERDUE.value, 1), else_=0)).label("overdue"),
                   func.sum(case((JointTask.feedback_late.is_(True), 1), else_=0)).label("late"),
                   func.sum(case((JointTask.action == TaskState.APPLIED.value, 1), else_=0)).label("applied"))
            .where(in_month).group_by(JointTask.dept_id)):
        owner = depts.get(r.dept_id)
        tasks, answered = int(r.tasks), int(r.answered or 0)
        feedback.append({"dept": owner.code if owner else str(r.dept_id), "dept_name": owner.name if owner else "",
                         "tasks": tasks, "answered": answered,
                         "feedback_rate": round(answered / tasks, 4) if tasks else 0.0,
                         "overdue": int(r.overdue or 0), "late_feedback": int(r.late or 0),
                         "applied": int(r.applied or 0)})
    feedback.sort(key=lambda row: row["dept"])

    # -- measures applied this month, by type
    applied = {t: 0 for t in TYPE_LABELS}
    for mtype, n in session.execute(select(JointTask.measure_type, func.count())
                                    .where(JointTask.action == TaskState.APPLIED.value,
                                           JointTask.applied_at >= first, JointTask.applied_at < nxt)
                                    .group_by(JointTask.measure_type)):
        applied[mtype] = int(n)

    total = sum(by_state.values())
    answered_all = sum(r["answered"] for r in feedback)
    return {
        "month": f"{first:%Y-%m}", "push_deadline": deadline,
        "initiators": initiators,
        "tasks_by_state": [{"state": s.value, "label": TASK_LABELS[s], "count": by_state[s]} for s in TaskState],
        "tasks_total": total,
        "feedback_rate": round(answered_all / total, 4) if total else 0.0,
        "feedback": feedback,
        "measures_applied": [{"type": t, "label": TYPE_LABELS[t], "count": applied.get(t, 0)} for t in TYPE_LABELS],
    }


def joint_stats_xlsx(stats: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    book = exports.workbook(buf)
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    pct = book.add_format({"num_format": "0.0%"})
    sheets: list[tuple[str, list[str], list[list[Any]]]] = [
        ("发起部门推送", ["部门代码", "部门", "本月发起", "10日前推送", "上月名单迟推", "未按期推送"],
         [[r["dept"], r["dept_name"], r["initiated"], r["pushed_by_10th"], r["late_pushes"],
           "是" if r["missed_deadline"] else "否"] for r in stats["initiators"]]),
        ("任务状态", ["状态", "任务数"], [[r["label"], r["count"]] for r in stats["tasks_by_state"]]),
        ("实施部门反馈", ["部门代码", "部门", "任务数", "已反馈", "反馈率", "逾期未反馈", "逾期反馈", "已实施"],
         [[r["dept"], r["dept_name"], r["tasks"], r["answered"], r["feedback_rate"], r["overdue"],
           r["late_feedback"], r["applied"]] for r in stats["feedback"]]),
        ("措施实施", ["措施类型", "实施次数"], [[r["label"], r["count"]] for r in stats["measures_applied"]]),
    ]
    for title, header, rows in sheets:
        ws = book.add_worksheet(title)
        ws.write_row(0, 0, header, bold)
        for i, row in enumerate(rows, start=1):
            ws.write_row(i, 0, row)
        ws.set_column(0, len(header) - 1, 16)
        if title == "实施部门反馈":
            ws.set_column(4, 4, 10, pct)
    info = book.add_worksheet("说明")
    info.write(0, 0, f"统计月份：{stats['month']}；推送期限：每月{PUSH_DAY}日前推送上月产生的红黑名单；反馈期限：10个工作日")
    book.close()
    return buf.getvalue()
