"""Data quality and 重错码 governance: detection (set-based SQL), 问题数据 items and their state, exports.

A scan computes what is wrong now, per department:
- 一码多主 (multi_name): records whose submitted subject name is neither the subject's name nor one of its former
  names (subject_names), for one unified code;
- 一主多码 (multi_code): one department's records carrying one organisation name under several unified codes;
- 错码 (bad_code): a batch whose rows were refused for wrong check characters (batch_rejects), until a later
  batch of the same department and item arrives without such refusals;
- 注销 (cancelled): records in force of a subject registered as cancelled (注销), other than the registration
  authority's own;
- 未报送 (silent): a department with no batch for N working days (core/calendar).
Each finding is one QualityIssue (kind, department, key). Found again: kept (a fixed one reopens); no longer
found: closed as fixed by the scan. Explained items stay explained. The service never commits.
"""

from __future__ import annotations

import io
from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor, ActorKind
from xinyong.accounts.models import Department
from xinyong.catalog.service import get_catalog
from xinyong.core import calendar, exports
from xinyong.core.db import utcnow
from xinyong.core.errors import Forbidden, NotFound, RuleViolation
from xinyong.core.jobs import register_daily
from xinyong.ingest.models import Batch
from xinyong.records.service import layout_fields
from xinyong.stats import quality_rules as rules
from xinyong.stats.quality_models import QualityIssue

CHECK_REASON = "%校验%"  # refusals for wrong check characters (USCC, organisation code, ID number)
LIVE = "('active', 'objection')"
# 一主多码 is looked for among legal persons and unincorporated organisations: their names are registered as
# unique; individual businesses (个体工商户) may share a name (or have none) with another registration.
ORG_KINDS = "('legal_person', 'other_org')"


@dataclass(frozen=True)
class Finding:
    kind: str
    dept_id: int
    key: str
    detail: str
    count: int
    item_code: str | None = None
    subject_id: int | None = None


# ---------------------------------------------------------------- detection

def _json_item(session: Session, index: int) -> str:
    if session.get_bind().dialect.name == "postgresql":
        return f"(r.payload::json ->> {int(index)})"
    return f"json_extract(r.payload, '$[{int(index)}]')"


def _name_positions(session: Session) -> dict[int, int]:
    """layout id -> position of the subject-name field in its payloads."""
    catalog = get_catalog()
    out: dict[int, int] = {}
    for layout_id, item_code in session.execute(text("SELECT id, item_code FROM payload_layouts")).all():
        try:
            field = catalog.get(item_code).field_by_role("subject_name")
        except NotFound:
            field = None
        fields = layout_fields(session, layout_id)
        name = field.name if field is not None else "subject_name"
        if name in fields:
            out[int(layout_id)] = fields.index(name)
    return out


def _multi_name(session: Session) -> list[Finding]:
    groups: dict[tuple[int, str], dict[str, Any]] = {}
    for layout_id, pos in _name_positions(session).items():
        x = _json_item(session, pos)
        sql = text(
            f"SELECT r.dept_id, s.id, s.uscc, s.name, {x} AS rname, count(*) FROM records r "
            f"JOIN subjects s ON s.id = r.subject_id "
            f"WHERE r.layout_id = :lid AND r.state IN {LIVE} AND s.uscc IS NOT NULL "
            f"AND {x} IS NOT NULL AND {x} <> '' AND {x} <> s.name "
            f"AND NOT EXISTS (SELECT 1 FROM subject_names n WHERE n.subject_id = s.id AND n.name = {x}) "
            f"GROUP BY r.dept_id, s.id, s.uscc, s.name, {x}"
        )
        for dept_id, sid, uscc, sname, rname, n in session.execute(sql, {"lid": layout_id}).all():
            g = groups.setdefault((int(dept_id), str(uscc)), {"sid": int(sid), "name": sname, "others": set(), "n": 0})
            g["others"].add(str(rname))
            g["n"] += int(n)
    return [Finding("multi_name", dept_id, uscc,
                    f"统一社会信用代码 {uscc} 报送的名称「{'」「'.join(sorted(g['others']))}」与登记名称「{g['name']}」"
                    f"及其曾用名均不符（{g['n']} 条记录）；请核对代码与名称后重新报送更正",
                    g["n"], subject_id=g["sid"])
            for (dept_id, uscc), g in sorted(groups.items())]


