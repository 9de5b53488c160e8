"""双公示 on the portal: licences and penalties in publication, newest published first, filtered and paged.

Built for millions of records without an index of its own (every index on records costs each bulk
ingest): record ids follow ingest order, i.e. the order of publication, so the list is `ORDER BY id DESC`
and a page is a backward scan of the primary key that stops after LIMIT rows; the next page follows a
keyset cursor on the id alone instead of OFFSET, and counts stop at COUNT_CAP. Department, type (catalog
item) and decision-date range are filters on that scan, not a driving index: a narrow filter (a department
that publishes little, an old date range) reads further down the key before a page is full.
Natural persons' records are never listed here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.catalog.service import get_catalog
from xinyong.core import clock, exports
from xinyong.records.models import Record
from xinyong.records.rules import VISIBLE_STATES
from xinyong.records.service import payload_values
from xinyong.subjects.models import Subject

COUNT_CAP = 10_000
XLSX_CAP = 100_000
TYPE_LABELS = {"license": "行政许可", "penalty": "行政处罚"}
# Payload fields that say what the decision was, by preference.
CONTENT_FIELDS = ("penalty_content", "content", "violation_facts", "violation_type", "certificate_name",
                  "document_name", "note")
XLSX_HEADINGS = ("类型", "行政相对人名称", "统一社会信用代码", "决定文书号", "决定日期", "类别", "内容",
                 "决定机关", "公示截止期", "状态")


@dataclass(frozen=True)
class Filters:
    dept_id: int | None = None
    kind: str | None = None            # license | penalty
    date_from: date | None = None
    date_to: date | None = None

    def query_string(self, **extra: object) -> str:
        from urllib.parse import urlencode

        params: dict[str, object] = {}
        if self.dept_id:
            params["dept"] = self.dept_id
        if self.kind:
            params["type"] = self.kind
        if self.date_from:
            params["from"] = self.date_from.isoformat()
        if self.date_to:
            params["to"] = self.date_to.isoformat()
        params.update({k: v for k, v in extra.items() if v is not None})
        return urlencode(params)


def dual_items(kind: str | None = None) -> dict[str, str]:
    """item code -> license|penalty for the catalog's 双公示 items."""
    return {i.code: i.dual_publicity for i in get_catalog().list()
            if i.dual_publicity and (kind is None or i.dual_publicity == kind)}


def _base(f: Filters, today: date) -> Select[Record, str, str | None]:
    items = dual_items(f.kind)
    stmt = (
        select(Record, Subject.name, Subject.uscc)
        .join(Subject, Subject.id == Record.subject_id)
        .where(Record.item_code.in_(tuple(items) or ("-",)),
               Record.state.in_(tuple(VISIBLE_STATES)),
               Record.publish_from <= today,
               or_(Record.publish_until.is_(None), Record.publish_until >= today),
               Subject.kind != "natural_person")
    )
    if f.dept_id:
        stmt = stmt.where(Record.dept_id == f.dept_id)
    if f.date_from:
        stmt = stmt.where(Record.decision_date >= f.date_from)
    if f.date_to:
        stmt = stmt.where(Record.decision_date <= f.date_to)
    return stmt


def publicity_rows(session: Session, f: Filters, *, limit: int, after: int | None = None,
                   today: date | None = None) -> list[dict[str, Any]]:
    """One page, newest published (highest id) first; `after`: the id of the previous page's last row."""
    stmt = _base(f, today or clock.today())
    if after is not None:
        stmt = stmt.where(Record.id < after)
    stmt = stmt.order_by(Record.id.desc()).limit(limit)
    depts = department_names(session)
    kinds = dual_items()
    return [row_out(rec, name, uscc, depts, kinds, payload_values(session, rec.layout_id, rec.payload))
            for rec, name, uscc in session.execute(stmt)]


