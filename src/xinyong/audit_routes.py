"""/admin/audit: search the audit trail (actor, action, entity, date range), for operators and auditors."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from xinyong.access.deps import AllowUser, DbSession
from xinyong.accounts.models import User
from xinyong.core.audit import AuditEvent, verify_chain
from xinyong.core.identifiers import mask_citizen_id
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import CST, admin_context, render

pages = APIRouter(include_in_schema=False)
register_admin_link(90, "/admin/audit", "审计日志", roles=("operator", "auditor"))
PER_PAGE = 50

# Callers pass personal data masked; this is the second line: anything that still looks like an ID number
# or a mobile number is masked before it reaches the page.
_ID = re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
                 r"(?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")


def mask(text: str | None) -> str:
    if not text:
        return ""
    try:
        text = json.dumps(json.loads(text), ensure_ascii=False, indent=None)
    except ValueError:
        pass
    text = _ID.sub(lambda m: mask_citizen_id(m.group(0).upper()), text)
    return _MOBILE.sub(r"\1****\2", text)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None


@pages.get("/admin/audit", response_class=HTMLResponse)
def audit_search(request: Request, db: DbSession, user: Annotated[User, AllowUser("audit.read")],
                 actor: Annotated[str, Query()] = "", action: Annotated[str, Query()] = "",
                 entity: Annotated[str, Query()] = "", entity_id: Annotated[str, Query()] = "",
                 date_from: Annotated[str, Query()] = "", date_to: Annotated[str, Query()] = "",
                 page: Annotated[int, Query(ge=1, le=100000)] = 1, verify: Annotated[str, Query()] = "") -> Response:
    q = select(AuditEvent)
    notes: list[str] = []
    if actor.strip():
        q = q.where(AuditEvent.actor.contains(actor.strip()))
    if action.strip():
        q = q.where(AuditEvent.action.startswith(action.strip()))
    if entity.strip():
        q = q.where(AuditEvent.entity == entity.strip())
    if entity_id.strip():
        q = q.where(AuditEvent.entity_id == entity_id.strip())
    d_from, d_to = _day(date_from), _day(date_to)
    for raw, parsed, label in ((date_from, d_from, "开始日期"), (date_to, d_to, "结束日期")):
        if raw.strip() and parsed is None:
            notes.append(f"{label}“{raw[:20]}”不是有效日期（格式如 2026-03-05），已忽略")
    if d_from:
        q = q.where(AuditEvent.at >= datetime.combine(d_from, time.min, CST))
    if d_to:
        q = q.where(AuditEvent.at < datetime.combine(d_to + timedelta(days=1), time.min, CST))
    total = db.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = list(db.scalars(q.order_by(AuditEvent.seq.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    events: list[dict[str, Any]] = [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
                                     "entity": e.entity, "entity_id": e.entity_id, "before": mask(e.before),
                                     "after": mask(e.after), "hash": e.hash[:12]} for e in rows]
    chain = verify_chain(db) if verify else None
    filters = {"actor": actor, "action": action, "entity": entity, "entity_id": entity_id, "date_from": date_from,
               "date_to": date_to}
    return render(request, "audit/search.html", admin_context(
        request, user, events=events, total=total, page=page, pages=max(1, -(-total // PER_PAGE)), filters=filters,
        notes=notes, chain=chain))