def _multi_code(session: Session) -> list[Finding]:
    sql = text(
        f"SELECT r.dept_id, s.name, count(DISTINCT s.id), count(*) FROM records r "
        f"JOIN subjects s ON s.id = r.subject_id "
        f"WHERE r.state IN {LIVE} AND s.uscc IS NOT NULL AND s.kind IN {ORG_KINDS} AND s.name IN "
        f"(SELECT name FROM subjects WHERE uscc IS NOT NULL AND kind IN {ORG_KINDS} GROUP BY name HAVING count(*) > 1) "
        f"GROUP BY r.dept_id, s.name HAVING count(DISTINCT s.id) > 1"
    )
    rows = session.execute(sql).all()
    if not rows:
        return []
    names = sorted({str(r[1]) for r in rows})
    codes: dict[str, list[str]] = defaultdict(list)
    q = text("SELECT name, uscc FROM subjects WHERE uscc IS NOT NULL AND name IN :names")
    for name, uscc in session.execute(q.bindparams(_expanding("names", names))).all():
        codes[str(name)].append(str(uscc))
    return [Finding("multi_code", int(dept_id), str(name),
                    f"名称「{name}」在本部门报送中对应 {int(subjects)} 个统一社会信用代码（{'、'.join(sorted(codes[str(name)]))}，"
                    f"{int(n)} 条记录）；请核实正确代码，撤销或更正错误代码的记录", int(n))
            for dept_id, name, subjects, n in rows]


def _bad_code(session: Session) -> list[Finding]:
    sql = text(
        "SELECT b.id, b.dept_id, b.item_code, b.file_name, count(*) FROM batches b "
        "JOIN batch_rejects j ON j.batch_id = b.id "
        "WHERE j.reason LIKE :reason AND NOT EXISTS ("
        "  SELECT 1 FROM batches b2 WHERE b2.dept_id = b.dept_id AND b2.item_code = b.item_code AND b2.id > b.id "
        "  AND b2.state = 'done' AND NOT EXISTS ("
        "    SELECT 1 FROM batch_rejects j2 WHERE j2.batch_id = b2.id AND j2.reason LIKE :reason)) "
        "GROUP BY b.id, b.dept_id, b.item_code, b.file_name"
    )
    catalog = get_catalog()
    out = []
    for batch_id, dept_id, item_code, file_name, n in session.execute(sql, {"reason": CHECK_REASON}).all():
        try:
            item_name = catalog.get(item_code).name
        except NotFound:
            item_name = item_code
        out.append(Finding("bad_code", int(dept_id), f"batch:{batch_id}",
                           f"批次 {batch_id}（{item_name}，文件 {file_name}）有 {int(n)} 行因代码校验码错误被退回；"
                           f"请核对代码后重新报送该事项（下一批次无校验码错误即自动销号）", int(n),
                           item_code=str(item_code)))
    return out


def _cancelled(session: Session) -> list[Finding]:
    registration = sorted(i.code for i in get_catalog().items.values() if i.renames_subjects) or ["-"]
    sql = text(
        f"SELECT r.dept_id, s.id, s.uscc, s.name, count(*) FROM records r JOIN subjects s ON s.id = r.subject_id "
        f"WHERE s.status LIKE '%注销%' AND s.status NOT LIKE '%未注销%' AND r.state IN {LIVE} "
        f"AND r.item_code NOT IN :reg GROUP BY r.dept_id, s.id, s.uscc, s.name"
    ).bindparams(_expanding("reg", registration))
    return [Finding("cancelled", int(dept_id), str(uscc or sid),
                    f"{name}（{uscc}）已注销，本部门仍有 {int(n)} 条记录在公示；请核实记录对应的主体与代码，"
                    f"必要时撤销或更正", int(n), subject_id=int(sid))
            for dept_id, sid, uscc, name, n in session.execute(sql).all()]


def _expanding(name: str, values: list[str]) -> Any:
    return bindparam(name, value=values, expanding=True)