def count_capped(session: Session, f: Filters, today: date | None = None, cap: int = COUNT_CAP) -> tuple[int, bool]:
    inner = _base(f, today or clock.today()).with_only_columns(Record.id).limit(cap + 1).subquery()
    n = session.scalar(select(func.count()).select_from(inner)) or 0
    return min(n, cap), n > cap


def department_names(session: Session) -> dict[int, str]:
    return {d.id: d.name for d in session.scalars(select(Department).order_by(Department.code))}


def row_out(rec: Record, name: str, uscc: str | None, depts: dict[int, str], kinds: dict[str, str] | None,
            values: dict[str, str]) -> dict[str, Any]:
    """One row of the list; `values`: the record's payload values (records.service.payload_values)."""
    kind = (kinds if kinds is not None else dual_items()).get(rec.item_code, "")
    if kind == "penalty":
        category = values.get("penalty_type", "")
    else:
        category = values.get("license_category") or values.get("certificate_name", "")
    content = next((str(values[k]) for k in CONTENT_FIELDS if values.get(k)), "")
    return {
        "id": rec.id,
        "kind": kind,
        "kind_label": TYPE_LABELS.get(kind, rec.item_code),
        "name": name,
        "uscc": uscc,
        "decision_no": rec.decision_no or "",
        "decision_date": rec.decision_date,
        "category": category,
        "content": content,
        "authority": values.get("authority") or depts.get(rec.dept_id, ""),
        "publish_until": rec.publish_until,
        "under_objection": rec.state == "objection",
    }


def publicity_xlsx(session: Session, f: Filters, today: date | None = None) -> bytes:
    """The filtered list as XLSX, at most XLSX_CAP rows; a 说明 sheet records the filters and any cut."""
    buf = io.BytesIO()
    book = exports.workbook(buf, constant_memory=True)
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    sheet = book.add_worksheet("双公示")
    sheet.write_row(0, 0, XLSX_HEADINGS, bold)
    for col, width in enumerate((10, 36, 22, 30, 12, 16, 50, 30, 12, 8)):
        sheet.set_column(col, col, width)
    written = 0
    after: int | None = None
    truncated = False
    while written < XLSX_CAP:
        chunk = publicity_rows(session, f, limit=min(5_000, XLSX_CAP - written + 1), after=after, today=today)
        for r in chunk:
            if written == XLSX_CAP:
                truncated = True
                break
            written += 1
            sheet.write_row(written, 0, (
                r["kind_label"], r["name"], r["uscc"] or "", r["decision_no"],
                r["decision_date"].isoformat() if r["decision_date"] else "", r["category"], r["content"],
                r["authority"], r["publish_until"].isoformat() if r["publish_until"] else "长期",
                "异议中" if r["under_objection"] else "公示中",
            ))
        if truncated or len(chunk) < 5_000:
            break
        after = chunk[-1]["id"]
    notes = book.add_worksheet("说明")
    lines = [
        "公共信用信息平台 · 双公示（行政许可、行政处罚）公示信息导出",
        f"导出时间：{datetime.now():%Y-%m-%d %H:%M}",
        f"筛选条件：{describe(session, f)}",
        f"导出条数：{written}",
        "按公示先后由新到旧排列；仅包含公示期内的信息；自然人信息不在此公开列表中。",
    ]
    if truncated:
        lines.append(f"结果超过 {XLSX_CAP:,} 条，仅导出最新的 {XLSX_CAP:,} 条；请缩小日期范围或按部门筛选后分批导出。")
    notes.set_column(0, 0, 100)
    for i, line in enumerate(lines):
        notes.write(i, 0, line)
    book.close()
    return buf.getvalue()


def describe(session: Session, f: Filters) -> str:
    parts = []
    if f.dept_id:
        parts.append("部门：" + department_names(session).get(f.dept_id, str(f.dept_id)))
    if f.kind:
        parts.append("类型：" + TYPE_LABELS.get(f.kind, f.kind))
    if f.date_from or f.date_to:
        parts.append(f"决定日期：{f.date_from or '不限'} 至 {f.date_to or '不限'}")
    return "；".join(parts) or "全部"
