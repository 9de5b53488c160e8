"""Complaints and tip-offs: API, the public form and case page, /admin/complaints."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor
from xinyong.access.deps import Allow, AllowDept, AllowUser, BigIdPath, DbSession, declare
from xinyong.accounts.models import Department, User
from xinyong.cases import attachments
from xinyong.cases.config import get_config
from xinyong.complaints import rules, service
from xinyong.complaints.schemas import (
    AssignIn,
    ComplaintCreated,
    ComplaintDeptOut,
    ComplaintIn,
    ComplaintOut,
    StepIn,
)
from xinyong.core import clock
from xinyong.core.errors import DomainError, Forbidden, NotFound
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["投诉举报"])
ACTIONS = {"accept": service.accept, "return": service.return_to_office, "conclude": service.conclude,
           "reject": service.reject}
pages = APIRouter(include_in_schema=False)


@router.get("/complaint-categories", summary="投诉举报类别及默认承办部门代码")
@declare("public.read")
def list_categories() -> dict[str, str]:
    return service.categories()


@router.post("/complaints", status_code=201, response_model=ComplaintCreated,
             summary="投诉举报（可匿名；身份加密保存，未经同意不向承办部门和被举报人显示）")
def submit(body: ComplaintIn, db: DbSession, actor: Annotated[Actor, Allow("complaint.file")],
           idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> Response:
    uploads = attachments.decode([(a.filename, a.content_base64) for a in body.attachments])
    done = service.submit(db, body.model_dump(exclude={"attachments"}), uploads, idempotency_key=idempotency_key,
                          today=clock.today(), account_id=actor.account_id)
    out = {"case_no": done.complaint.case_no, "query_code": done.query_code, "state": done.complaint.state}
    db.commit()
    return JSONResponse(out, status_code=201 if done.created else 200,
                        headers={} if done.created else {"Idempotent-Replayed": "true"})


@router.get("/complaints", response_model=list[ComplaintDeptOut], summary="本部门承办的投诉举报（信用办：全部）")
def list_cases(db: DbSession, dept: Annotated[Department, AllowDept("complaint.list")], state: Annotated[str | None, Query()] = None) -> Any:
    return [service.dept_out(db, c, viewer=dept, actor=f"dept:{dept.code}") for c in service.queue(db, dept, state=state)]


@router.get("/complaints/{case_no}", response_model=ComplaintOut, summary="举报人凭查询码查询办理进度")
def get_case(case_no: str, db: DbSession, actor: Annotated[Actor, Allow("complaint.lookup")], code: Annotated[str | None, Query()] = None,
             x_query_code: Annotated[str | None, Header(alias="X-Query-Code")] = None) -> Any:
    return service.public_out(db, service.by_case(db, case_no, code or x_query_code))


def _cid(db: Session, case_no: str) -> int:
    c = service.find_case(db, case_no)
    if c is None:
        raise NotFound(f"投诉举报案号 {case_no} 不存在")
    return c.id


def _dept_view(db: Session, cid: int, dept: Department) -> dict[str, Any]:
    return service.dept_out(db, service.get(db, cid), viewer=dept, actor=f"dept:{dept.code}")


@router.post("/complaints/{case_no}/assign", response_model=ComplaintDeptOut, summary="信用办分办")
def assign(case_no: str, body: AssignIn, db: DbSession, dept: Annotated[Department, AllowDept("complaint.handle")]) -> Any:
    c = service.assign(db, _cid(db, case_no), dept=dept, to_dept=body.dept, note=body.note, today=clock.today())
    return _dept_view(db, c.id, dept)


@router.post("/complaints/{case_no}/{action}", response_model=ComplaintDeptOut,
             summary="承办部门受理（accept）、退回（return）、办结（conclude）；信用办不予受理（reject）")
def act(case_no: str, action: Annotated[str, Path(json_schema_extra={"enum": list(ACTIONS)})], body: StepIn,
        db: DbSession, dept: Annotated[Department, AllowDept("complaint.handle")]) -> Any:
    fn = ACTIONS.get(action)
    if fn is None:
        raise NotFound("不支持的操作：可用 accept、return、conclude、reject、assign")
    c = fn(db, _cid(db, case_no), dept=dept, today=clock.today(), note=body.note, actor=None)
    return _dept_view(db, c.id, dept)


# ---------------------------------------------------------------- portal

@pages.get("/complaints/new", response_class=HTMLResponse)
def new_form(request: Request, actor: Annotated[Actor, Allow("complaint.file")]) -> Response:
    return render(request, "complaints/new.html", {"form": {}, "categories": service.categories(),
                                                   "token": secrets.token_urlsafe(16),
                                                   "policy": get_config().attachments.model_dump()})


@pages.post("/complaints/new", response_class=HTMLResponse)
async def new_submit(request: Request, db: DbSession, actor: Annotated[Actor, Allow("complaint.file")],
                     category: Annotated[str, Form()],
                     target_name: Annotated[str, Form()], content: Annotated[str, Form()],
                     token: Annotated[str, Form()], target_code: Annotated[str, Form()] = "",
                     reporter_name: Annotated[str, Form()] = "", reporter_contact: Annotated[str, Form()] = "",
                     consent: Annotated[str, Form()] = "",
                     files: Annotated[list[UploadFile] | None, File()] = None) -> Response:
    form = {"category": category, "target_name": target_name, "content": content, "target_code": target_code,
            "reporter_name": reporter_name, "reporter_contact": reporter_contact, "consent": consent}
    uploads = [attachments.Upload(f.filename or "附件", await f.read()) for f in files or [] if f.filename]
    try:
        if len(content.strip()) < 10:
            raise DomainError("请具体写明投诉举报内容（至少 10 个字）：时间、地点、事实")
        with db.begin_nested():
            done = service.submit(db, {"category": category, "target_name": target_name, "content": content,
                                       "target_code": target_code or None, "reporter_name": reporter_name or None,
                                       "reporter_contact": reporter_contact or None,
                                       "consent_to_disclose": consent == "yes"}, uploads,
                                  idempotency_key="form:" + token, today=clock.today(),
                                  account_id=actor.account_id)
    except DomainError as exc:
        return render(request, "complaints/new.html", {"form": form, "categories": service.categories(),
                                                       "token": token, "error": exc.detail,
                                                       "policy": get_config().attachments.model_dump()},
                      status_code=exc.status)
    return render(request, "complaints/receipt.html", {"case_no": done.complaint.case_no, "code": done.query_code,
                                                       "repeated": not done.created}, status_code=201)


@pages.get("/complaints/{case_no}", response_class=HTMLResponse)
def case_page(request: Request, case_no: str, actor: Annotated[Actor, Allow("complaint.lookup")]) -> Response:
    return render(request, "complaints/case.html", {"case_no": case_no, "case": None})


@pages.post("/complaints/{case_no}", response_class=HTMLResponse)
def case_lookup(request: Request, case_no: str, db: DbSession, actor: Annotated[Actor, Allow("complaint.lookup")],
                code: Annotated[str, Form()]) -> Response:
    try:
        c = service.by_case(db, case_no, code)
    except DomainError as exc:
        return render(request, "complaints/case.html", {"case_no": case_no, "case": None, "error": exc.detail},
                      status_code=exc.status)
    return render(request, "complaints/case.html", {"case_no": case_no, "case": service.public_out(db, c)})


# ---------------------------------------------------------------- /admin/complaints

register_admin_link(42, "/admin/complaints", "投诉举报", action="admin.complaints.read")


def _dept(db: Session, user: User) -> Department:
    dept = db.get(Department, user.dept_id) if user.dept_id else None
    if dept is None:
        raise Forbidden("您的账号未关联部门；请联系信用办")
    return dept


def _page(request: Request, db: Session, user: User, *, error: str | None = None, status: int = 200) -> Response:
    from xinyong.accounts.service import list_departments

    dept = _dept(db, user)
    rows = [service.dept_out(db, c, viewer=dept, actor=f"user:{user.username}") for c in service.queue(db, dept)]
    return render(request, "complaints/admin.html", admin_context(
        request, user, dept=dept, rows=rows, error=error, depts=list_departments(db), labels=rules.STATE_LABELS),
        status_code=status)


@pages.get("/admin/complaints", response_class=HTMLResponse)
def admin_list(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.complaints.read")]) -> Response:
    return _page(request, db, user)


@pages.post("/admin/complaints/{complaint_id}/{action}", response_class=HTMLResponse)
def admin_action(request: Request, complaint_id: BigIdPath, action: str, db: DbSession,
                 user: Annotated[User, AllowUser("admin.complaints.act")],
                 note: Annotated[str, Form()] = "", to_dept: Annotated[str, Form()] = "") -> Response:
    dept = _dept(db, user)
    actor = f"user:{user.username}"
    try:
        with db.begin_nested():
            if action == "assign":
                service.assign(db, complaint_id, dept=dept, to_dept=to_dept, note=note, today=clock.today(),
                               actor=actor)
            else:
                fn = {"accept": service.accept, "return": service.return_to_office, "conclude": service.conclude,
                      "reject": service.reject}.get(action)
                if fn is None:
                    raise NotFound("不支持的操作")
                fn(db, complaint_id, dept=dept, today=clock.today(), note=note, actor=actor)
    except DomainError as exc:
        return _page(request, db, user, error=exc.detail, status=exc.status)
    return RedirectResponse("/admin/complaints", status_code=303)