def _silent(session: Session, today: date, workdays: int) -> list[Finding]:
    last = dict(session.execute(select(Batch.dept_id, func.max(Batch.started_at)).group_by(Batch.dept_id)).all())
    out = []
    for dept in session.scalars(select(Department).where(Department.is_credit_office.is_(False))):
        seen = last.get(dept.id)
        if seen is None:
            continue  # a department that never submitted is not a provider (yet)
        day = seen.date() if isinstance(seen, datetime) else seen
        if day >= today:
            continue
        gap = calendar.workdays_between(day, today)
        if gap >= workdays:
            out.append(Finding("silent", dept.id, "silent",
                               f"最近一次报送为 {day.isoformat()}，已连续 {gap} 个工作日未报送数据（要求不超过 {workdays} "
                               f"个工作日）；请尽快报送（报送后自动销号）", gap))
    return out


def detect(session: Session, today: date, *, silent_workdays: int = rules.DEFAULT_SILENT_WORKDAYS) -> list[Finding]:
    if silent_workdays < 1:
        raise RuleViolation("未报送天数须为正整数（工作日）")
    return [*_multi_name(session), *_multi_code(session), *_bad_code(session), *_cancelled(session),
            *_silent(session, today, silent_workdays)]


def scan(session: Session, today: date, *, silent_workdays: int = rules.DEFAULT_SILENT_WORKDAYS) -> dict[str, int]:
    """Detect, then bring the 问题数据 items in line: new ones opened, found ones updated (a fixed one
    reopened), gone ones closed as fixed. Returns counts: found, opened, reopened, fixed, open (after).

    Set-based on the items too: new items in one INSERT, unchanged ones touched (last_seen) and gone ones
    closed in chunked UPDATEs; only items whose count, text or state changed are written one by one."""
    found = {(f.kind, f.dept_id, f.key): f for f in detect(session, today, silent_workdays=silent_workdays)}
    stats = {"found": len(found), "opened": 0, "reopened": 0, "fixed": 0}
    session.flush()
    rows = session.execute(select(QualityIssue.id, QualityIssue.kind, QualityIssue.dept_id, QualityIssue.key,
                                  QualityIssue.state, QualityIssue.count, QualityIssue.detail)).all()
    existing = {(r[1], r[2], r[3]): (int(r[0]), str(r[4]), int(r[5]), str(r[6])) for r in rows}
    new, touched, gone, changed = [], [], [], []
    for key, f in found.items():
        row = existing.get(key)
        if row is None:
            new.append({"kind": f.kind, "dept_id": f.dept_id, "key": f.key, "item_code": f.item_code,
                        "subject_id": f.subject_id, "detail": f.detail, "count": f.count, "state": "open",
                        "first_seen": today, "last_seen": today})
        else:
            issue_id, state, n, detail = row
            if state == "explained":
                continue
            after = rules.after_scan(state, True)
            if after != state or n != f.count or detail != f.detail:
                changed.append((issue_id, after, f, after != state))
            else:
                touched.append(issue_id)
    for key, (issue_id, state, _n, _detail) in existing.items():
        if key not in found and state in rules.OPEN_STATES:
            gone.append(issue_id)
    if new:
        now = utcnow()
        session.execute(insert(QualityIssue), [{**n, "created_at": now, "updated_at": now} for n in new])
        stats["opened"] = len(new)
    for issue_id, after, f, reopened in changed:
        values: dict[str, Any] = {"state": after, "count": f.count, "detail": f.detail, "last_seen": today}
        if reopened:
            values.update(closed_on=None, closed_by=None)
            stats["reopened"] += 1
        session.execute(update(QualityIssue).where(QualityIssue.id == issue_id).values(**values))
    for chunk in _chunks(touched):
        session.execute(update(QualityIssue).where(QualityIssue.id.in_(chunk)).values(last_seen=today))
    for chunk in _chunks(gone):
        session.execute(update(QualityIssue).where(QualityIssue.id.in_(chunk))
                        .values(state="fixed", closed_on=today, closed_by="自动销号（复查未再发现）"))
    stats["fixed"] = len(gone)
    session.expire_all()
    stats["open"] = session.scalar(select(func.count()).select_from(QualityIssue)
                                   .where(QualityIssue.state.in_(tuple(rules.OPEN_STATES)))) or 0
    return stats


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _daily(session: Session, today: date) -> int:
    return scan(session, today)["open"]


