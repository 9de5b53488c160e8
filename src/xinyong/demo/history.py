"""Two years of dated history for the demo city, made through the domains' own service functions.

Every event (a list entry proposed, a task's feedback, an objection forwarded, a batch with wrong codes ...) is
put on one timeline and played in date order with the legal clock standing on its day, so that deadlines,
late flags and case numbers come out as they would have. Steps that would fall after the demo's today are not
played: the cases of the last weeks stay open in their intermediate states. At each month's end the daily jobs
run (overdue flags, list expiry, the data-quality scan), as the scheduler would have run them.

Behaviour is spread so that the indicators have something to show: some departments publish lists late or
leave feedback missing, some send codes with wrong check characters, one stops sending; objections, repairs,
complaints and commitments go through every state of their life cycles. Deterministic for a seed.
"""

from __future__ import annotations

import csv
import heapq
import logging
import random
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from xinyong.access.actors import actor_for_dept
from xinyong.accounts.models import Department
from xinyong.cases.attachments import Upload
from xinyong.core import calendar, clock
from xinyong.core.clock import FixedClock
from xinyong.core.errors import DomainError
from xinyong.core.identifiers import make_uscc
from xinyong.ingest.models import Batch
from xinyong.lists.models import ListEntry
from xinyong.lists.schemas import ListEntryIn
from xinyong.records.models import Record
from xinyong.subjects.models import Subject

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PENALTY_HEADERS = [
    "行政相对人名称", "行政相对人类别", "行政相对人代码_1(统一社会信用代码)", "法定代表人", "法定代表人证件号码",
    "证件类型", "证件号码", "行政处罚决定书文号", "处罚类别", "罚款金额(万元)", "处罚决定日期", "公示截止期", "处罚机关",
]  # fmt: skip

# Black lists whose initiator is a demo department, with facts and basis; red lists likewise.
LISTS: dict[str, tuple[str, str, str]] = {
    "scjg_serious_illegal": ("SCJG", "生产销售不符合食品安全标准的食品，情节严重", "《市场监督管理严重违法失信名单管理办法》第九条"),
    "sw_major_tax_violation": ("SW", "虚开增值税专用发票，偷税数额较大", "《重大税收违法失信主体信息公布管理办法》第六条"),
    "yjgl_serious_dishonest": ("YJGL", "发生较大生产安全事故，负有主要责任", "《安全生产严重失信主体名单管理办法》第五条"),
    "rs_wage_arrears": ("RS", "拖欠农民工工资数额较大，经责令限期支付后逾期未支付", "《拖欠农民工工资失信联合惩戒对象名单管理暂行办法》第五条"),
    "zy_dishonest_judgment_debtor": ("ZY", "有履行能力而拒不履行生效法律文书确定的义务", "《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条"),
    "sw_a_grade_taxpayer": ("SW", "年度纳税信用评价为A级", "《纳税信用管理办法》第二十条"),
    "hg_advanced_certified": ("XYB", "经海关认证为高级认证企业", "《海关注册登记和备案企业信用管理办法》第十条"),
}
# Departments that publish late (lists), leave feedback late or missing, send wrong codes, stop sending.
LATE_PUBLISHERS = {"RS", "YJGL"}
PROVIDERS = ("SCJG", "SW", "STHJ", "YJGL", "RS", "ZJ", "JT", "WJ")  # their monthly penalty deliveries
LATE_UPLOADERS = {"STHJ", "JT"}
POOR_FEEDBACK = {"JT", "WJ", "GA"}
CODE_ERRORS = ("GA", "CG")  # not among PROVIDERS: their last wrong batch stays uncorrected
SILENT = ("SL", "MZ")
# Steps whose service checks everything before writing anything (joint.give_feedback, lists.notify)
CHECKED_FIRST = frozenset({"_feedback", "_notify"})
COMPLAINT_CATEGORIES = ("食品药品安全", "产品质量", "环境污染", "安全生产", "欠薪欠保", "税收违法", "工程建设", "交通运输")


