"""The public credit portal: home, search, a subject's public record, 双公示 list and its XLSX export."""

from __future__ import annotations

import logging
import time
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from xinyong.access.deps import DbSession, declare
from xinyong.catalog.schemas import CATEGORIES
from xinyong.catalog.service import get_catalog
from xinyong.core.db import dialect_name
from xinyong.core.errors import NotFound
from xinyong.records import service as records
from xinyong.records.models import Record
from xinyong.search.service import MAX_LIMIT, search_subjects
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject
from xinyong.ui.sections import subject_sections
from xinyong.ui.templating import render
from xinyong.web import publicity

log = logging.getLogger("xinyong.web.portal")
pages = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
PUBLICITY_PAGE = 30
_COUNTS_TTL = 300.0
_counts_cache: dict[str, tuple[float, dict[str, int]]] = {}
# Payload fields shown as a record's content and type, by preference (others stay under 全部字段).
CONTENT_FIELDS = (*publicity.CONTENT_FIELDS, "list_reason", "honour_name", "rating")
TYPE_FIELDS = ("penalty_type", "license_category", "list_type", "honour_name", "rating", "level")


def reset_counts_cache() -> None:
    _counts_cache.clear()


def _subject_count(session: Session) -> int:
    if dialect_name(session) == "postgresql":
        estimate = session.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'subjects'")) or 0
        if estimate > 200_000:  # exact counts of millions of rows cost a sequential scan
            return int(estimate)
    return session.scalar(select(func.count()).select_from(Subject).where(Subject.kind != "natural_person")) or 0


def home_counts(session: Session) -> dict[str, int]:
    """Subjects and records in publication; cached for a few minutes (the home page is the busiest)."""
    key = str(session.get_bind().engine.url)
    hit = _counts_cache.get(key)
    if hit and time.monotonic() - hit[0] < _COUNTS_TTL:
        return hit[1]
    today = date.today()
    rec = Record
    public_items = tuple(i.code for i in get_catalog().list(disclosure="public"))
    n_public = session.scalar(
        select(func.count()).select_from(rec).where(
            rec.item_code.in_(public_items), rec.state.in_(("active", "objection")), rec.publish_from <= today,
            (rec.publish_until.is_(None)) | (rec.publish_until >= today))
    ) or 0
    counts = {"subjects": _subject_count(session), "records": n_public}
    _counts_cache[key] = (time.monotonic(), counts)
    return counts


@pages.get("/", response_class=HTMLResponse)
@declare("public.read")
def home(request: Request, db: DbSession) -> Response:
    latest = publicity.publicity_rows(db, publicity.Filters(), limit=8)
    return render(request, "portal/home.html", {"counts": home_counts(db), "latest": latest})