register_daily("quality.scan", _daily)


# ---------------------------------------------------------------- items and their state

def get(session: Session, issue_id: int, *, viewer: Actor | None = None) -> QualityIssue:
    issue = session.get(QualityIssue, issue_id)
    if issue is None or (viewer is not None and not may_see(viewer, issue)):
        raise NotFound(f"问题数据 {issue_id} 不存在或不属于本部门")
    return issue


def may_see(viewer: Actor, issue: QualityIssue) -> bool:
    return viewer.is_credit_office or viewer.kind is ActorKind.AUDITOR or viewer.dept_id == issue.dept_id


def listing(session: Session, *, dept_id: int | None, state: str | None = None, kind: str | None = None,
            limit: int = 500) -> list[QualityIssue]:
    """Items, newest first: one department's (dept_id) or all (None: the credit office)."""
    q = select(QualityIssue)
    if dept_id is not None:
        q = q.where(QualityIssue.dept_id == dept_id)
    if state == "open":
        q = q.where(QualityIssue.state.in_(tuple(rules.OPEN_STATES)))
    elif state:
        if state not in rules.STATES:
            raise RuleViolation(f"未知状态 {state}；可选：{'、'.join(rules.STATES)}")
        q = q.where(QualityIssue.state == state)
    if kind:
        if kind not in rules.KINDS:
            raise RuleViolation(f"未知问题类型 {kind}；可选：{'、'.join(rules.KINDS)}")
        q = q.where(QualityIssue.kind == kind)
    return list(session.scalars(q.order_by(QualityIssue.last_seen.desc(), QualityIssue.id.desc()).limit(limit)))


def _move(issue: QualityIssue, after: str) -> None:
    if not rules.may_move(issue.state, after):
        raise RuleViolation(f"问题数据当前为「{rules.STATES[issue.state]}」，不能改为「{rules.STATES[after]}」")
    issue.state = after


def notify(session: Session, issue_id: int, *, actor: Actor, today: date) -> QualityIssue:
    """The credit office notifies the department of an open item (整改通知)."""
    if not actor.is_credit_office:
        raise Forbidden("只有信用办可以下发整改通知")
    issue = get(session, issue_id)
    _move(issue, "notified")
    issue.notified_on = today
    session.flush()
    return issue


def explain(session: Session, issue_id: int, *, actor: Actor, note: str, today: date) -> QualityIssue:
    """The department (or the office) explains an item that needs no correction (情况说明); it then stays closed."""
    issue = get(session, issue_id, viewer=actor)
    note = (note or "").strip()
    if len(note) < 4:
        raise RuleViolation("请填写情况说明（至少 4 个字），写明为何无需整改")
    _move(issue, "explained")
    issue.note, issue.closed_on, issue.closed_by = note[:2000], today, actor.label
    session.flush()
    return issue


def out(issue: QualityIssue, dept_names: dict[int, str]) -> dict[str, Any]:
    return {"id": issue.id, "kind": issue.kind, "kind_label": rules.KINDS.get(issue.kind, issue.kind),
            "dept_id": issue.dept_id, "dept": dept_names.get(issue.dept_id, str(issue.dept_id)), "key": issue.key,
            "item_code": issue.item_code, "detail": issue.detail, "count": issue.count, "state": issue.state,
            "state_label": rules.STATES.get(issue.state, issue.state), "first_seen": issue.first_seen,
            "last_seen": issue.last_seen, "notified_on": issue.notified_on, "closed_on": issue.closed_on,
            "closed_by": issue.closed_by, "note": issue.note}


def dept_names(session: Session) -> dict[int, str]:
    return {int(i): str(n) for i, n in session.execute(select(Department.id, Department.name)).all()}


