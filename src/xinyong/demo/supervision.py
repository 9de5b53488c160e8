"""The demo city's graded supervision: inspector rosters of a few departments, inspection plans in every state
(draft, drawn, results being entered, results published, closed) and 诚信约谈 in every state (scheduled, held,
rectification pending, rectified, overdue). Runs after the evaluation step, so draws are stratified by the grades
it left (subjects without one are 未评价)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from xinyong.accounts.models import Department
from xinyong.core.errors import DomainError

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "海燕", "志强", "丽娟", "晓东", "文静", "国华", "春梅", "永刚", "秀英", "立新", "红霞"]
ROSTERS = {"SCJG": 8, "STHJ": 5, "ZJ": 4}


def load_supervision(*, today: date, seed: int = 7) -> dict[str, int]:
    """The demo step (its own transaction): see setup_supervision."""
    from xinyong.core.db import session_scope

    with session_scope() as session:
        return setup_supervision(session, today=today, seed=seed)


def setup_supervision(session: Any, *, today: date, seed: int = 7) -> dict[str, int]:
    from sqlalchemy import func

    from xinyong.evaluation.grades import COMPREHENSIVE, grade_order
    from xinyong.evaluation.models import EvaluationCurrent
    from xinyong.subjects.models import Subject
    from xinyong.supervision import rules, service
    from xinyong.supervision.models import Plan

    depts = {d.code: d for d in session.scalars(select(Department).where(Department.code.in_(list(ROSTERS))))}
    if "SCJG" not in depts or "STHJ" not in depts or session.scalar(select(Plan.id).limit(1)) is not None:
        return {}  # a second run adds nothing
    orgs = session.scalar(select(func.count(Subject.id)).where(Subject.kind != "natural_person",
                                                              Subject.status == "存续")) or 0
    if orgs < 4:
        return {}
    some = list(session.scalars(select(Subject.uscc).where(Subject.kind != "natural_person", Subject.uscc.is_not(None))
                                .order_by(Subject.id).limit(3)))
    n = 0
    for code, size in ROSTERS.items():
        dept = depts.get(code)
        if dept is None:
            continue
        for i in range(size):
            n += 1
            name = SURNAMES[(n * 7 + seed) % len(SURNAMES)] + GIVEN[(n * 5 + seed) % len(GIVEN)]
            extra: dict[str, Any] = {}
            if code == "SCJG" and i == 0:
                extra["conflict_regions"] = ["371402"]          # lives in 德城区: avoids its firms
            if code == "SCJG" and i == 1 and some:
                extra["conflict_usccs"] = some[:1]               # a relative works there
            service.add_inspector(session, dept, name=name, badge_no=f"37140{n:03d}{code}", actor="demo", **extra)

    quarter = date(today.year, ((today.month - 1) // 3) * 3 + 1, 1)
    start, end = quarter, quarter + timedelta(days=89)
    scjg, sthj = depts["SCJG"], depts["STHJ"]

    def make(dept: Department, scheme: str, name: str, size: int | None) -> Any:
        size = None if size is None else max(1, min(size, orgs // 4))
        return service.create_plan(session, dept, name=name, scheme=scheme, period_start=start, period_end=end,
                                   size=size, actor="demo")

    make(scjg, "scjg_market", f"{today.year}年特种设备使用单位“双随机”抽查（草拟）", None)
    drawn = make(scjg, "scjg_market", f"{today.year}年食品经营者“双随机”抽查", 30)
    service.draw_plan(session, drawn, actor="demo", seed=seed * 1000 + 1)
    outcomes = list(rules.OUTCOMES)
    entered = make(scjg, "scjg_market", f"{today.year}年产品质量“双随机”抽查", 20)
    _results(session, entered, seed * 1000 + 2, outcomes, today, half=True)
    published = make(scjg, "scjg_market", f"{today.year}年广告经营者“双随机”抽查", 15)
    _results(session, published, seed * 1000 + 3, outcomes, today)
    service.publish(session, published, today=today, actor="demo")
    closed = make(sthj, "sthj_environment", f"{today.year}年排污单位“双随机”执法检查", 10)
    _results(session, closed, seed * 1000 + 4, outcomes, today)
    service.publish(session, closed, today=today, actor="demo")
    service.close(session, closed, today=today, actor="demo")

    # 诚信约谈: low-grade subjects under the comprehensive model (or, without grades, listed ones)
    order = grade_order()
    low = [sid for sid, g in session.execute(select(EvaluationCurrent.subject_id, EvaluationCurrent.grade)
                                             .where(EvaluationCurrent.model_id == COMPREHENSIVE)
                                             .order_by(EvaluationCurrent.score, EvaluationCurrent.subject_id).limit(200))
           if rules.is_low_grade(g, order)]
    firms = [s for s in (session.get(Subject, sid) for sid in low) if s is not None and s.uscc][:20]
    if len(firms) < 5:
        firms += _listed(session, scjg, today, 5 - len(firms))
    made = 0
    basis = "《优化营商环境条例》（国务院令第722号）第五十五条；《山东省社会信用条例》"
    plans = [  # (days before today it was scheduled, held?, rectification?, rectified?)
        (0, False, False, False), (30, True, True, False), (60, True, True, True), (50, True, True, False),
        (20, True, False, False)]
    candidates = iter(firms)
    for ago, held, rect, done in plans:
        when = today - timedelta(days=ago)
        at = datetime.combine(when + timedelta(days=2 if ago == 0 else 0), time(9, 30))
        for firm in candidates:
            try:
                with session.begin_nested():
                    iv = service.schedule_interview(session, scjg, uscc=firm.uscc or "", legal_basis=basis,
                                                    reason="信用等级较低，近期多次受到行政处罚", scheduled_at=at,
                                                    place="德州市市场监督管理局 3 楼约谈室", today=when, actor="demo")
            except DomainError:
                continue
            break
        else:
            break
        made += 1
        if held:
            deadline = when + timedelta(days=30) if rect else None
            service.hold_interview(session, iv, outcome="法定代表人到场，承认存在问题并作出说明", held_on=when, today=when,
                                   rectification="30 日内完成整改并提交整改报告" if rect else None, deadline=deadline,
                                   actor="demo")
            if done and deadline:
                service.mark_rectified(session, iv, on=deadline - timedelta(days=3), today=today, actor="demo")
    service.flag_overdue(session, today)
    session.flush()
    return {"inspectors": n, "plans": 5, "interviews": made}


def _results(session: Any, plan: Any, seed: int, outcomes: list[str], today: date, half: bool = False) -> None:
    from xinyong.subjects.models import Subject
    from xinyong.supervision import service
    from xinyong.supervision.models import DrawItem

    service.draw_plan(session, plan, actor="demo", seed=seed)
    items = list(session.execute(select(DrawItem.seq, Subject.uscc).join(Subject, Subject.id == DrawItem.subject_id)
                                 .where(DrawItem.plan_id == plan.id).order_by(DrawItem.seq)))
    if half:
        items = items[: max(1, len(items) // 2)]
    for seq, uscc in items:
        outcome = outcomes[0] if seq % 4 else outcomes[1 + seq % 3]
        service.record_result(session, plan, uscc=uscc, outcome=outcome, note="现场检查" if outcome != "pass" else "",
                              on=today - timedelta(days=seq % 7), today=today, actor="demo")


def _listed(session: Any, dept: Department, today: date, wanted: int) -> list[Any]:
    """Without low grades (no evaluation yet), subjects of serious penalties listed as a department would."""
    from xinyong.lists import service as lists
    from xinyong.lists.schemas import ListEntryIn
    from xinyong.records.models import Record
    from xinyong.subjects.models import Subject

    rows = session.execute(select(Record, Subject).join(Subject, Subject.id == Record.subject_id)
                           .where(Record.dept_id == dept.id, Record.item_code == "admin_penalty",
                                  Record.severity == "严重", Record.state == "active", Subject.uscc.is_not(None),
                                  Record.decision_no.is_not(None), Record.decision_date.is_not(None))
                           .order_by(Record.id).limit(wanted * 3)).all()
    out: list[Any] = []
    for rec, subject in rows:
        if len(out) >= wanted or subject in out:
            continue
        body = ListEntryIn(subject=subject.uscc, list_type="scjg_serious_illegal", decision_no=rec.decision_no,
                           decision_date=min(rec.decision_date, today), facts="受到较重行政处罚，情节严重",
                           basis="《市场监督管理严重违法失信名单管理办法》第九条", record_id=rec.id)
        try:
            with session.begin_nested():
                entry = lists.propose(session, body, dept=dept, today=today)
                lists.notify(session, entry.id, dept=dept, notified_at=today, channel="直接送达", today=today)
                lists.publish(session, entry.id, dept=dept, today=today)
        except DomainError:
            continue
        out.append(subject)
    return out