@pages.get("/search", response_class=HTMLResponse)
@declare("public.read")
def search_page(request: Request, db: DbSession, q: str = "",
                page: Annotated[int, Query(ge=1, le=1000)] = 1) -> Response:
    ctx: dict[str, Any] = {"q": q, "result": None, "page": page, "page_size": PAGE_SIZE}
    if q.strip() or "q" in request.query_params:
        result = search_subjects(db, q, limit=min(PAGE_SIZE, MAX_LIMIT), offset=(page - 1) * PAGE_SIZE)
        ctx["result"] = result
        ctx["pages"] = max(1, -(-result.total // PAGE_SIZE))
    template = "portal/_results.html" if request.headers.get("hx-request") else "portal/search.html"
    return render(request, template, ctx)


def _record_view(out: dict[str, Any]) -> dict[str, Any]:
    values = out["values"]
    out["content"] = next((str(values[k]) for k in CONTENT_FIELDS if values.get(k)), "")
    out["type"] = next((str(values[k]) for k in TYPE_FIELDS if values.get(k)), "")
    out["authority"] = values.get("authority") or values.get("source_dept") or ""
    return out


def _grouped(session: Session, subject: Subject, today: date) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in records.visible_records(session, subject.id, "public", today):
        out = _record_view(records.record_out(rec))
        groups.setdefault(out["category"] or "其他信息", []).append(out)
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(groups.items(), key=lambda kv: order.get(kv[0], len(order)))


@pages.get("/subjects/{uscc}", response_class=HTMLResponse)
@declare("public.read")
def subject_page(request: Request, uscc: str, db: DbSession) -> Response:
    subject = subjects.get_by_uscc(db, uscc)
    if subject.kind == "natural_person":  # never reachable by code; guard the page regardless
        raise NotFound("未找到该主体")
    today = date.today()
    info = subjects.subject_out(db, subject)
    groups = _grouped(db, subject, today)
    sections = subject_sections(db, subject, "public", today)
    return render(request, "portal/subject.html", {
        "s": info, "groups": groups, "sections": sections, "today": today,
        "n_records": sum(len(g) for _, g in groups),
    })


def _filters(dept: str | None, kind: str | None, date_from: str | None, date_to: str | None) -> tuple[
        publicity.Filters, list[str]]:
    problems = []
    dept_id = None
    if dept:
        if dept.isdigit():
            dept_id = int(dept)
        else:
            problems.append("部门参数无效，已忽略")
    if kind and kind not in publicity.TYPE_LABELS:
        problems.append("类型只能是“行政许可”或“行政处罚”，已忽略")
        kind = None

    def parse(value: str | None, label: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            problems.append(f"{label}“{value[:20]}”不是有效日期（格式如 2026-03-05），已忽略")
            return None

    d_from, d_to = parse(date_from, "开始日期"), parse(date_to, "结束日期")
    if d_from and d_to and d_from > d_to:
        problems.append("开始日期晚于结束日期，已互换")
        d_from, d_to = d_to, d_from
    if problems:
        log.info("publicity filters corrected: %s", "；".join(problems))
    return publicity.Filters(dept_id=dept_id, kind=kind or None, date_from=d_from, date_to=d_to), problems


@pages.get("/publicity", response_class=HTMLResponse)
@declare("public.read")
def publicity_page(request: Request, db: DbSession,
                   dept: str | None = None,
                   type: Annotated[str | None, Query(alias="type")] = None,
                   date_from: Annotated[str | None, Query(alias="from")] = None,
                   date_to: Annotated[str | None, Query(alias="to")] = None,
                   after: str | None = None) -> Response:
    f, problems = _filters(dept, type, date_from, date_to)
    cursor = None
    if after:  # the id of the previous page's last row (the list runs newest published first, by id)
        if after.isdigit() and len(after) <= 18:
            cursor = int(after)
        else:
            problems.append("翻页参数无效，已回到第一页")
    rows = publicity.publicity_rows(db, f, limit=PUBLICITY_PAGE + 1, after=cursor)
    more = len(rows) > PUBLICITY_PAGE
    rows = rows[:PUBLICITY_PAGE]
    total, capped = publicity.count_capped(db, f)
    next_after = rows[-1]["id"] if more and rows else None
    return render(request, "portal/publicity.html", {
        "rows": rows, "f": f, "problems": problems, "total": total, "capped": capped,
        "depts": publicity.department_names(db), "types": publicity.TYPE_LABELS,
        "next_qs": f.query_string(after=next_after) if next_after else None,
        "first_qs": f.query_string(), "is_first": cursor is None, "xlsx_cap": publicity.XLSX_CAP,
    })


@pages.get("/publicity.xlsx")
@declare("public.read")
def publicity_download(db: DbSession, dept: str | None = None,
                       type: Annotated[str | None, Query(alias="type")] = None,
                       date_from: Annotated[str | None, Query(alias="from")] = None,
                       date_to: Annotated[str | None, Query(alias="to")] = None) -> Response:
    f, _ = _filters(dept, type, date_from, date_to)
    body = publicity.publicity_xlsx(db, f)
    name = f"shuanggongshi-{date.today():%Y%m%d}.xlsx"
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
