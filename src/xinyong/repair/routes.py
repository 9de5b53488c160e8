"""Credit repair: eligibility (API and subject page), applications (API and portal), /admin/repair for the
department that made the finding."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor, ActorKind, actor_for_dept
from xinyong.access.deps import MAX_BIGINT, Allow, AllowDept, AllowUser, BigIdPath, DbSession
from xinyong.access.filing import filer_note, subject_code_of
from xinyong.access.policy import may_handle_case
from xinyong.accounts.models import Department, User
from xinyong.cases import attachments, casework
from xinyong.cases.config import get_config
from xinyong.catalog.service import get_catalog
from xinyong.core import clock
from xinyong.core.errors import DomainError, Forbidden, NotFound
from xinyong.records import service as records
from xinyong.repair import rules, service
from xinyong.repair.schemas import DecideIn, EligibilityOut, RepairCreated, RepairFullOut, RepairIn, RepairOut
from xinyong.subjects.models import Subject
from xinyong.ui.sections import SubjectSection, register_admin_link, register_subject_section
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["信用修复"])
pages = APIRouter(include_in_schema=False)


@router.get("/records/{record_id}/repair-eligibility", response_model=EligibilityOut,
            summary="信用修复条件：是否符合、还缺什么、最早何时可申请")
def eligibility(record_id: BigIdPath, db: DbSession,
                actor: Annotated[Actor, Allow("repair.eligibility")]) -> dict[str, Any]:
    today = clock.today()
    records.readable_record(db, record_id, actor, today)  # the public: only records in publication
    return service.eligibility_out(db, record_id, today)


@router.post("/repair-applications", status_code=201, response_model=RepairCreated,
             summary="申请信用修复（附证明材料与信用修复承诺）；支持 Idempotency-Key")
def apply(body: RepairIn, db: DbSession, actor: Annotated[Actor, Allow("repair.apply")],
          idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> Response:
    casework.check_target_for(db, record_id=body.record_id, entry_id=None, subject_code=body.subject_code)
    uploads = attachments.decode([(a.filename, a.content_base64) for a in body.attachments])
    done = service.apply(db, body.model_dump(exclude={"attachments"}), uploads, idempotency_key=idempotency_key,
                         today=clock.today(), actor=actor)
    app = done.application
    out = {"case_no": app.case_no, "query_code": done.query_code, "state": app.state,
           "decide_due": app.decide_due.isoformat()}
    db.commit()
    return JSONResponse(out, status_code=201 if done.created else 200,
                        headers={} if done.created else {"Idempotent-Replayed": "true"})


@router.get("/repair-applications", response_model=list[RepairFullOut], summary="本部门待决定的修复申请（信用办：全部）")
def list_apps(db: DbSession, dept: Annotated[Department, AllowDept("repair.list")], state: Annotated[str | None, Query()] = None) -> Any:
    return [service.full_out(db, a) for a in service.queue(db, dept, state=state)]


@router.get("/repair-applications/{case_no}", summary="修复申请办理情况（申请人凭查询码；认定部门凭密钥）",
            responses={200: {"model": RepairFullOut | RepairOut,
                             "description": "认定部门与信用办：完整办理情况；申请人凭查询码：公开部分"}})
def get_app(case_no: str, db: DbSession, actor: Annotated[Actor, Allow("repair.lookup")],
            code: Annotated[str | None, Query()] = None,
            x_query_code: Annotated[str | None, Header(alias="X-Query-Code")] = None) -> Any:
    if actor.kind is ActorKind.DEPT_KEY:  # the deciding department and the office see the whole case
        app = service.find_case(db, case_no)
        if app is not None and may_handle_case(actor, dept_ids={app.dept_id}):
            return RepairFullOut.model_validate(service.full_out(db, app)).model_dump(mode="json")
    return RepairOut.model_validate(service.public_out(db, service.by_case(db, case_no, code or x_query_code)))\
        .model_dump(mode="json")


def _app_id(db: Session, case_no: str) -> int:
    app = service.find_case(db, case_no)
    if app is None:
        raise NotFound(f"修复申请案号 {case_no} 不存在")
    return app.id


@router.post("/repair-applications/{case_no}/approve", response_model=RepairFullOut,
             summary="认定部门准予修复（停止公示、移出名单、解除措施、同步上级平台）")
def approve(case_no: str, body: DecideIn, db: DbSession, dept: Annotated[Department, AllowDept("repair.decide")]) -> Any:
    return service.full_out(db, service.approve(db, _app_id(db, case_no), dept=dept, note=body.note,
                                                today=clock.today()))


@router.post("/repair-applications/{case_no}/refuse", response_model=RepairFullOut, summary="认定部门不予修复（写明理由）")
def refuse(case_no: str, body: DecideIn, db: DbSession, dept: Annotated[Department, AllowDept("repair.decide")]) -> Any:
    return service.full_out(db, service.refuse(db, _app_id(db, case_no), dept=dept, note=body.note,
                                               today=clock.today()))


@router.post("/repair-applications/{case_no}/withdraw", response_model=RepairOut, summary="申请人撤回修复申请")
def withdraw(case_no: str, db: DbSession, actor: Annotated[Actor, Allow("repair.withdraw")],
             x_query_code: Annotated[str, Header(alias="X-Query-Code")]) -> Any:
    return service.public_out(db, service.withdraw(db, case_no, x_query_code, today=clock.today()))


# ---------------------------------------------------------------- subject page section

def _section(session: Session, subject: Subject, audience: str, today: date) -> SubjectSection | None:
    if audience != "public":
        return None
    repairable = set(get_config().repair.repairable_items)
    rows = []
    for rec in records.visible_records(session, subject.id, "public", today):
        if rec.item_code not in repairable:
            continue
        result = service.check(session, rec.id, clock.today())
        if result.may_apply:
            status = "可申请修复（须附证明材料并签署修复承诺）"
        elif result.applicable:
            status = "；".join(m.detail for m in result.missing if m.code in ("min_period", "objection"))
        else:
            status = result.reason or "不适用"
        link = Markup('<a href="/repair/new?record={}">查看修复条件</a>').format(rec.id)
        item = get_catalog().find(rec.item_code)
        rows.append({"cells": {"信息": f"{item.name if item else rec.item_code} {rec.decision_no or ''}",
                               "修复条件": status, "最早可申请": result.earliest or "—", "办理": link},
                     "badge": "可申请" if result.may_apply else None})
    if not rows:
        return None
    return SubjectSection(key="repair", title="信用修复", rows=rows, columns=["信息", "修复条件", "最早可申请", "办理"])


register_subject_section(60, "repair", _section)


# ---------------------------------------------------------------- portal

@pages.get("/repair/new", response_class=HTMLResponse)
def new_form(request: Request, db: DbSession, actor: Annotated[Actor, Allow("repair.apply")],
             record: Annotated[int, Query(ge=1, le=MAX_BIGINT)]) -> Response:
    return _form(request, db, actor, record, {"subject_code": subject_code_of(actor)}, None, secrets.token_urlsafe(16))


def _form(request: Request, db: Session, actor: Actor, record_id: int, form: dict[str, Any], error: str | None,
          token: str, status: int = 200) -> Response:
    rec = records.readable_record(db, record_id, actor, clock.today())
    return render(request, "repair/new.html", {
        "rec": records.record_out(rec), "e": service.eligibility_out(db, record_id, clock.today()), "form": form,
        "error": error, "token": token, "policy": get_config().attachments.model_dump(),
        "filer_note": filer_note(actor)}, status_code=status)


@pages.post("/repair/new", response_class=HTMLResponse)
async def new_submit(request: Request, db: DbSession, actor: Annotated[Actor, Allow("repair.apply")],
                     record_id: Annotated[int, Form(ge=1, le=MAX_BIGINT)],
                     subject_code: Annotated[str, Form()], applicant_name: Annotated[str, Form()],
                     contact: Annotated[str, Form()], statement: Annotated[str, Form()], token: Annotated[str, Form()],
                     obligations: Annotated[str, Form()] = "", signer_name: Annotated[str, Form()] = "",
                     files: Annotated[list[UploadFile] | None, File()] = None) -> Response:
    form = {"subject_code": subject_code, "applicant_name": applicant_name, "contact": contact,
            "statement": statement, "signer_name": signer_name}
    uploads = [attachments.Upload(f.filename or "附件", await f.read()) for f in files or [] if f.filename]
    try:
        casework.check_target_for(db, record_id=record_id, entry_id=None, subject_code=subject_code)
        with db.begin_nested():
            done = service.apply(db, {"record_id": record_id, "subject_code": subject_code,
                                      "applicant_name": applicant_name, "contact": contact, "statement": statement,
                                      "obligations_fulfilled": obligations == "yes",
                                      "sign_commitment_as": signer_name or None}, uploads,
                                 idempotency_key="form:" + token, today=clock.today(),
                                 actor=actor)
    except DomainError as exc:
        return _form(request, db, actor, record_id, form, exc.detail, token, exc.status)
    return render(request, "repair/receipt.html", {"case_no": done.application.case_no, "code": done.query_code,
                                                   "due": done.application.decide_due, "repeated": not done.created},
                  status_code=201)


@pages.get("/repair/{case_no}", response_class=HTMLResponse)
def case_page(request: Request, case_no: str, actor: Annotated[Actor, Allow("repair.lookup")]) -> Response:
    return render(request, "repair/case.html", {"case_no": case_no, "case": None})


@pages.post("/repair/{case_no}", response_class=HTMLResponse)
def case_lookup(request: Request, case_no: str, db: DbSession, actor: Annotated[Actor, Allow("repair.lookup")],
                code: Annotated[str, Form()]) -> Response:
    try:
        app = service.by_case(db, case_no, code)
    except DomainError as exc:
        return render(request, "repair/case.html", {"case_no": case_no, "case": None, "error": exc.detail},
                      status_code=exc.status)
    return render(request, "repair/case.html", {"case_no": case_no, "case": service.public_out(db, app)})


# ---------------------------------------------------------------- /admin/repair

register_admin_link(41, "/admin/repair", "信用修复", action="admin.repair.read")


def _dept(db: Session, user: User) -> Department:
    dept = db.get(Department, user.dept_id) if user.dept_id else None
    if dept is None:
        raise Forbidden("您的账号未关联部门；请联系信用办")
    return dept


@pages.get("/admin/repair", response_class=HTMLResponse)
def admin_queue(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.repair.read")]) -> Response:
    dept = _dept(db, user)
    apps = [service.full_out(db, a) for a in service.queue(db, dept)]
    return render(request, "repair/admin_queue.html", admin_context(request, user, dept=dept, apps=apps))


def _detail(request: Request, db: Session, user: User, app_id: int, error: str | None = None,
            status: int = 200) -> Response:
    dept = _dept(db, user)
    app = service.get(db, app_id)
    if not may_handle_case(actor_for_dept(dept), dept_ids={app.dept_id}):
        raise Forbidden("该修复申请不由本部门决定（谁认定谁修复）")
    rec = records.get_record(db, app.record_id)
    return render(request, "repair/admin_case.html", admin_context(
        request, user, dept=dept, app=service.full_out(db, app), rec=records.record_out(rec),
        history=records.history(db, rec.id), may_decide=bool(service.roles_of(dept, app)) and app.state == "submitted",
        error=error, labels=rules.STATE_LABELS), status_code=status)


@pages.get("/admin/repair/{app_id}", response_class=HTMLResponse)
def admin_case(request: Request, app_id: BigIdPath, db: DbSession,
               user: Annotated[User, AllowUser("admin.repair.read")]) -> Response:
    return _detail(request, db, user, app_id)


@pages.post("/admin/repair/{app_id}/{action}", response_class=HTMLResponse)
def admin_action(request: Request, app_id: BigIdPath, action: str, db: DbSession,
                 user: Annotated[User, AllowUser("admin.repair.act")],
                 note: Annotated[str, Form()] = "") -> Response:
    dept = _dept(db, user)
    try:
        with db.begin_nested():
            if action == "approve":
                service.approve(db, app_id, dept=dept, note=note or "准予信用修复", today=clock.today(),
                                actor=f"user:{user.username}")
            elif action == "refuse":
                service.refuse(db, app_id, dept=dept, note=note, today=clock.today(), actor=f"user:{user.username}")
            else:
                raise NotFound("不支持的操作")
    except DomainError as exc:
        return _detail(request, db, user, app_id, exc.detail, exc.status)
    return RedirectResponse(f"/admin/repair/{app_id}", status_code=303)


@pages.get("/admin/repair/{app_id}/files/{attachment_id}")
def admin_file(app_id: BigIdPath, attachment_id: BigIdPath, db: DbSession,
               user: Annotated[User, AllowUser("admin.repair.read")]) -> Response:
    dept = _dept(db, user)
    app = service.get(db, app_id)
    if not may_handle_case(actor_for_dept(dept), dept_ids={app.dept_id}):
        raise Forbidden("该修复申请不由本部门决定")
    row, data = attachments.read(db, attachment_id, service.CASE, app_id)
    return Response(data, media_type=row.media_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}"})


