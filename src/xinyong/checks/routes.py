"""Check API (/api/v1/checks…) and the check page in /admin. Thin: parse, call the service, answer.

POST /checks is the hot path: an async endpoint with no sync dependencies, the key looked up in the
in-process cache, a check by unified code answered on the event loop (checks/fast.py), anything else in a
single hop to the thread pool. Answers are serialised with orjson.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from xinyong.access.deps import AllowUser, BigIdPath, DbSession, actor_of, declare, user_of
from xinyong.access.policy import require
from xinyong.accounts.models import Department, User
from xinyong.checks import auth, batch, fast, rules, service, stats
from xinyong.checks.schemas import BatchCheckIn, BatchCheckOut, CheckIn, CheckOut
from xinyong.core.db import new_session
from xinyong.core.errors import Forbidden, Refused, TooLarge
from xinyong.core.settings import get_settings
from xinyong.ingest.upload import receive_upload, spool_upload
from xinyong.ui.sections import register_admin_link
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["信用核查"])
pages = APIRouter(prefix="/admin/checks", include_in_schema=False)
register_admin_link(30, "/admin/checks", "信用核查", action="admin.checks")


async def _dept(request: Request, action: str) -> Department:
    dept = auth.cached(request, action)  # no I/O: stay on the event loop
    return dept if dept is not None else await run_in_threadpool(auth.require, request, action)


def KeyDept(action: str) -> Any:
    """The calling department through the in-process key cache, allowed `action` by the policy."""
    async def dept(request: Request) -> Department:
        return await _dept(request, action)

    return Depends(declare(action)(dept))


ModelT = TypeVar("ModelT", bound=BaseModel)


_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _json(data: Any, status: int = 200) -> Response:
    # dates and times through str(), as json.dumps(default=str) did: "2026-03-05 08:00:00+00:00"
    return Response(orjson.dumps(data, default=str, option=_JSON_OPTIONS), status_code=status,
                    media_type="application/json")


def _run_check(dept: Department, body: CheckIn, user_id: int | None = None) -> dict[str, Any]:
    session = new_session()
    try:
        out = service.check_one(session, dept=dept, subject=body.subject, matter=body.matter,
                                matter_type=body.matter_type, purpose=body.purpose, user_id=user_id)
        session.commit()
        return out
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _parse(model: type[ModelT], raw: bytes) -> ModelT:
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


# The body is parsed with pydantic-core directly (cheaper than FastAPI's generic body handling).
@router.post("/checks", summary="信用核查（单个主体）", responses={200: {"model": CheckOut}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": CheckIn.model_json_schema()}}}})
@declare("check.run")
async def check(request: Request) -> Response:
    dept = await _dept(request, "check.run")  # not a dependency: spare the hot path FastAPI's dependency solving
    body = _parse(CheckIn, await request.body())
    data = await fast.check_json_async(dept, body.subject, body.matter, body.matter_type, body.purpose)
    if data is None:
        return _json(await run_in_threadpool(_run_check, dept, body))
    return Response(data, media_type="application/json")


def _run_batch(dept: Department, queries: list[str], matter: str, matter_type: str, purpose: str,
               file_name: str | None = None, user_id: int | None = None) -> dict[str, Any]:
    session = new_session()
    try:
        out = batch.check_batch(session, dept=dept, queries=queries, matter=matter, matter_type=matter_type,
                                purpose=purpose, file_name=file_name, user_id=user_id)
        session.commit()
        return out
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@router.post("/checks/batch", summary="批量信用核查（JSON 或上传 CSV/XLSX）", responses={200: {"model": BatchCheckOut}},
             openapi_extra={"requestBody": {"content": {
                 "application/json": {"schema": BatchCheckIn.model_json_schema()},
                 "multipart/form-data": {"schema": {"type": "object", "required": ["file", "matter", "matter_type"],
                                                    "properties": {"file": {"type": "string", "format": "binary",
                                                                            "description": "CSV 或 XLSX 文件"},
                                                                   **{k: v for k, v in BatchCheckIn.model_json_schema()
                                                                      ["properties"].items() if k != "subjects"}}}}}}})
async def check_batch(request: Request, dept: Annotated[Department, KeyDept("check.run")]) -> Response:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        upload = await receive_upload(request, file_field="file", limit_mb=get_settings().max_upload_mb)
        try:
            assert upload.path is not None
            queries = await run_in_threadpool(batch.read_upload, upload.path, upload.file_name)
        finally:
            upload.discard()
        fields = {k: upload.fields.get(k, "") for k in ("matter", "matter_type", "purpose")}
        out = await run_in_threadpool(_run_batch, dept, queries, fields["matter"], fields["matter_type"],
                                      fields["purpose"], upload.file_name or "upload")
        return _json(out)
    body = _parse(BatchCheckIn, await request.body())
    out = await run_in_threadpool(_run_batch, dept, body.subjects, body.matter, body.matter_type, body.purpose)
    return _json(out)


@router.get("/checks/batch/{batch_id}.xlsx", summary="批量核查结果（XLSX）", response_class=Response,
            responses={200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}})
def batch_download(batch_id: BigIdPath, db: DbSession, dept: Annotated[Department, KeyDept("check.read")]) -> Response:
    return _xlsx(batch.batch_xlsx(db, batch_id, dept), batch_id)


def _xlsx(data: bytes, batch_id: int) -> Response:
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="batch-check-{batch_id}.xlsx"'})


@router.get("/checks/stats", summary="核查统计（应查必查）：按部门与事项类型")
def check_stats(db: DbSession, dept: Annotated[Department, KeyDept("check.stats")],
                date_from: Annotated[date | None, Query(alias="from", description="起始日期 YYYY-MM-DD")] = None,
                date_to: Annotated[date | None, Query(alias="to", description="截止日期 YYYY-MM-DD（含）")] = None
                ) -> dict[str, Any]:
    return stats.check_stats(db, dept, date_from, date_to)


# ---- /admin/checks -----------------------------------------------------------------------------------


def _user_dept(db: Any, user: User) -> Department:
    dept: Department | None = db.get(Department, user.dept_id) if user.dept_id else None
    if dept is None:
        raise Forbidden("您的账号没有关联部门，不能发起信用核查；请联系信用办为账号设置所属部门")
    return dept


def _page(request: Request, user: User, dept: Department, **extra: Any) -> Response:
    return render(request, "checks/page.html",
                  admin_context(request, user, dept=dept, matter_types=rules.MATTER_TYPES, labels=rules.RESULT_LABELS,
                                form=extra.pop("form", {}), **extra))


@pages.get("", response_class=HTMLResponse)
def check_page(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.checks")]) -> Response:
    return _page(request, user, _user_dept(db, user))


@pages.post("", response_class=HTMLResponse)
def check_form(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.checks")], subject: Annotated[str, Form()] = "",
               matter: Annotated[str, Form()] = "", matter_type: Annotated[str, Form()] = "other",
               purpose: Annotated[str, Form()] = "") -> Response:
    dept = _user_dept(db, user)
    form = {"subject": subject, "matter": matter, "matter_type": matter_type, "purpose": purpose}
    try:
        out = _run_check(dept, CheckIn(subject=subject, matter=matter, matter_type=matter_type, purpose=purpose), user.id)
    except Refused as exc:
        return _page(request, user, dept, form=form, error=exc.detail)
    return _page(request, user, dept, form=form, check=out)


@declare("admin.checks")
def _batch_user(request: Request) -> tuple[User, Department]:
    # its own short session (FastAPI runs this in a thread): the request holds none while the file is checked
    session = new_session()
    try:
        user = user_of(session, require(actor_of(session, request), "admin.checks"))
        return user, _user_dept(session, user)
    finally:
        session.close()


@pages.post("/batch", response_class=HTMLResponse)
async def batch_form(request: Request, who: Annotated[tuple[User, Department], Depends(_batch_user)],
                     file: Annotated[UploadFile, File()], matter: Annotated[str, Form()] = "",
                     matter_type: Annotated[str, Form()] = "other", purpose: Annotated[str, Form()] = "") -> Response:
    user, dept = who
    form = {"matter": matter, "matter_type": matter_type, "purpose": purpose}
    try:
        upload = await spool_upload(file, limit_mb=get_settings().max_upload_mb)
        try:
            assert upload.path is not None
            queries = await run_in_threadpool(batch.read_upload, upload.path, upload.file_name)
        finally:
            upload.discard()
        name = upload.file_name or "upload"
        out = await run_in_threadpool(_run_batch, dept, queries, matter, matter_type, purpose, name, user.id)
    except (Refused, TooLarge) as exc:
        return _page(request, user, dept, form=form, batch_error=exc.detail)
    out["results"] = out["results"][:200]  # the page shows the first rows; the XLSX has them all
    return _page(request, user, dept, form=form, batch=out)


@pages.get("/batch/{batch_id}.xlsx")
def batch_page_download(batch_id: BigIdPath, db: DbSession, user: Annotated[User, AllowUser("admin.checks")]) -> Response:
    return _xlsx(batch.batch_xlsx(db, batch_id, _user_dept(db, user)), batch_id)
