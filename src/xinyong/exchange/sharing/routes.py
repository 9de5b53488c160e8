"""Thin routers: the change feed, bulk exports and inbound files for partners (`router`, under /api/v1), and
/admin/partners for the credit office (`pages`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from xinyong.access.actors import Actor
from xinyong.access.deps import Allow, AllowUser, DbSession
from xinyong.accounts.models import User
from xinyong.core import clock
from xinyong.core.db import engine_of, new_session
from xinyong.core.errors import DomainError, Refused
from xinyong.core.settings import get_settings
from xinyong.exchange.sharing import exports, feed, inbound, rules, service
from xinyong.ingest.upload import receive_upload
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["数据共享"])
pages = APIRouter(prefix="/admin", include_in_schema=False)

register_admin_link(60, "/admin/partners", "共享合作方", action="admin.partners.read")


@router.get("/feed", summary="变更订阅：范围内的新增、更正、撤销、停止公示、名单列入与移出",
            response_description='{"changes": […], "cursor": "…", "more": true|false}')
def read_feed(db: DbSession, actor: Annotated[Actor, Allow("partner.feed")],
              cursor: Annotated[str | None, Query(max_length=200, description="上次返回的 cursor；省略则从头读取")] = None,
              limit: Annotated[int, Query(ge=1, le=rules.MAX_LIMIT, description="本页最多条数")] = 1000) -> Response:
    partner = service.partner_of(db, actor)
    pos = feed.decode_cursor(partner.id, cursor)
    page = feed.read_page(db, partner, pos, limit, clock.today())
    service.log_read(db, partner, "feed", f"feed {rules.format_position(pos)}", len(page.changes))
    return Response(feed.feed_body(page.changes, feed.encode_cursor(partner.id, page.position), page.more),
                    media_type="application/json")


@router.get("/exports/{name}", summary="批量快照：一个信息项在共享范围内的全部有效记录（Parquet 或 CSV）")
def export(name: str, db: DbSession, actor: Annotated[Actor, Allow("partner.export")]) -> StreamingResponse:
    partner = service.partner_of(db, actor)
    plan = exports.plan(db, partner, name, clock.today())
    cursor = exports.feed_cursor_now(db, partner)

    def logged(rows: int) -> None:
        with new_session() as own:
            p = own.get(type(partner), partner.id)
            assert p is not None
            service.log_read(own, p, "export", f"{plan.item}.{plan.fmt}", rows)
            own.commit()

    headers = {"Content-Disposition": f'attachment; filename="{plan.item}.{plan.fmt}"', "X-Feed-Cursor": cursor}
    return StreamingResponse(exports.stream(engine_of(db), plan, logged), media_type=exports.FORMATS[plan.fmt],
                             headers=headers)


@router.post("/exchange/inbound", summary="上级平台下发名单或数据（走正常归集流程，返回批次结果与退回明细）")
async def receive_inbound(request: Request, db: DbSession, actor: Annotated[Actor, Allow("partner.inbound")]) -> dict:  # type: ignore[type-arg]
    partner = service.partner_of(db, actor)
    upload = await receive_upload(request, file_field="file", limit_mb=get_settings().max_upload_mb)
    try:
        item = upload.fields.get("item", "").strip()
        if not item:
            raise Refused("缺少信息项代码：请在表单字段「item」中填写，如 dishonest_judgment_debtor")
        assert upload.path is not None
        return await run_in_threadpool(inbound.receive, db, partner, upload.path, item, file_name=upload.file_name,
                                       list_type=upload.fields.get("list_type", "").strip() or None)
    finally:
        upload.discard()


# ---------------------------------------------------------------- /admin/partners

def _page(request: Request, db: DbSession, user: User, *, error: str | None = None, new_key: str | None = None,
          status: int = 200) -> Response:
    today = clock.today()
    totals = service.totals(db)
    partners = [{"p": p, "status": service.status_of(p, today), "scopes": service.scopes_of(db, p.id),
                 "reads": totals.get(p.id, (0, 0))} for p in service.list_partners(db)]
    names = {p.id: p.code for p in service.list_partners(db)}
    months = [(names.get(m.partner_id, m.partner_id), m) for m in service.monthly_counts(db)[:200]]
    return render(request, "sharing/partners.html", admin_context(
        request, user, partners=partners, months=months, error=error, new_key=new_key,
        kinds=rules.KIND_LABELS, levels=rules.LEVEL_LABELS, id_labels=rules.ID_LABELS,
        may_manage=user.role == "operator"), status_code=status)


@pages.get("/partners", response_class=HTMLResponse)
def admin_partners(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.partners.read")]) -> Response:
    return _page(request, db, user)


@pages.post("/partners", response_class=HTMLResponse)
def admin_add_partner(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.partners.manage")],
                      code: Annotated[str, Form(max_length=64)], name: Annotated[str, Form(max_length=200)],
                      items: Annotated[str, Form(max_length=2000)],
                      kind: Annotated[str, Form(max_length=16)] = "department",
                      level: Annotated[str, Form(max_length=16)] = "shared",
                      id_numbers: Annotated[str, Form(max_length=8)] = "masked",
                      purpose: Annotated[str, Form(max_length=500)] = "",
                      expires: Annotated[str, Form(max_length=10)] = "") -> Response:
    try:
        with db.begin_nested():
            expires_on = date.fromisoformat(expires) if expires else None
            _, key = service.add_partner(db, code, name, [service.ScopeIn(i, level, id_numbers)
                                                          for i in rules.split_items(items)],
                                         kind=kind, purpose=purpose, expires_on=expires_on,
                                         actor=f"user:{user.username}")
    except ValueError:
        return _page(request, db, user, error="到期日格式有误，请按 2027-12-31 格式填写", status=422)
    except DomainError as exc:
        return _page(request, db, user, error=exc.detail, status=exc.status)
    return _page(request, db, user, new_key=key)


@pages.post("/partners/{code}/revoke")
def admin_revoke_partner(code: str, db: DbSession,
                         user: Annotated[User, AllowUser("admin.partners.manage")]) -> Response:
    service.revoke_partner(db, code, actor=f"user:{user.username}")
    return RedirectResponse("/admin/partners", status_code=303)
