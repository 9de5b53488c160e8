"""Objections: API (/api/v1/objections…), the portal form and case page, and /admin/objections."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor, ActorKind
from xinyong.access.deps import MAX_BIGINT, Allow, AllowDept, AllowUser, BigIdPath, DbSession, department_of
from xinyong.access.filing import filer_note, subject_code_of
from xinyong.access.policy import require
from xinyong.accounts.models import Department, User
from xinyong.cases import attachments, casework
from xinyong.core import clock
from xinyong.core.errors import DomainError, Forbidden, NotFound
from xinyong.objections import rules, service
from xinyong.objections.schemas import (
    AnswerIn,
    DecisionIn,
    NoteIn,
    ObjectionCreated,
    ObjectionIn,
    ObjectionOut,
    ObjectionPublicOut,
    RejectIn,
)
from xinyong.records.service import readable_record
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["异议"])
pages = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- API

@router.post("/objections", status_code=201, response_model=ObjectionCreated,
             summary="提出异议（信用记录或名单信息）；支持 Idempotency-Key 防重复提交")
def submit(body: ObjectionIn, db: DbSession, actor: Annotated[Actor, Allow("objection.file")],
           idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> Response:
    casework.check_target_for(db, record_id=body.record_id, entry_id=body.entry_id,
                             subject_code=body.subject_code)
    uploads = attachments.decode([(a.filename, a.content_base64) for a in body.attachments])
    done = service.submit(db, body.model_dump(exclude={"attachments"}), uploads, idempotency_key=idempotency_key,
                          today=clock.today(), actor=actor)
    out = {"case_no": done.objection.case_no, "query_code": done.query_code, "state": done.objection.state}
    db.commit()
    return JSONResponse(out, status_code=201 if done.created else 200,
                        headers={} if done.created else {"Idempotent-Replayed": "true"})


def _case_for(db: Session, case_no: str, code: str | None, dept: Department | None) -> tuple[Any, bool]:
    """(case, full view?) — departments involved see the full case; the applicant sees it with the query code."""
    if dept is not None:
        obj = service.find_case(db, case_no)
        if obj is not None and service.roles_of(dept, obj):
            return obj, True
        if code is None:  # a case the department does not handle answers like a missing one
            raise NotFound(f"异议案号 {case_no} 不存在或不由本部门办理，请核对案号；申请人请凭查询码查看")
    return service.by_case(db, case_no, code), False


@router.get("/objections/{case_no}", summary="查询异议办理情况（申请人凭查询码；办理部门凭 API 密钥）",
            responses={200: {"model": ObjectionOut | ObjectionPublicOut,
                             "description": "办理部门：完整办理情况；申请人凭查询码：公开部分"}})
def get_case(case_no: str, db: DbSession, actor: Annotated[Actor, Allow("objection.lookup")],
             code: Annotated[str | None, Query(description="查询码")] = None,
             x_query_code: Annotated[str | None, Header(alias="X-Query-Code")] = None) -> dict[str, Any]:
    dept = department_of(db, actor) if actor.kind is ActorKind.DEPT_KEY else None
    obj, full = _case_for(db, case_no, code or x_query_code, dept)
    if full:
        return ObjectionOut.model_validate(service.full_out(db, obj)).model_dump(mode="json")
    return ObjectionPublicOut.model_validate(service.public_out(db, obj)).model_dump(mode="json")


@router.post("/objections/{case_no}/withdraw", response_model=ObjectionPublicOut, summary="申请人撤回异议")
def withdraw(case_no: str, db: DbSession, actor: Annotated[Actor, Allow("objection.withdraw")],
             x_query_code: Annotated[str, Header(alias="X-Query-Code")]) -> Any:
    obj = service.withdraw(db, case_no, x_query_code, today=clock.today())
    return service.public_out(db, obj)


def _obj_id(db: Session, case_no: str) -> int:
    obj = service.find_case(db, case_no)
    if obj is None:
        raise NotFound(f"异议案号 {case_no} 不存在，请核对案号")
    return obj.id


@router.post("/objections/{case_no}/accept", response_model=ObjectionOut, summary="信用办受理（标注异议中、暂停措施）")
def accept(case_no: str, body: NoteIn, db: DbSession, dept: Annotated[Department, AllowDept("objection.decide")]) -> Any:
    return service.full_out(db, service.accept(db, _obj_id(db, case_no), dept=dept, today=clock.today(),
                                               note=body.note))


@router.post("/objections/{case_no}/reject", response_model=ObjectionOut, summary="信用办不予受理（须写明理由）")
def reject(case_no: str, body: RejectIn, db: DbSession, dept: Annotated[Department, AllowDept("objection.decide")]) -> Any:
    return service.full_out(db, service.reject(db, _obj_id(db, case_no), dept=dept, today=clock.today(),
                                               reason=body.note))


@router.post("/objections/{case_no}/forward", response_model=ObjectionOut, summary="信用办转数据提供部门核实")
def forward(case_no: str, body: NoteIn, db: DbSession, dept: Annotated[Department, AllowDept("objection.decide")]) -> Any:
    return service.full_out(db, service.forward(db, _obj_id(db, case_no), dept=dept, today=clock.today(),
                                                note=body.note))


@router.post("/objections/{case_no}/answer", response_model=ObjectionOut, summary="数据提供部门答复核实结论")
def answer(case_no: str, body: AnswerIn, db: DbSession, dept: Annotated[Department, AllowDept("objection.decide")]) -> Any:
    return service.full_out(db, service.answer(db, _obj_id(db, case_no), dept=dept, suggestion=body.suggestion,
                                               text=body.text, today=clock.today()))


@router.post("/objections/{case_no}/decide", response_model=ObjectionOut, summary="信用办决定：更正、撤销或维持")
def decide(case_no: str, body: DecisionIn, db: DbSession, dept: Annotated[Department, AllowDept("objection.decide")]) -> Any:
    return service.full_out(db, service.decide(db, _obj_id(db, case_no), dept=dept, outcome=body.outcome,
                                               note=body.note, corrections=body.corrections, today=clock.today()))


@router.get("/objections", response_model=list[ObjectionOut], summary="本部门的异议（信用办：全部）")
def list_cases(db: DbSession, dept: Annotated[Department, AllowDept("objection.list")], state: Annotated[str | None, Query()] = None) -> Any:
    return [service.full_out(db, o) for o in service.queue(db, dept, state=state)]


# ---------------------------------------------------------------- portal

@pages.get("/objections/new", response_class=HTMLResponse)
def new_form(request: Request, db: DbSession, actor: Annotated[Actor, Allow("objection.file")],
             record: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
             entry: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None) -> Response:
    # the record named in the link is shown only as far as this visitor may read it (the public: the projection)
    target = readable_record(db, record, actor, clock.today()) if record else None
    return render(request, "objections/new.html", {
        "form": {"record_id": record or "", "entry_id": entry or "", "subject_code": subject_code_of(actor)},
        "target": target, "token": secrets.token_urlsafe(16), "policy": _policy(), "filer_note": filer_note(actor)})


def _policy() -> dict[str, Any]:
    from xinyong.cases.config import get_config

    return get_config().attachments.model_dump()


@pages.post("/objections/new", response_class=HTMLResponse)
async def new_submit(request: Request, db: DbSession, actor: Annotated[Actor, Allow("objection.file")],
                     applicant_name: Annotated[str, Form()],
                     contact: Annotated[str, Form()], subject_code: Annotated[str, Form()],
                     reason: Annotated[str, Form()], token: Annotated[str, Form()],
                     record_id: Annotated[str, Form()] = "", entry_id: Annotated[str, Form()] = "",
                     requested: Annotated[str, Form()] = "",
                     files: Annotated[list[UploadFile] | None, File()] = None) -> Response:
    form = {"applicant_name": applicant_name, "contact": contact, "subject_code": subject_code, "reason": reason,
            "record_id": record_id, "entry_id": entry_id, "requested": requested}
    uploads = [attachments.Upload(f.filename or "附件", await f.read()) for f in files or [] if f.filename]
    try:
        if len(reason.strip()) < 5:
            raise DomainError("请具体写明异议事项（至少 5 个字）")
        target_record = int(record_id) if record_id.strip().isdigit() else None
        target_entry = int(entry_id) if entry_id.strip().isdigit() else None
        data = {"applicant_name": applicant_name, "contact": contact, "subject_code": subject_code,
                "reason": reason, "requested": requested or None, "record_id": target_record,
                "entry_id": target_entry}
        casework.check_target_for(db, record_id=target_record, entry_id=target_entry,
                                 subject_code=subject_code)
        with db.begin_nested():
            done = service.submit(db, data, uploads, idempotency_key="form:" + token, today=clock.today(),
                                  actor=actor)
    except DomainError as exc:
        return render(request, "objections/new.html", {"form": form, "error": exc.detail, "token": token,
                                                        "policy": _policy(), "target": None},
                      status_code=exc.status)
    return render(request, "objections/receipt.html", {"case_no": done.objection.case_no, "code": done.query_code,
                                                       "repeated": not done.created}, status_code=201)


@pages.get("/objections/{case_no}", response_class=HTMLResponse)
def case_page(request: Request, case_no: str, actor: Annotated[Actor, Allow("objection.lookup")]) -> Response:
    return render(request, "objections/case.html", {"case_no": case_no, "case": None})


@pages.post("/objections/{case_no}", response_class=HTMLResponse)
def case_lookup(request: Request, case_no: str, db: DbSession, actor: Annotated[Actor, Allow("objection.lookup")],
                code: Annotated[str, Form()], action: Annotated[str, Form()] = "view") -> Response:
    if action == "withdraw":
        require(actor, "objection.withdraw")
    try:
        if action == "withdraw":
            with db.begin_nested():
                service.withdraw(db, case_no, code, today=clock.today())
        obj = service.by_case(db, case_no, code)
    except DomainError as exc:
        return render(request, "objections/case.html", {"case_no": case_no, "case": None, "error": exc.detail},
                      status_code=exc.status)
    return render(request, "objections/case.html", {"case_no": case_no, "case": service.public_out(db, obj),
                                                    "code": code, "can_withdraw": obj.state in
                                                    {s.value for s in rules.TRANSITIONS if rules.State.WITHDRAWN
                                                     in rules.TRANSITIONS[s]}})


# ---------------------------------------------------------------- /admin/objections

register_admin_link(40, "/admin/objections", "异议处理", action="admin.objections.read")
VERBS = {"accepted": "受理", "rejected": "不予受理", "forwarded": "转数据提供部门核实", "answered": "提交答复",
         "corrected": "决定更正", "revoked": "决定撤销", "upheld": "决定维持"}


def _dept(db: Session, user: User) -> Department:
    dept = db.get(Department, user.dept_id) if user.dept_id else None
    if dept is None:
        raise Forbidden("您的账号未关联部门，不能办理异议；请联系信用办")
    return dept


@pages.get("/admin/objections", response_class=HTMLResponse)
def admin_queue(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.objections.read")],
                state: Annotated[str | None, Query()] = None) -> Response:
    dept = _dept(db, user)
    cases = [service.full_out(db, o) for o in service.queue(db, dept, state=state or None)]
    return render(request, "objections/admin_queue.html",
                  admin_context(request, user, dept=dept, cases=cases, state=state, labels=rules.STATE_LABELS,
                                overdue=sum(1 for c in cases if c["overdue"] and c["state"] == "forwarded")))


def _detail(request: Request, db: Session, user: User, objection_id: int, *, error: str | None = None,
            status: int = 200) -> Response:
    dept = _dept(db, user)
    obj = service.get(db, objection_id)
    roles = service.roles_of(dept, obj)
    if not roles:
        raise Forbidden("该异议不由本部门办理")
    nexts = [s.value for s in rules.TRANSITIONS[rules.State(obj.state)] if rules.ACTOR_OF[s] in roles]
    return render(request, "objections/admin_case.html",
                  admin_context(request, user, dept=dept, case=service.full_out(db, obj), nexts=nexts, error=error,
                                labels=rules.STATE_LABELS, suggestions=rules.SUGGESTIONS, verbs=VERBS),
                  status_code=status)


@pages.get("/admin/objections/{objection_id}", response_class=HTMLResponse)
def admin_case(request: Request, objection_id: BigIdPath, db: DbSession,
               user: Annotated[User, AllowUser("admin.objections.read")]) -> Response:
    return _detail(request, db, user, objection_id)


@pages.post("/admin/objections/{objection_id}/{action}", response_class=HTMLResponse)
async def admin_action(request: Request, objection_id: BigIdPath, action: str, db: DbSession,
                       user: Annotated[User, AllowUser("admin.objections.act")]) -> Response:
    form = await request.form()
    note = str(form.get("note", "")).strip()
    dept = _dept(db, user)
    actor = f"user:{user.username}"
    today = clock.today()
    try:
        with db.begin_nested():
            if action == "accepted":
                service.accept(db, objection_id, dept=dept, today=today, note=note, actor=actor)
            elif action == "rejected":
                service.reject(db, objection_id, dept=dept, today=today, reason=note, actor=actor)
            elif action == "forwarded":
                service.forward(db, objection_id, dept=dept, today=today, note=note, actor=actor)
            elif action == "answered":
                service.answer(db, objection_id, dept=dept, suggestion=str(form.get("suggestion", "")), text=note,
                               today=today, actor=actor)
            elif action in ("corrected", "revoked", "upheld"):
                fields = str(form.get("field", "")).strip()
                value = str(form.get("value", "")).strip()
                service.decide(db, objection_id, dept=dept, outcome=action, note=note,
                               corrections={fields: value} if fields else {}, today=today, actor=actor)
            else:
                raise NotFound("不支持的操作")
    except DomainError as exc:
        return _detail(request, db, user, objection_id, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/admin/objections/{objection_id}", status_code=303)


@pages.get("/admin/objections/{objection_id}/files/{attachment_id}")
def admin_file(objection_id: BigIdPath, attachment_id: BigIdPath, db: DbSession,
               user: Annotated[User, AllowUser("admin.objections.read")]) -> Response:
    dept = _dept(db, user)
    if not service.roles_of(dept, service.get(db, objection_id)):
        raise Forbidden("该异议不由本部门办理")
    row, data = attachments.read(db, attachment_id, service.CASE, objection_id)
    return Response(data, media_type=row.media_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}"})
