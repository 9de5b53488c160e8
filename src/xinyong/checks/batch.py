"""Batch checks: up to 100,000 subjects, set-based.

One query per few thousand codes (or names, or ID hashes) finds the subjects, one query per few thousand
subjects aggregates their records in force of the weighed items (checks.rules.WEIGHED_ITEMS) in SQL, the
lists domain answers for all subjects at once, and the log rows are written with COPY (PostgreSQL) or one
executemany (SQLite) inside the request's transaction.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict, namedtuple
from datetime import UTC, date
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.catalog.service import get_catalog
from xinyong.checks import rules, service
from xinyong.checks.logbuffer import BLOCK_BITS, take_block
from xinyong.checks.models import BatchCheck, CheckLog
from xinyong.core import audit
from xinyong.core.db import dialect_name, utcnow
from xinyong.core.errors import Refused
from xinyong.core.regions import lookup_region
from xinyong.records.models import Record
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

MAX_BATCH = 100_000
CHUNK = 5_000
SUMMARY_KEYS = ("total", "clean", "attention", "dishonest", "not_found", "ambiguous", "invalid")


def _chunks(values: list[Any], size: int = CHUNK) -> list[list[Any]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def _raw(session: Session, stmt: Any) -> list[tuple[Any, ...]]:
    """Run a statement on the session's DBAPI connection and fetch plain tuples: SQLAlchemy's per-row result
    processing cost seconds for a few hundred thousand rows. Values are rendered as escaped literals."""
    conn = session.connection()
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.cursor()
    try:
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.close()


_Found = namedtuple("_Found", "id kind name uscc id_masked region_code status k")


def _find(session: Session, column: Any, values: list[str], extra: Any = None) -> dict[str, list[Any]]:
    s = Subject.__table__
    found: dict[str, list[Any]] = defaultdict(list)
    for chunk in _chunks(sorted(set(values))):
        stmt = select(s.c.id, s.c.kind, s.c.name, s.c.uscc, s.c.id_masked, s.c.region_code, s.c.status,
                      column.label("k")).where(column.in_(chunk))
        if extra is not None:
            stmt = stmt.where(extra)
        for row in _raw(session, stmt):
            found[row[7]].append(_Found(*row))
    return found


def parse_all(queries: list[str]) -> list[service.Query]:
    """parse_query for each, with the unified codes validated in one vectorised pass (Polars)."""
    import polars as pl

    from xinyong.core.identifiers import uscc_valid_expr

    frame = pl.DataFrame({"raw": queries}, schema={"raw": pl.String})
    valid = (frame.with_columns(pl.col("raw").str.to_uppercase().alias("up"))
             .select(uscc_valid_expr("up").alias("ok"), pl.col("up")).to_dict(as_series=False))
    seen: dict[str, service.Query] = {}
    out = []
    for raw, ok, up in zip(queries, valid["ok"], valid["up"], strict=True):
        if ok:
            out.append(service.Query("uscc", up))
            continue
        q = seen.get(raw)
        if q is None:
            q = seen[raw] = service.parse_query(raw)
        out.append(q)
    return out


def _weighed_facts(session: Session, subject_ids: list[int], today: date) -> dict[int, list[rules.RecordFact]]:
    """Records in force of the weighed items that a department may see, aggregated per subject in SQL."""
    catalog = get_catalog()
    visible = [i.code for i in catalog.list() if i.code in rules.WEIGHED_ITEMS and i.disclosure in ("public", "shared")]
    unpublished_ok = [c for c in visible if catalog.get(c).disclosure != "public"] or ["-"]
    if not visible:
        return {}
    r = Record.__table__
    grade = case((and_(r.c.item_code.in_(sorted(rules.RATED_ITEMS)), r.c.payload.like('%"rating":"D"%')),
                  literal("D")), else_=literal(""))
    # the same visibility as records.rules.visible(..., "department", today)
    window = or_(and_(r.c.publish_from.is_(None), r.c.item_code.in_(unpublished_ok)),
                 and_(r.c.publish_from.is_not(None), or_(r.c.publish_until.is_(None), r.c.publish_until > today)))
    # ratings other than the weighed grades never change a result: leave them in the database
    rated = or_(r.c.item_code.not_in(sorted(rules.RATED_ITEMS)), grade == literal("D"))
    facts: dict[int, list[rules.RecordFact]] = defaultdict(list)
    for chunk in _chunks(subject_ids):
        stmt = (select(r.c.subject_id, r.c.item_code, r.c.state, grade.label("grade"),
                       func.max(r.c.decision_date).label("latest"))
                .where(r.c.subject_id.in_(chunk), r.c.item_code.in_(visible),
                       r.c.state.in_(sorted(rules.LIVE_STATES)), window, rated)
                .group_by(r.c.subject_id, r.c.item_code, r.c.state, grade))
        for subject_id, item_code, state, grade_, latest in _raw(session, stmt):
            if isinstance(latest, str):  # SQLite gives dates as text
                latest = date.fromisoformat(latest[:10])
            facts[subject_id].append(rules.RecordFact(item_code, state, None, None, latest, grade_ or None))
    return facts


def check_batch(session: Session, *, dept: Department, queries: list[str], matter: str, matter_type: str,
                purpose: str = "", today: date | None = None, user_id: int | None = None,
                file_name: str | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    today = today or date.today()
    matter, matter_type, purpose = service.validate_matter(matter, matter_type, purpose)
    if not queries:
        raise Refused("核查名单为空：请至少提供一个统一社会信用代码、名称或公民身份号码")
    if len(queries) > MAX_BATCH:
        raise Refused(f"一次最多核查 {MAX_BATCH} 个主体（收到 {len(queries)} 个），请拆分为多个批次提交")
    parsed = parse_all(queries)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for q in parsed:
        by_kind[q.kind].append(q.value)
    if by_kind.get("citizen_id") and not purpose.strip():
        raise Refused("核查名单中含有公民身份号码：核查自然人须填写核查目的（purpose）")
    s = Subject.__table__
    by_uscc = _find(session, s.c.uscc, by_kind.get("uscc", []))
    by_name = _find(session, s.c.name, by_kind.get("name", []), s.c.kind != "natural_person")
    hashes = {v: subjects.citizen_id_hash(v) for v in by_kind.get("citizen_id", [])}
    by_hash = _find(session, s.c.id_hash, list(hashes.values()))
    matches: list[list[Any]] = []
    for q in parsed:
        if q.kind == "uscc":
            matches.append(by_uscc.get(q.value, []))
        elif q.kind == "name":
            matches.append(by_name.get(q.value, []))
        elif q.kind == "citizen_id":
            matches.append(by_hash.get(hashes[q.value], []))
        else:
            matches.append([])
    found_ids = sorted({m[0].id for m in matches if len(m) == 1})
    facts = _weighed_facts(session, found_ids, today)
    entries = service.list_entries_bulk(session, found_ids, today)

    batch = BatchCheck(dept_id=dept.id, user_id=user_id, matter=matter, matter_type=matter_type, purpose=purpose,
                       file_name=file_name, total=len(queries))
    session.add(batch)
    session.flush()
    base = take_block(owner=f"batch:{batch.id}", connection=session.connection()) << BLOCK_BITS
    at = utcnow()
    results: list[dict[str, Any]] = []
    logs: list[tuple[Any, ...]] = []
    summary: Counter[str] = Counter()
    persons = 0
    regions: dict[str | None, str | None] = {}
    labels = rules.RESULT_LABELS
    dept_id, batch_id = dept.id, batch.id
    for seq, (q, found) in enumerate(zip(parsed, matches, strict=True), start=1):
        row: dict[str, Any] = {"seq": seq, "subject": q.value, "result": "not_found"}
        subject_id = None
        if q.kind == "invalid":
            logged = "invalid"
            row["error"] = q.error
        elif len(found) > 1:
            logged = "ambiguous"
            row["ambiguous"] = True
            row["candidates"] = [c.uscc for c in found[:service.MAX_CANDIDATES]]
        elif not found:
            logged = "not_found"
        else:
            sub = found[0]
            subject_id = sub.id
            listed = entries.get(subject_id)
            known = facts.get(subject_id)
            if known or listed:
                verdict = rules.classify(True, known or [], service.list_facts(listed or []), today)
                logged = verdict.result
                row["reasons"] = list(verdict.reasons)
            else:
                logged = "clean"
            row["result"] = logged
            if sub.region_code not in regions:
                region = lookup_region(sub.region_code) if sub.region_code else None
                regions[sub.region_code] = region.full_name if region else None
            row["uscc"] = sub.uscc
            row["name"] = service.mask_name(sub.name) if sub.kind == "natural_person" else sub.name
            row["region"] = regions[sub.region_code]
            if listed:
                row["lists"] = len(listed)
            if sub.kind == "natural_person":
                persons += 1
        if q.kind == "citizen_id":
            row["subject"] = found[0].id_masked if found else "（公民身份号码，已隐藏）"
        summary[logged] += 1
        row["result_label"] = labels[logged]
        results.append(row)
        logs.append((base + seq, at, dept_id, user_id, matter, matter_type, purpose, subject_id, q.kind,
                     q.value if q.kind in ("uscc", "name") else q.ref(), logged, batch_id, seq))
    _write_logs(session, logs)
    if persons:
        audit.record(session, actor=f"dept:{dept.code}", action="check.batch_person", entity="batch_check",
                     entity_id=batch.id, after={"persons": persons, "matter": matter, "purpose": purpose})
    out_summary = {k: summary.get(k, 0) for k in SUMMARY_KEYS}
    out_summary["total"] = len(queries)
    batch.summary = json.dumps(out_summary)
    batch.seconds = round(time.perf_counter() - started, 3)
    return {"batch_check_id": batch.id, "summary": out_summary, "results": results,
            "download": f"/api/v1/checks/batch/{batch.id}.xlsx"}


_LOG_COLUMNS = ("id", "at", "dept_id", "user_id", "matter", "matter_type", "purpose", "subject_id",
                "query_kind", "query_ref", "result", "batch_id", "seq")


def _write_logs(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Rows in _LOG_COLUMNS order: COPY on PostgreSQL, the DBAPI's executemany on SQLite (SQLAlchemy's
    per-row parameter processing cost seconds for 100,000 rows)."""
    if not rows:
        return
    if dialect_name(session) == "postgresql":
        raw: Any = session.connection().connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY check_logs ({', '.join(_LOG_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    # timestamps as SQLAlchemy's SQLite DateTime stores them (naive UTC text)
    at = rows[0][1].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    sql = f"INSERT INTO check_logs ({', '.join(_LOG_COLUMNS)}) VALUES ({', '.join('?' for _ in _LOG_COLUMNS)})"
    session.connection().exec_driver_sql(sql, [(r[0], at, *r[2:]) for r in rows])


# ---- uploads ----------------------------------------------------------------------------------------

_HEADERS = ("统一社会信用代码", "社会信用代码", "信用代码", "核查对象", "公民身份号码", "身份证号码", "身份证号",
            "主体名称", "企业名称", "单位名称", "名称", "subject", "uscc", "name")


def _pick_column(rows: list[list[str]]) -> tuple[int, int]:
    """(column, first data row): a known header decides, else a code in the first cell means no header."""
    if not rows:
        return 0, 0
    header = [c.strip() for c in rows[0]]
    for wanted in _HEADERS:
        for i, cell in enumerate(header):
            if cell.lower() == wanted.lower():
                return i, 1
    first = service.parse_query(header[0]) if header else None
    if first is not None and first.kind in ("uscc", "citizen_id"):
        return 0, 0
    return 0, 1


def read_upload(data: bytes, file_name: str) -> list[str]:
    """The list of subjects in an uploaded CSV or XLSX: one column of codes, names or ID numbers."""
    name = (file_name or "").lower()
    rows: list[list[str]]
    if name.endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        from io import BytesIO

        from openpyxl import load_workbook

        try:
            wb = load_workbook(BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise Refused(f"无法读取 Excel 文件「{file_name}」：文件已损坏或不是 .xlsx 格式（{type(exc).__name__}）") from None
        sheet = wb.worksheets[0]
        rows = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
        wb.close()
    elif name.endswith((".csv", ".txt")) or not name:
        import csv

        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise Refused(f"文件「{file_name}」不是 UTF-8 或 GB18030 编码的 CSV，请另存为 UTF-8 后重试")
        rows = [r for r in csv.reader(text.splitlines())]
    else:
        raise Refused(f"不支持的文件类型「{file_name}」：请上传 .csv 或 .xlsx 文件，第一列为统一社会信用代码、名称或公民身份号码")
    column, start = _pick_column(rows)
    values = [r[column].strip() for r in rows[start:] if len(r) > column and r[column] and r[column].strip()]
    if not values:
        raise Refused(f"文件「{file_name}」中没有找到核查对象：请在第一列（或“统一社会信用代码”“名称”列）填写")
    return values


# ---- results as XLSX ---------------------------------------------------------------------------------


def get_batch(session: Session, batch_id: int, dept: Department) -> BatchCheck:
    from xinyong.core.errors import Forbidden, NotFound

    batch = session.get(BatchCheck, batch_id)
    if batch is None:
        raise NotFound(f"批量核查 {batch_id} 不存在，请核对编号")
    if batch.dept_id != dept.id and not dept.is_credit_office:
        raise Forbidden("只能下载本部门的批量核查结果")
    return batch


def batch_xlsx(session: Session, batch_id: int, dept: Department) -> bytes:
    from io import BytesIO

    import xlsxwriter

    batch = get_batch(session, batch_id, dept)
    c, s = CheckLog.__table__, Subject.__table__
    rows = session.execute(
        select(c.c.seq, c.c.query_kind, c.c.query_ref, c.c.result, s.c.uscc, s.c.name, s.c.kind, s.c.id_masked,
               s.c.region_code)
        .select_from(c.outerjoin(s, s.c.id == c.c.subject_id))
        .where(c.c.batch_id == batch.id).order_by(c.c.seq))
    buf = BytesIO()
    wb = xlsxwriter.Workbook(buf, {"constant_memory": True, "in_memory": True})
    ws = wb.add_worksheet("核查结果")
    bold = wb.add_format({"bold": True})
    ws.write_row(0, 0, ["序号", "核查对象", "统一社会信用代码", "名称", "地区", "核查结果"], bold)
    for i, r in enumerate(rows, start=1):
        person = r.kind == "natural_person"
        shown = r.id_masked if r.query_kind == "citizen_id" else r.query_ref
        if r.query_kind == "citizen_id" and not shown:
            shown = "（公民身份号码，已隐藏）"
        if shown and shown.startswith("hash:"):
            shown = "（已隐藏）"
        name = (r.name[:1] + "*" * max(1, len(r.name) - 1)) if person and r.name else (r.name or "")
        region = lookup_region(r.region_code) if r.region_code else None
        ws.write_row(i, 0, [r.seq, shown or "", r.uscc or "", name, region.full_name if region else "",
                            rules.RESULT_LABELS.get(r.result, r.result)])
    ws.set_column(1, 3, 30)
    info = wb.add_worksheet("说明")
    summary = json.loads(batch.summary or "{}")
    for i, (k, v) in enumerate([("批量核查编号", str(batch.id)), ("核查部门", dept.name if batch.dept_id == dept.id else str(batch.dept_id)),
                                ("核查事项", batch.matter), ("事项类型", rules.MATTER_TYPES.get(batch.matter_type, "")),
                                ("核查目的", batch.purpose), ("核查时间（UTC）", batch.at.strftime("%Y-%m-%d %H:%M:%S")),
                                *[(rules.RESULT_LABELS.get(key, "合计"), str(summary.get(key, 0))) for key in SUMMARY_KEYS]]):
        info.write_row(i, 0, [k, v])
    info.set_column(0, 1, 24)
    wb.close()
    return buf.getvalue()