def export_xlsx(session: Session, *, dept_id: int | None, state: str | None = None) -> bytes:
    """问题数据 for rectification, one row per item (text stays text: core/exports)."""
    names = dept_names(session)
    buf = io.BytesIO()
    book = exports.workbook(buf)
    sheet = book.add_worksheet("问题数据")
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7"})
    columns = [("编号", 8), ("部门", 28), ("问题类型", 20), ("对象", 26), ("说明", 80), ("涉及数量", 10),
               ("状态", 10), ("首次发现", 12), ("最近发现", 12), ("通知日期", 12), ("销号日期", 12), ("情况说明", 40)]
    for col, (label, width) in enumerate(columns):
        sheet.write(0, col, label, head)
        sheet.set_column(col, col, width)
    for row, issue in enumerate(listing(session, dept_id=dept_id, state=state, limit=1_000_000), start=1):
        o = out(issue, names)
        sheet.write_row(row, 0, [o["id"], o["dept"], o["kind_label"], o["key"], o["detail"], o["count"],
                                 o["state_label"], _d(o["first_seen"]), _d(o["last_seen"]), _d(o["notified_on"]),
                                 _d(o["closed_on"]), o["note"] or ""])
    sheet.freeze_panes(1, 0)
    book.close()
    return buf.getvalue()


def _d(d: date | None) -> str:
    return d.isoformat() if d else ""


# ---------------------------------------------------------------- what the statistics count

def _month_bounds(month: str) -> tuple[date, date]:
    parsed = rules.check_month(month)
    if parsed is None:
        raise RuleViolation(f"月份格式应为 YYYY-MM（收到 {month!r}）")
    year, m = parsed
    return date(year, m, 1), date(year, m, monthrange(year, m)[1])


def open_counts(session: Session, month: str) -> dict[str, dict[str, int]]:
    """{department code: {kind: items open at the end of the month}} (opened by then, not closed by then)."""
    _first, last = _month_bounds(month)
    q = (select(Department.code, QualityIssue.kind, func.count())
         .join(Department, Department.id == QualityIssue.dept_id)
         .where(QualityIssue.first_seen <= last)
         .where((QualityIssue.closed_on.is_(None)) | (QualityIssue.closed_on > last))
         .group_by(Department.code, QualityIssue.kind))
    result: dict[str, dict[str, int]] = {}
    for code, kind, n in session.execute(q).all():
        result.setdefault(str(code), {})[str(kind)] = int(n)
    return result


def error_code_counts(session: Session, month: str) -> dict[str, tuple[int, int]]:
    """重错码率 per department code for a month: (numerator, denominator).

    numerator: rows refused for wrong check characters in the month's batches, plus the records of 一码多主 and
    一主多码 items first found in the month; denominator: rows submitted in the month's batches (refused included).
    The rate is numerator / denominator (0 when nothing was submitted)."""
    first, last = _month_bounds(month)
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(last, time.max, tzinfo=UTC)
    codes = dept_code_map(session)
    den = dict(session.execute(select(Batch.dept_id, func.coalesce(func.sum(Batch.rows), 0))
                               .where(Batch.started_at >= start, Batch.started_at <= end)
                               .group_by(Batch.dept_id)).all())
    bad: dict[Any, Any] = dict(session.execute(text(
        "SELECT b.dept_id, count(*) FROM batches b JOIN batch_rejects j ON j.batch_id = b.id "
        "WHERE j.reason LIKE :reason AND b.started_at >= :s AND b.started_at <= :e GROUP BY b.dept_id"),
        {"reason": CHECK_REASON, "s": start, "e": end}).all())
    dup = dict(session.execute(select(QualityIssue.dept_id, func.coalesce(func.sum(QualityIssue.count), 0))
                               .where(QualityIssue.kind.in_(("multi_name", "multi_code")))
                               .where(QualityIssue.first_seen >= first, QualityIssue.first_seen <= last)
                               .group_by(QualityIssue.dept_id)).all())
    out: dict[str, tuple[int, int]] = {}
    for dept_id in set(den) | set(bad) | set(dup):
        code = codes.get(int(dept_id))
        if code is not None:
            out[code] = (int(bad.get(dept_id, 0)) + int(dup.get(dept_id, 0)), int(den.get(dept_id, 0)))
    return out


def dept_code_map(session: Session) -> dict[int, str]:
    return {int(i): str(c) for i, c in session.execute(select(Department.id, Department.code)).all()}