class History:
    def __init__(self, session: Session, today: date, seed: int) -> None:
        self.s = session
        self.today = today
        self.rng = random.Random(seed * 7919 + 14)
        self.depts = {d.code: d for d in session.scalars(select(Department))}
        self.office = next((d for d in self.depts.values() if d.is_credit_office), None)
        self.events: list[tuple[date, int, Callable[..., None], tuple[Any, ...]]] = []
        self.seq = count()
        self.done: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}
        self.penalties: list[tuple[int, int, str, date, str]] = []  # record id, dept id, uscc, decided, decision no
        self.orgs: list[tuple[str, str]] = []  # (uscc, name)
        self.tmp = Path(tempfile.mkdtemp(prefix="xinyong-history-"))
        self.batch_no = count(1)
        self.batches_since_scan = 0

    # ---------------------------------------------------------------- the timeline

    def at(self, day: date, fn: Callable[..., None], *args: Any) -> None:
        if day <= self.today:
            heapq.heappush(self.events, (day, next(self.seq), fn, args))

    def run(self) -> None:
        while self.events:
            day, _, fn, args = heapq.heappop(self.events)
            name = fn.__name__.lstrip("_")
            started = perf_counter()
            with clock.use(FixedClock(day)):
                try:
                    if fn.__name__ in CHECKED_FIRST:
                        fn(day, *args)  # refuses before it writes: no savepoint needed (they cost)
                    else:
                        with self.s.begin_nested():
                            fn(day, *args)
                    self.done[name] += 1
                except (DomainError, LookupError, ValueError):
                    self.skipped[name] += 1
            self.seconds[name] = self.seconds.get(name, 0.0) + perf_counter() - started

    def wd(self, day: date, n: int) -> date:
        """n working days after day; past the demo's year only weekdays count (no holiday file needed)."""
        d = day
        while n > 0:
            d += timedelta(days=1)
            if (calendar.is_workday(d) if d.year <= self.today.year else d.weekday() < 5):
                n -= 1
        return d

    def workday_in(self, first: date, last: date) -> date:
        day = first + timedelta(days=self.rng.randrange(max(1, (last - first).days + 1)))
        while not calendar.is_workday(day):
            day += timedelta(days=1)
        return day

    # ---------------------------------------------------------------- pools

    def load_pools(self) -> None:
        """Organisations to act on. The records history works on (objections, repairs, lists) are its own:
        the penalty batches it sends month by month, so a second `xinyong demo` re-sending the departments'
        files finds nothing changed by history."""
        orgs = self.s.execute(select(Subject.uscc, Subject.name).where(Subject.uscc.is_not(None),
                                                                       Subject.kind == "legal_person")
                              .order_by(Subject.id).limit(3000)).all()
        self.orgs = [(str(u), str(n)) for u, n in orgs]
        self.rng.shuffle(self.orgs)

    def _penalty_batch(self, day: date, dept_code: str, late: bool, spread: int) -> None:
        """A department's monthly delivery of 行政处罚 decisions (some sent late: decided weeks before)."""
        from xinyong.demo.departments import BY_CODE

        prefix = BY_CODE[dept_code].doc_prefix if dept_code in BY_CODE else dept_code
        rows = []
        for _ in range(5 + self.rng.randrange(6)):
            uscc, name = self.orgs[self.rng.randrange(len(self.orgs))]
            decided = day - timedelta(days=self.rng.randrange(20, 45) if late else self.rng.randrange(0, 6))
            decided -= timedelta(days=self.rng.randrange(spread + 1))
            while not calendar.is_workday(decided):
                decided -= timedelta(days=1)
            no = f"{prefix}〔{decided.year}〕H{next(self.seq)}号"
            row = self._row(name, uscc, no, decided, dept_code)
            row[9] = str(self.rng.choice(("0.2", "0.5", "1", "2", "3.5", "5")))
            rows.append(row)
        batch_id = self._ingest(day, dept_code, rows)
        found = self.s.execute(
            select(Record.id, Record.dept_id, Subject.uscc, Record.decision_date, Record.decision_no)
            .join(Subject, Subject.id == Record.subject_id).where(Record.batch_id == batch_id)).all()
        self.penalties.extend((int(r[0]), int(r[1]), str(r[2]), r[3], str(r[4])) for r in found
                              if r[3] is not None and r[4] is not None)

    def penalty_before(self, day: date, *, min_age: int = 0, dept_codes: set[str] | None = None) -> tuple[Any, ...]:
        ids = {self.depts[c].id for c in dept_codes if c in self.depts} if dept_codes else None
        for _ in range(40 if self.penalties else 0):
            p = self.penalties[self.rng.randrange(len(self.penalties))]
            if p[3] <= day - timedelta(days=min_age) and (ids is None or p[1] in ids):
                return p
        raise LookupError("no penalty record fits")

    def dept_by_id(self, dept_id: int) -> Department:
        return next(d for d in self.depts.values() if d.id == dept_id)

    # ---------------------------------------------------------------- planning

    def plan(self) -> None:
        first = date(self.today.year - 2, self.today.month, 1) + timedelta(days=32)
        first = first.replace(day=1)
        months = []
        m = first
        while m <= self.today:
            months.append(m)
            m = (m + timedelta(days=32)).replace(day=1)
        for i, start in enumerate(months):
            end = min((start + timedelta(days=32)).replace(day=1) - timedelta(days=1), self.today)
            last_month = i >= len(months) - 2
            first_day = self.wd(start - timedelta(days=1), 1)
            for k, code in enumerate(PROVIDERS[(i % 4)::4]):
                self.at(self.wd(first_day, k), self._penalty_batch, code,
                        code in LATE_UPLOADERS and self.rng.random() < 0.6, 180 if i == 0 else 0)
            busy = 1.0 + 0.6 * ((i % 6) in (2, 3)) - 0.4 * ((i % 12) == 1)  # seasons: some months miss targets
            for _ in range(max(1, round((2 + self.rng.randrange(2)) * busy))):
                self.plan_list_entry(self.workday_in(start, end))
            for _ in range(max(1, round((1 + self.rng.randrange(3)) * busy))):
                self.plan_objection(self.workday_in(start, end), final=last_month)
            for _ in range(1 + self.rng.randrange(3)):
                self.plan_repair(self.workday_in(start, end), final=last_month)
            for _ in range(2 + self.rng.randrange(3)):
                self.plan_complaint(self.workday_in(start, end), final=last_month)
            for _ in range(1 + self.rng.randrange(3)):
                self.plan_commitment(self.workday_in(start, end))
            if i % 4 == 1 or i == len(months) - 3:
                self.plan_dirty_batch(self.workday_in(start, end), CODE_ERRORS[(i // 4) % 2],
                                      fix=i < len(months) - 6)
            self.at(end, self._month_end)
        self.plan_tail()
        if self.today not in {e[0] for e in self.events}:
            self.at(self.today, self._month_end)
        self.at(self.today, self._final)

    def plan_tail(self) -> None:
        """The last weeks, fixed so that every intermediate state is there on the demo's today: a list entry
        still proposed and one notified, an objection at each step (one accepted against a list entry, which
        suspends it and its tasks), complaints waiting, assigned, returned and in hand, a repair awaiting its
        decision."""
        back = self.back
        self.at(back(30), self._object, "accepted", True)
        self.at(back(15), self._object, "forwarded", False)
        self.at(back(18), self._object, "answered", False)
        self.at(back(1), self._object, "submitted", False)
        for outcome, days in (("submitted", 0), ("assigned", 1), ("returned", 8), ("handling", 6)):
            self.at(back(days), self._complain, outcome)
        self.at(back(2), self._repair, "submitted")
        self.at(back(1), self._commit, "signed")
        self.at(back(6), self._propose, "scjg_serious_illegal", back(8), False)  # its tasks still open
        self.at(back(7), self._propose, "sw_major_tax_violation", back(9), False)
        self.at(back(1), self._propose_only, "scjg_serious_illegal", False)
        self.at(back(3), self._propose_only, "sw_major_tax_violation", True)

    def back(self, n: int) -> date:
        """The working day n working days before the demo's today."""
        d = self.today
        while n > 0 or not calendar.is_workday(d):
            d -= timedelta(days=1)
            if calendar.is_workday(d):
                n -= 1
        return d

    def _propose_only(self, day: date, code: str, notify: bool) -> None:
        from xinyong.lists import service as lists

        initiator, facts, basis = LISTS[code]
        uscc = self.orgs[self.rng.randrange(len(self.orgs))][0]
        entry = lists.propose(self.s, ListEntryIn(subject=uscc, list_type=code, decision_date=day, facts=facts,
                                                  basis=basis, decision_no=f"{initiator}拟列入〔{day.year}〕{next(self.seq)}号"),
                              dept=self.depts[initiator], today=day)
        if notify:
            self._notify(day, entry.id, initiator)

    # ---------------------------------------------------------------- lists and joint tasks

    def plan_list_entry(self, decided: date) -> None:
        code = self.rng.choices(list(LISTS), weights=[5, 3, 2, 2, 3, 2, 1])[0]
        initiator = LISTS[code][0]
        late = (initiator in LATE_PUBLISHERS and self.rng.random() < 0.7) or self.rng.random() < 0.12
        proposed = self.wd(decided, self.rng.randrange(13, 25) if late else self.rng.randrange(0, 3))
        self.at(proposed, self._propose, code, decided, late)

    def _propose(self, day: date, code: str, decided: date, late: bool) -> None:
        initiator, facts, basis = LISTS[code]
        dept = self.depts[initiator]
        black = not code.endswith(("taxpayer", "certified"))
        if black:
            try:
                rec = self.penalty_before(decided, dept_codes={initiator}) if self.rng.random() < 0.8 else None
            except LookupError:
                rec = None
            uscc, no = (rec[2], rec[4]) if rec else (self.orgs[self.rng.randrange(len(self.orgs))][0],
                                                     f"{initiator}认定〔{decided.year}〕{next(self.seq)}号")
        else:
            uscc, no = self.orgs[self.rng.randrange(len(self.orgs))][0], f"{initiator}红名单〔{decided.year}〕{next(self.seq)}号"
        from xinyong.lists import service as lists

        entry = lists.propose(self.s, ListEntryIn(subject=uscc, list_type=code, decision_no=no, decision_date=decided,
                                                  facts=facts, basis=basis), dept=dept, today=day)
        notified = self.wd(day, 1 + self.rng.randrange(2))
        self.at(notified, self._notify, entry.id, initiator)
        self.at(self.wd(notified, 1 + self.rng.randrange(2) + (5 if late else 0)), self._publish, entry.id, initiator,
                black)

    def _notify(self, day: date, entry_id: int, initiator: str) -> None:
        from xinyong.lists import service as lists

        lists.notify(self.s, entry_id, dept=self.depts[initiator], notified_at=day, channel="直接送达", today=day)

    def _publish(self, day: date, entry_id: int, initiator: str, black: bool) -> None:
        from xinyong.joint.models import JointTask
        from xinyong.lists import service as lists

        lists.publish(self.s, entry_id, dept=self.depts[initiator], today=day)
        for task_id, dept_id in self.s.execute(select(JointTask.id, JointTask.dept_id)
                                               .where(JointTask.entry_id == entry_id)).all():
            self.plan_feedback(day, int(task_id), self.dept_by_id(int(dept_id)).code)
        if black and self.rng.random() < 0.2:
            self.at(day + timedelta(days=self.rng.randrange(150, 420)), self._exit, entry_id, initiator)

    def plan_feedback(self, published: date, task_id: int, dept_code: str) -> None:
        poor = dept_code in POOR_FEEDBACK
        r = self.rng.random()
        if r < (0.35 if poor else 0.08):
            return  # missing: the daily job marks it overdue
        if r < (0.6 if poor else 0.2):
            self.at(self.wd(published, self.rng.randrange(12, 30)), self._feedback, task_id, dept_code, "applied")
        elif r < 0.26 if not poor else r < 0.66:
            self.at(self.wd(published, self.rng.randrange(1, 9)), self._feedback, task_id, dept_code, "pending")
        elif r < 0.36 if not poor else r < 0.72:
            self.at(self.wd(published, self.rng.randrange(1, 9)), self._feedback, task_id, dept_code, "not_applicable")
        else:
            self.at(self.wd(published, self.rng.randrange(1, 9)), self._feedback, task_id, dept_code, "applied")

    def _feedback(self, day: date, task_id: int, dept_code: str, action: str) -> None:
        from xinyong.joint import service as joint

        matter = {"applied": "在行政许可审批中依法限制" if self.rng.random() < 0.5 else "在政府采购资格审查中予以限制"}
        joint.give_feedback(self.s, task_id, dept=self.depts[dept_code], action=action, matter=matter.get(action),
                            applied_at=day if action == "applied" else None,
                            note="该主体近期未在本部门办理相关事项" if action == "not_applicable" else
                            ("正在办理，待审批环节实施" if action == "pending" else None), today=day)

    def _exit(self, day: date, entry_id: int, initiator: str) -> None:
        from xinyong.lists import service as lists

        lists.exit_by_dept(self.s, entry_id, dept=self.depts[initiator], reason="主体已纠正失信行为并履行相关义务，提前移出",
                           today=day)

    # ---------------------------------------------------------------- objections

    def plan_objection(self, day: date, *, final: bool) -> None:
        outcomes = ["corrected", "revoked", "upheld", "upheld", "rejected", "withdrawn"]
        if final:
            outcomes += ["submitted", "accepted", "forwarded", "answered"]
        self.at(day, self._object, self.rng.choice(outcomes), self.rng.random() < 0.3)

    def _object(self, day: date, outcome: str, on_entry: bool) -> None:
        from xinyong.objections import service as objections

        assert self.office is not None
        entry_id = record_id = None
        if on_entry or (outcome == "revoked" and self.rng.random() < 0.5):
            ids = list(self.s.scalars(select(ListEntry.id).where(ListEntry.state == "published").limit(200)))
            if not ids:
                raise LookupError("no published entry")
            entry = self.s.get(ListEntry, self.rng.choice(ids))
            assert entry is not None
            entry_id, subject = entry.id, self.s.get(Subject, entry.subject_id)
            outcome = "upheld" if outcome == "corrected" else outcome
        else:
            rec = self.penalty_before(day)
            record_id, subject = rec[0], self.s.get(Subject, self.s.get(Record, rec[0]).subject_id)  # type: ignore[union-attr]
        assert subject is not None
        data = {"record_id": record_id, "entry_id": entry_id, "subject_code": subject.uscc,
                "applicant_name": "王某某", "contact": "0534-2345678",
                "reason": "处罚决定已被行政复议撤销，请核实" if outcome == "revoked" else "公示的处罚内容与决定书不一致",
                "requested": "撤销该信息" if outcome == "revoked" else "更正公示内容"}
        done = objections.submit(self.s, data, [Upload("决定书.pdf", PDF)], idempotency_key=None, today=day,
                                 actor=actor_for_dept(self.office))
        oid = done.objection.id
        if outcome == "submitted":
            return
        if outcome == "rejected":
            self.at(self.wd(day, 1), self._obj_step, oid, "reject", None)
            return
        if outcome == "withdrawn":
            self.at(self.wd(day, 2), self._obj_withdraw, done)
            return
        accepted = self.wd(day, 1 + self.rng.randrange(2))
        self.at(accepted, self._obj_step, oid, "accept", None)
        if outcome == "accepted":
            return
        forwarded = self.wd(accepted, 1)
        self.at(forwarded, self._obj_step, oid, "forward", None)
        if outcome == "forwarded":
            return
        answered = self.wd(forwarded, self.rng.randrange(2, 5) if self.rng.random() < 0.8 else self.rng.randrange(7, 12))
        suggestion = {"corrected": "correct", "revoked": "revoke"}.get(outcome, "uphold")
        self.at(answered, self._obj_step, oid, "answer", suggestion)
        if outcome != "answered":
            self.at(self.wd(answered, 1 + self.rng.randrange(3)), self._obj_step, oid, "decide", outcome)

    def _obj_step(self, day: date, oid: int, step: str, arg: str | None) -> None:
        from xinyong.objections import service as objections

        assert self.office is not None
        obj = objections.get(self.s, oid)
        provider = self.dept_by_id(obj.provider_dept_id)
        if step == "reject":
            objections.reject(self.s, oid, dept=self.office, today=day, reason="所附材料与该条信息无关，请补充后重新提出")
        elif step == "accept":
            objections.accept(self.s, oid, dept=self.office, today=day)
        elif step == "forward":
            objections.forward(self.s, oid, dept=self.office, today=day)
        elif step == "answer":
            objections.answer(self.s, oid, dept=provider, suggestion=str(arg), today=day,
                              text={"correct": "经核实，公示的处罚内容有误，应予更正", "revoke": "经核实，该决定已被撤销",
                                    "uphold": "经核实，原信息准确无误"}[str(arg)])
        else:
            objections.decide(self.s, oid, dept=self.office, outcome=str(arg), today=day,
                              note={"corrected": "按数据提供部门核实意见更正", "revoked": "认定原信息有误，予以撤销",
                                    "upheld": "原信息准确，维持"}[str(arg)],
                              corrections={"penalty_content": "罚款人民币壹万元（经异议核实更正）"})

    def _obj_withdraw(self, day: date, done: Any) -> None:
        from xinyong.objections import service as objections

        objections.withdraw(self.s, done.objection.case_no, done.query_code, today=day)

    # ---------------------------------------------------------------- repair

    def plan_repair(self, day: date, *, final: bool) -> None:
        outcomes = ["approved", "approved", "approved", "refused", "withdrawn"]
        if final:
            outcomes += ["submitted", "submitted_overdue"]
        self.at(day, self._repair, self.rng.choice(outcomes))

    def _repair(self, day: date, outcome: str) -> None:
        from xinyong.repair import service as repair

        assert self.office is not None
        for _ in range(8):
            rec = self.penalty_before(day, min_age=100)
            if self.s.get(Record, rec[0]).state == "active" and repair.check(  # type: ignore[union-attr]
                    self.s, rec[0], day, obligations_shown=True, commitment_signed=True).eligible:
                break
        else:
            raise LookupError("no repairable record")
        data = {"record_id": rec[0], "subject_code": rec[2], "applicant_name": "李某某", "contact": "0534-2666888",
                "statement": "已全额缴纳罚款并完成整改，特申请信用修复", "obligations_fulfilled": True,
                "sign_commitment_as": "李某某"}
        done = repair.apply(self.s, data, [Upload("缴款凭证.pdf", PDF)], idempotency_key=None, today=day,
                            actor=actor_for_dept(self.office))
        app = done.application
        if outcome == "submitted":
            return
        if outcome == "submitted_overdue":
            self.at(self.wd(day, 11), self._month_end)
            return
        if outcome == "withdrawn":
            self.at(self.wd(day, 2), self._repair_withdraw, app.case_no, done.query_code)
            return
        late = self.rng.random() < 0.15
        self.at(self.wd(day, self.rng.randrange(12, 16) if late else self.rng.randrange(2, 9)), self._repair_decide,
                app.id, rec[1], outcome)

    def _repair_decide(self, day: date, app_id: int, dept_id: int, outcome: str) -> None:
        from xinyong.repair import service as repair

        dept = self.dept_by_id(dept_id)
        if outcome == "approved":
            repair.approve(self.s, app_id, dept=dept, note="已履行法定义务并完成整改，准予修复", today=day)
        else:
            repair.refuse(self.s, app_id, dept=dept, note="整改材料不足以证明已纠正失信行为", today=day)

    def _repair_withdraw(self, day: date, case_no: str, code: str) -> None:
        from xinyong.repair import service as repair

        repair.withdraw(self.s, case_no, code, today=day)

    # ---------------------------------------------------------------- complaints

    def plan_complaint(self, day: date, *, final: bool) -> None:
        outcomes = ["concluded", "concluded", "concluded", "rejected", "withdrawn", "returned_concluded"]
        if final:
            outcomes += ["submitted", "assigned", "returned", "handling"]
        self.at(day, self._complain, self.rng.choice(outcomes))

    def _complain(self, day: date, outcome: str) -> None:
        from xinyong.complaints import service as complaints

        category = "其他" if outcome in ("submitted", "rejected") else self.rng.choice(COMPLAINT_CATEGORIES)
        uscc, name = self.orgs[self.rng.randrange(len(self.orgs))]
        data = {"category": category, "target_name": name, "target_code": uscc,
                "content": f"反映{name}存在{category}方面的问题，请核查处理", "reporter_name": "赵某某",
                "reporter_contact": "13800000000", "consent_to_disclose": False}
        done = complaints.submit(self.s, data, [], idempotency_key=None, today=day)
        c = done.complaint
        if outcome == "submitted":
            return
        if outcome == "rejected":
            self.at(self.wd(day, 2), self._complaint_step, c.id, "reject", None)
        elif outcome == "withdrawn":
            self.at(self.wd(day, 1), self._complaint_withdraw, c.case_no, done.query_code)
        elif outcome != "assigned":
            handler = self.dept_by_id(c.dept_id).code if c.dept_id else "SCJG"
            accepted = self.wd(day, 1 + self.rng.randrange(2))
            if outcome.startswith("returned"):
                self.at(accepted, self._complaint_step, c.id, "return", handler)
                if outcome == "returned":
                    return
                accepted = self.wd(accepted, 2)
                handler = "CG"
                self.at(accepted, self._complaint_step, c.id, "assign", handler)
                accepted = self.wd(accepted, 1)
            self.at(accepted, self._complaint_step, c.id, "accept", handler)
            if outcome != "handling":
                late = self.rng.random() < 0.2
                self.at(self.wd(accepted, self.rng.randrange(17, 25) if late else self.rng.randrange(3, 12)),
                        self._complaint_step, c.id, "conclude", handler)

    def _complaint_step(self, day: date, cid: int, step: str, handler: str | None) -> None:
        from xinyong.complaints import service as complaints

        assert self.office is not None
        dept = self.depts[handler] if handler else self.office
        if step == "reject":
            complaints.reject(self.s, cid, dept=self.office, today=day, note="反映内容不属于信用监管范围，已告知举报人向有关部门反映",
                              actor=None)
        elif step == "assign":
            complaints.assign(self.s, cid, dept=self.office, to_dept=str(handler), today=day, note="重新分办")
        elif step == "return":
            complaints.return_to_office(self.s, cid, dept=dept, today=day, note="不属于本部门职责，请重新分办", actor=None)
        elif step == "accept":
            complaints.accept(self.s, cid, dept=dept, today=day, note="", actor=None)
        else:
            complaints.conclude(self.s, cid, dept=dept, today=day, actor=None,
                                note="经现场核查，情况属实，已依法责令整改并立案查处")

    def _complaint_withdraw(self, day: date, case_no: str, code: str) -> None:
        from xinyong.complaints import service as complaints

        complaints.withdraw(self.s, case_no, code, today=day)

    # ---------------------------------------------------------------- commitments

    def plan_commitment(self, day: date) -> None:
        r = self.rng.random()
        outcome = "fulfilled" if r < 0.6 else ("breached" if r < 0.75 else "signed")
        self.at(day, self._commit, outcome)

    def _commit(self, day: date, outcome: str) -> None:
        from xinyong.commitments import service as commitments

        acceptor = self.depts["XZSP"] if "XZSP" in self.depts else self.depts["SCJG"]
        uscc, _name = self.orgs[self.rng.randrange(len(self.orgs))]
        c = commitments.sign(self.s, {"type": "notice", "uscc": uscc, "signer_uscc": uscc, "signer_name": "孙某某",
                                      "acceptor": acceptor.code, "matter": "食品经营许可（告知承诺制）"},
                             today=day, actor=actor_for_dept(acceptor))
        if outcome != "signed":
            self.at(day + timedelta(days=self.rng.randrange(30, 120)), self._commit_outcome, c.commitment_no,
                    acceptor.code, outcome)

    def _commit_outcome(self, day: date, no: str, acceptor: str, outcome: str) -> None:
        from xinyong.commitments import service as commitments

        commitments.record_outcome(self.s, no, dept=self.depts[acceptor], outcome=outcome, on=day,
                                   note="核查确认已按承诺补齐材料" if outcome == "fulfilled" else "核查发现承诺内容不实，未按期补交材料")

    # ---------------------------------------------------------------- data quality

    def plan_dirty_batch(self, day: date, dept_code: str, *, fix: bool) -> None:
        self.at(day, self._dirty_batch, dept_code, fix)

    def _ingest(self, day: date, dept_code: str, rows: list[list[str]]) -> int:
        from xinyong.ingest.service import ingest_file

        path = self.tmp / f"{dept_code}-{next(self.batch_no)}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(PENALTY_HEADERS)
            writer.writerows(rows)
        summary = ingest_file(self.s, path, "admin_penalty", dept_code, file_name=path.name, today=day)
        # the batch arrived that day (the demo stands in for a past delivery)
        when = datetime.combine(day, time(9, 30), tzinfo=UTC)
        self.s.execute(update(Batch).where(Batch.id == summary.batch_id).values(started_at=when, finished_at=when))
        return summary.batch_id

    def _row(self, name: str, uscc: str, no: str, day: date, dept_code: str) -> list[str]:
        return [name, "法人及非法人组织", uscc, "", "", "", "", no, "罚款", "0.5", day.isoformat(), "",
                self.depts[dept_code].name]

    def _dirty_batch(self, day: date, dept_code: str, fix: bool) -> None:
        rows, fixed = [], []
        for k in range(3):
            uscc, name = self.orgs[self.rng.randrange(len(self.orgs))]
            no = f"{dept_code}质检〔{day.year}〕{next(self.seq)}号"
            rows.append(self._row(name.replace("有限公司", "") + "商贸有限公司", uscc, no, day, dept_code))  # 一码多主
            fixed.append(self._row(name, uscc, no, day, dept_code))
            if k == 0:  # 一主多码: the same name under a second, valid code
                fake = make_uscc("91", "371402", f"HQ{next(self.seq) % 1_000_000:06d}")
                rows.append(self._row(name, fake, f"{no}-2", day, dept_code))
            bad = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
            rows.append(self._row(name, bad, f"{no}-3", day, dept_code))  # wrong check character: refused
        self._ingest(day, dept_code, rows)
        self.batches_since_scan += 1
        if fix:
            self.at(self.wd(day, self.rng.randrange(15, 30)), self._fix_batch, dept_code, fixed)

    def _fix_batch(self, day: date, dept_code: str, rows: list[list[str]]) -> None:
        self._ingest(day, dept_code, rows)
        self.batches_since_scan += 1

    # ---------------------------------------------------------------- daily jobs and the end

    def _month_end(self, day: date) -> None:
        from xinyong.complaints import service as complaints
        from xinyong.joint import service as joint
        from xinyong.lists import service as lists
        from xinyong.objections import service as objections
        from xinyong.repair import service as repair
        from xinyong.stats import quality

        joint.mark_overdue(self.s, day)
        objections.flag_overdue(self.s, day)
        repair.flag_overdue(self.s, day)
        complaints.flag_overdue(self.s, day)
        lists.expire_entries(self.s, day)
        if self.batches_since_scan:  # the scan reads every record: only after a delivery with wrong codes or fixes
            quality.scan(self.s, day)
            self.batches_since_scan = 0

    def _final(self, day: date) -> None:
        from xinyong.stats import quality
        from xinyong.stats.quality_models import QualityIssue

        assert self.office is not None
        # Departments that stopped sending: their last batches arrived weeks ago.
        for k, code in enumerate(SILENT):
            if code in self.depts:
                when = datetime.combine(day - timedelta(days=30 + 15 * k), time(10), tzinfo=UTC)
                self.s.execute(update(Batch).where(Batch.dept_id == self.depts[code].id)
                               .values(started_at=when, finished_at=when))
        quality.scan(self.s, day)
        open_items = list(self.s.scalars(select(QualityIssue).where(QualityIssue.state == "open")
                                         .order_by(QualityIssue.id)))
        office = actor_for_dept(self.office)
        for issue in open_items[: max(1, len(open_items) // 2)]:
            quality.notify(self.s, issue.id, actor=office, today=day)
        multi = [i for i in open_items if i.kind == "multi_code"]
        if multi:
            dept = self.dept_by_id(multi[0].dept_id)
            quality.explain(self.s, multi[0].id, actor=actor_for_dept(dept), today=day,
                            note="经核实为两家同名企业，代码均正确")


def register_former_names(session: Session, *, subjects: int, seed: int, today: date) -> int:
    """The registration authority's change records (变更登记) of the demo's renamed organisations: their former
    names in the name history, so that older records under a former name are explained, not 一码多主."""
    import polars as pl

    from xinyong.demo.vsubjects import subject_frame
    from xinyong.subjects.models import SubjectName

    frame = subject_frame(seed, 0, subjects, today).filter(pl.col("former_name").is_not_null()
                                                           & (pl.col("uscc") != ""))
    added = 0
    rows = frame.select("uscc", "former_name", "founded", "renamed_on").rows()
    for i in range(0, len(rows), 500):
        chunk = {r[0]: r for r in rows[i:i + 500]}
        ids = {str(u): int(i) for u, i in session.execute(select(Subject.uscc, Subject.id).where(Subject.uscc.in_(list(chunk))))}
        known = {(sid, name) for sid, name in session.execute(
            select(SubjectName.subject_id, SubjectName.name).where(SubjectName.subject_id.in_(list(ids.values()))))}
        new = [{"subject_id": ids[u], "name": former, "first_seen": founded, "last_seen": renamed}
               for u, former, founded, renamed in chunk.values()
               if u in ids and (ids[u], former) not in known and renamed is not None]
        if new:
            session.execute(insert(SubjectName), new)
            added += len(new)
    return added


def populate(*, today: date, seed: int = 7, subjects: int | None = None) -> dict[str, Any]:
    """Play two years of history into the loaded demo city (after the departments' files were ingested)."""
    from xinyong.core.db import session_scope

    with session_scope() as session:
        if session.scalar(select(func.count()).select_from(ListEntry)):
            return {"skipped": "history already present"}
        if subjects:
            register_former_names(session, subjects=subjects, seed=seed, today=today)
        history = History(session, today, seed)
        history.load_pools()
        if not history.orgs or history.office is None:
            return {"skipped": "no records to build on"}
        history.plan()
        joint_log = logging.getLogger("xinyong.joint")
        level = joint_log.level
        joint_log.setLevel(logging.ERROR)  # the demo city has no 财政局: its measures are not dispatched
        try:
            history.run()
        finally:
            joint_log.setLevel(level)
            shutil.rmtree(history.tmp, ignore_errors=True)
        return {"done": dict(history.done), "skipped": dict(history.skipped),
                "seconds": {k: round(v, 2) for k, v in sorted(history.seconds.items(), key=lambda kv: -kv[1])}}
