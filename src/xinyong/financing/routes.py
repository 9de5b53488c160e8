"""信易贷 routes: the public /financing page, the firm's /account/financing, the bank's /bank pages and API
(/api/v1/financing, bank keys), and /admin/financing for the credit office."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor
from xinyong.access.deps import (
    Allow,
    AllowUser,
    DbSession,
    IdPath,
    register_key_resolver,
    register_session_resolver,
)
from xinyong.accounts.models import User
from xinyong.accounts.sessions import current_session, end_session, start_session
from xinyong.core import clock
from xinyong.core.errors import DomainError, NotFound
from xinyong.financing import monitoring, rules, service
from xinyong.financing.models import BankSession, Institution
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

router = APIRouter(prefix="/financing", tags=["信易贷"])
pages = APIRouter(include_in_schema=False)

register_key_resolver(service.actor_for_key)
register_session_resolver(service.actor_for_session)
register_admin_link(80, "/admin/financing", "信易贷", action="fi.stats")
service.load_sla()
__all__ = ["monitoring", "pages", "router"]  # importing monitoring registers its job, listener and deliverer

Public = Annotated[Actor, Allow("public.read")]
Firm = Annotated[Actor, Allow("fi.firm")]
Bank = Annotated[Actor, Allow("fi.bank")]
BankReport = Annotated[Actor, Allow("fi.bank.report")]
LoggingIn = Annotated[Actor, Allow("session.login")]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ---------------------------------------------------------------- API (bank keys)

class ProductBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    min_amount: int
    max_amount: int
    min_term: int
    max_term: int
    min_rate: float
    max_rate: float
    guarantee: str
    regions: list[str] = Field(default_factory=list, max_length=100)
    industries: list[str] = Field(default_factory=list, max_length=100)
    rules: dict[str, Any] | None = None
    description: str = Field(default="", max_length=2000)


class FeedbackBody(BaseModel):
    amount: int | None = None
    rate: float | None = None
    term: int | None = None
    reasons: list[str] | None = Field(default=None, max_length=10)
    text: str = Field(default="", max_length=2000)
    on: date | None = None


@router.get("/products", summary="已上架的融资产品")
def api_products(db: DbSession, _: Public) -> list[dict[str, Any]]:
    names = service.institution_names(db)
    return [service.product_out(db, p, names) for p in service.products(db)]


@router.post("/products", status_code=201, summary="发布融资产品（金融机构）")
def api_create_product(body: ProductBody, db: DbSession, actor: Bank) -> dict[str, Any]:
    product = service.create_product(db, actor, service.ProductIn(**body.model_dump()))
    return service.product_out(db, product)


@router.get("/needs", summary="本机构的需求与待接单需求")
def api_needs(db: DbSession, actor: Bank) -> list[dict[str, Any]]:
    today = clock.today()
    names = service.institution_names(db)
    return [service.need_out(db, n, today, viewer=actor, names=names)
            for n in service.needs_for_bank(db, actor.party_id or 0)]


@router.post("/needs/{need_id}/{action}", summary="接单或反馈（受理、授信、拒绝、放款、撤回）")
def api_act(need_id: IdPath, action: str, body: FeedbackBody, db: DbSession, actor: Bank) -> dict[str, Any]:
    today = clock.today()
    if action not in rules.BANK_ACTIONS:
        raise NotFound(f"未知的操作“{action}”；可用：{'、'.join(sorted(rules.BANK_ACTIONS))}")
    need = service.act(db, actor, need_id, action, service.Feedback(**body.model_dump()), today)
    return service.need_out(db, need, today, viewer=actor)


def _logged_refusal(db: Session, exc: service.GrantRequired) -> service.GrantRequired:
    db.commit()  # the refusal's log row stays although the request fails
    return exc


@router.get("/reports/{uscc}", summary="企业授权信用报告（须企业授权）")
def api_report(uscc: str, db: DbSession, actor: BankReport, purpose: Annotated[str, Query(max_length=200)] = ""
               ) -> dict[str, Any]:
    try:
        data = service.authorised_report(db, actor, uscc[:40], purpose=purpose, today=clock.today())
    except service.GrantRequired as exc:
        raise _logged_refusal(db, exc) from None
    return {"title": data["title"], "subject": data["subject"], "grant": data["grant"],
            "sections": [vars(s) for s in data["sections"]]}


@router.get("/reports/{uscc}/pdf", summary="企业授权信用报告 PDF（可验真）")
def api_report_pdf(uscc: str, db: DbSession, actor: BankReport, purpose: Annotated[str, Query(max_length=200)] = ""
                   ) -> Response:
    try:
        number, body = service.authorised_pdf(db, actor, uscc[:40], purpose=purpose, today=clock.today())
    except service.GrantRequired as exc:
        raise _logged_refusal(db, exc) from None
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'})


# ---------------------------------------------------------------- public page

@pages.get("/financing", response_class=HTMLResponse)
def public_page(request: Request, db: DbSession, _: Public) -> Response:
    names = service.institution_names(db)
    return render(request, "financing/public.html", {
        "products": [service.product_out(db, p, names) for p in service.products(db)],
        "headline": service.public_headline(db, clock.today())})


# ---------------------------------------------------------------- the firm (subject account)

def _firm_page(request: Request, db: Session, actor: Actor, *, error: str | None = None,
               eligibility: list[dict[str, Any]] | None = None, status: int = 200) -> Response:
    today = clock.today()
    subject_id = actor.subject_id or 0
    names = service.institution_names(db)
    items = service.scope_items()
    needs = [service.need_out(db, n, today, names=names) for n in service.needs_of_subject(db, subject_id)]
    if eligibility is None:
        eligibility = service.eligibility_for(db, subject_id, today)
    return render(request, "financing/firm.html", {
        "needs": needs, "eligibility": eligibility,
        "grants": [service.grant_out(g, today, names, items) for g in service.grants_of_subject(db, subject_id)],
        "views": service.views_of_subject(db, subject_id), "institutions": names, "items": items,
        "purposes": rules.PURPOSES, "error": error, "default_expiry": today + timedelta(days=90)},
        status_code=status)


@pages.get("/account/financing", response_class=HTMLResponse)
def firm_home(request: Request, db: DbSession, actor: Firm) -> Response:
    return _firm_page(request, db, actor)


def _int(raw: str, label: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise DomainError(f"{label}须为整数") from None


@pages.post("/account/financing/needs", response_class=HTMLResponse)
def firm_new_need(request: Request, db: DbSession, actor: Firm, amount: Annotated[str, Form(max_length=20)],
                  term: Annotated[str, Form(max_length=10)], purpose: Annotated[str, Form(max_length=2000)],
                  product_id: Annotated[str, Form(max_length=12)] = "") -> Response:
    try:
        with db.begin_nested():
            need = service.create_need(db, actor, amount=_int(amount, "申请金额"), term=_int(term, "期限"),
                                       purpose=purpose, product_id=_int(product_id, "产品") if product_id else None,
                                       today=clock.today())
    except DomainError as exc:
        return _firm_page(request, db, actor, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/account/financing/needs/{need.id}", status_code=303)


@pages.get("/account/financing/needs/{need_id}", response_class=HTMLResponse)
def firm_need(request: Request, need_id: IdPath, db: DbSession, actor: Firm) -> Response:
    today = clock.today()
    need = service.get_need_for(db, actor, need_id)
    return render(request, "financing/need.html", {
        "need": service.need_out(db, need, today), "events": service.need_events(db, need),
        "eligibility": service.eligibility_for(db, need.subject_id, today, amount=need.amount, term=need.term),
        "firm": True})


@pages.post("/account/financing/needs/{need_id}/cancel", response_class=HTMLResponse)
def firm_cancel(request: Request, need_id: IdPath, db: DbSession, actor: Firm) -> Response:
    try:
        with db.begin_nested():
            service.act(db, actor, need_id, "cancel", service.Feedback(), clock.today())
    except DomainError as exc:
        return _firm_page(request, db, actor, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/account/financing/needs/{need_id}", status_code=303)


@pages.post("/account/financing/grants", response_class=HTMLResponse)
async def firm_grant(request: Request, db: DbSession, actor: Firm) -> Response:
    form = await request.form()
    try:
        expires = date.fromisoformat(str(form.get("expires_on", ""))[:10])
    except ValueError:
        return _firm_page(request, db, actor, error="请填写授权到期日（YYYY-MM-DD）", status=422)
    try:
        need_raw = str(form.get("need_id", "") or "")
        with db.begin_nested():
            service.create_grant(db, actor, institution_id=_int(str(form.get("institution_id", "0")), "金融机构"),
                                 items=[str(v)[:64] for v in form.getlist("items")][:100],
                                 purpose=str(form.get("purpose", ""))[:16], expires_on=expires,
                                 need_id=_int(need_raw, "需求") if need_raw else None, today=clock.today())
    except DomainError as exc:
        return _firm_page(request, db, actor, error=exc.detail, status=exc.status)
    return RedirectResponse("/account/financing#grants", status_code=303)


@pages.post("/account/financing/grants/{grant_id}/revoke", response_class=HTMLResponse)
def firm_revoke(request: Request, grant_id: IdPath, db: DbSession, actor: Firm) -> Response:
    try:
        with db.begin_nested():
            service.revoke_grant(db, actor, grant_id, clock.today())
    except DomainError as exc:
        return _firm_page(request, db, actor, error=exc.detail, status=exc.status)
    return RedirectResponse("/account/financing#grants", status_code=303)


# ---------------------------------------------------------------- the bank's pages

@pages.get("/bank/login", response_class=HTMLResponse)
def bank_login_form(request: Request, _: LoggingIn) -> Response:
    return render(request, "financing/bank_login.html", {"form": {}})


@pages.post("/bank/login", response_class=HTMLResponse)
def bank_login(request: Request, db: DbSession, _: LoggingIn, username: Annotated[str, Form(max_length=64)],
               password: Annotated[str, Form(max_length=200)]) -> Response:
    try:
        user = service.authenticate(db, username, password, address=_address(request))
    except DomainError as exc:
        return render(request, "financing/bank_login.html", {"form": {"username": username}, "error": exc.detail},
                      status_code=exc.status)
    start_session(db, request)
    row = current_session(db, request)
    assert row is not None
    db.add(BankSession(web_session_id=row.id, user_id=user.id))
    return RedirectResponse("/bank", status_code=303)


@pages.post("/bank/logout")
def bank_logout(request: Request, db: DbSession, _: LoggingIn) -> Response:
    row = current_session(db, request)
    if row is not None and db.get(BankSession, row.id) is not None:  # only a bank user's own session
        end_session(db, request)
    return RedirectResponse("/bank/login", status_code=303)


def _bank_page(request: Request, db: Session, actor: Actor, *, error: str | None = None,
               status: int = 200) -> Response:
    today = clock.today()
    names = service.institution_names(db)
    inst = db.get(Institution, actor.party_id or 0)
    user = service.bank_user_of(db, actor)
    return render(request, "financing/bank.html", {
        "institution": inst, "user": user, "role_label": rules.ROLES.get(user.role, "") if user else "API",
        "needs": [service.need_out(db, n, today, viewer=actor, names=names)
                  for n in service.needs_for_bank(db, actor.party_id or 0)],
        "products": [service.product_out(db, p, names)
                     for p in service.products(db, institution_id=actor.party_id, published_only=False)],
        "guarantees": rules.GUARANTEES, "error": error}, status_code=status)


@pages.get("/bank", response_class=HTMLResponse)
def bank_home(request: Request, db: DbSession, actor: Bank) -> Response:
    return _bank_page(request, db, actor)


@pages.get("/bank/needs/{need_id}", response_class=HTMLResponse)
def bank_need(request: Request, need_id: IdPath, db: DbSession, actor: Bank) -> Response:
    today = clock.today()
    need = service.get_need_for(db, actor, need_id)
    return render(request, "financing/need.html", {
        "need": service.need_out(db, need, today, viewer=actor), "events": service.need_events(db, need),
        "firm": False, "reasons": rules.REFUSAL_REASONS, "today": today})


@pages.post("/bank/needs/{need_id}/{action}", response_class=HTMLResponse)
async def bank_act(request: Request, need_id: IdPath, action: str, db: DbSession, actor: Bank) -> Response:
    form = await request.form()

    def num(name: str, kind: type) -> Any:
        raw = str(form.get(name, "") or "").strip()[:20]
        if not raw:
            return None
        try:
            return kind(raw)
        except ValueError:
            raise DomainError(f"“{name}”须为数字") from None

    try:
        if action not in rules.BANK_ACTIONS:
            raise NotFound(f"未知的操作“{action[:20]}”；可用：{'、'.join(sorted(rules.BANK_ACTIONS))}")
        on_raw = str(form.get("on", "") or "")[:10]
        try:
            on = date.fromisoformat(on_raw) if on_raw else None
        except ValueError:
            raise DomainError("日期须为 YYYY-MM-DD") from None
        fb = service.Feedback(amount=num("amount", int), rate=num("rate", float), term=num("term", int),
                              reasons=[str(r)[:32] for r in form.getlist("reasons")][:10],
                              text=str(form.get("text", "") or "")[:2000], on=on)
        with db.begin_nested():
            service.act(db, actor, need_id, action, fb, clock.today())
    except DomainError as exc:
        return _bank_page(request, db, actor, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/bank/needs/{need_id}", status_code=303)


@pages.post("/bank/products", response_class=HTMLResponse)
async def bank_new_product(request: Request, db: DbSession, actor: Bank) -> Response:
    import json

    form = await request.form()
    try:
        def f(name: str) -> str:
            return str(form.get(name, "") or "").strip()[:2000]

        try:
            data = service.ProductIn(
                name=f("name"), min_amount=int(f("min_amount")), max_amount=int(f("max_amount")),
                min_term=int(f("min_term")), max_term=int(f("max_term")), min_rate=float(f("min_rate")),
                max_rate=float(f("max_rate")), guarantee=f("guarantee"), regions=f("regions").split(","),
                industries=f("industries").split(","), rules=json.loads(f("rules")) if f("rules") else None,
                description=f("description"))
        except (ValueError, TypeError):
            raise DomainError("额度、期限、利率须为数字，准入条件须为 JSON") from None
        with db.begin_nested():
            service.create_product(db, actor, data)
    except DomainError as exc:
        return _bank_page(request, db, actor, error=exc.detail, status=exc.status)
    return RedirectResponse("/bank", status_code=303)


@pages.get("/bank/reports/{uscc}", response_class=HTMLResponse)
def bank_report(request: Request, uscc: str, db: DbSession, actor: BankReport,
                purpose: Annotated[str, Query(max_length=200)] = "") -> Response:
    try:
        data = service.authorised_report(db, actor, uscc[:40], purpose=purpose, today=clock.today())
    except service.GrantRequired as exc:
        raise _logged_refusal(db, exc) from None
    return render(request, "financing/report.html", {"data": data, "uscc": uscc, "purpose": purpose})


@pages.get("/bank/reports/{uscc}/pdf")
def bank_report_pdf(uscc: str, db: DbSession, actor: BankReport,
                    purpose: Annotated[str, Query(max_length=200)] = "") -> Response:
    return api_report_pdf(uscc, db, actor, purpose)


# ---------------------------------------------------------------- /admin/financing (credit office)

def _admin(request: Request, db: Session, user: User, *, error: str | None = None, notice: str | None = None,
           status: int = 200) -> Response:
    from sqlalchemy import select

    from xinyong.financing.models import BankUser

    insts = list(db.scalars(select(Institution).order_by(Institution.id)))
    users = list(db.scalars(select(BankUser).order_by(BankUser.id)))
    return render(request, "financing/admin.html", admin_context(
        request, user, stats=service.stats(db, clock.today()), institutions=insts, users=users,
        kinds=rules.INSTITUTION_KINDS, roles=rules.ROLES, error=error, notice=notice), status_code=status)


@pages.get("/admin/financing", response_class=HTMLResponse)
def admin_home(request: Request, db: DbSession, user: Annotated[User, AllowUser("fi.stats")]) -> Response:
    return _admin(request, db, user)


@pages.get("/admin/financing/export.xlsx")
def admin_export(db: DbSession, _: Annotated[User, AllowUser("fi.stats")]) -> Response:
    return Response(service.stats_xlsx(db, clock.today()),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="financing-stats.xlsx"'})


@pages.post("/admin/financing/{what}", response_class=HTMLResponse)
async def admin_add(request: Request, what: str, db: DbSession,
                    user: Annotated[User, AllowUser("fi.manage")]) -> Response:
    form = await request.form()
    actor = f"user:{user.username}"

    def f(name: str) -> str:
        return str(form.get(name, "") or "").strip()[:200]

    notice = None
    try:
        with db.begin_nested():
            if what == "institutions":
                inst = service.add_institution(db, f("uscc"), f("name"), f("kind") or "bank", actor=actor)
                notice = f"已添加金融机构 {inst.name}"
            elif what == "users":
                inst = service.get_institution(db, f("institution"))
                service.add_user(db, inst, f("username"), str(form.get("password", ""))[:200], f("role"), actor=actor)
                notice = f"已为 {inst.name} 添加用户 {f('username')}"
            elif what == "keys":
                inst = service.get_institution(db, f("institution"))
                key = service.create_key(db, inst, f("label") or None, actor=actor)
                notice = f"已为 {inst.name} 签发 API 密钥（只显示这一次，请妥善转交）：{key}"
            else:
                raise DomainError("未知操作")
    except DomainError as exc:
        return _admin(request, db, user, error=exc.detail, status=exc.status)
    return _admin(request, db, user, notice=notice)

