"""Report pages (/reports/{uscc}, .pdf), verification (/verify…), and the API (/api/v1/reports…).

A public PDF report is issued only by POST (a form carrying its CSRF token), at most a few per address in a
window; a GET of the PDF address writes nothing and leads to the report page with the download button."""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from xinyong.access.deps import AllowDept, DbSession, declare
from xinyong.accounts.models import Department
from xinyong.core import audit
from xinyong.core.api_types import VISIBLE_PATTERN, CitizenId
from xinyong.core.errors import NotFound, Refused, TooLarge
from xinyong.core.identifiers import check_citizen_id
from xinyong.core.settings import get_settings
from xinyong.core.throttle import Throttle
from xinyong.reports import service
from xinyong.subjects import service as subjects
from xinyong.ui.templating import render

router = APIRouter(tags=["信用报告"])
pages = APIRouter(include_in_schema=False)
log = logging.getLogger("xinyong.reports")
# Anonymous downloads per client address: each one renders a PDF and writes a numbered report row.
DOWNLOADS = Throttle("report-download", "10 per 10 minutes",
                     "下载信用报告过于频繁：请在 {wait}后再试；报告有效期 7 日，已下载的报告可继续使用")


def _warm_font() -> None:
    # Loading the 17 MB font takes ~0.7 s: do it in the background at start-up, not in the first request.
    from xinyong.reports import pdf

    try:
        pdf.register_font()
    except pdf.FontMissing as exc:
        log.warning("%s", exc.detail)


threading.Thread(target=_warm_font, name="report-font", daemon=True).start()


def _pdf(body: bytes, report_no: str) -> Response:
    return Response(body, media_type="application/pdf", headers={
        "X-Report-No": report_no,
        "Content-Disposition": f"attachment; filename=\"{report_no}.pdf\"; filename*=UTF-8''{quote(report_no)}.pdf",
        "Cache-Control": "no-store",
    })


@pages.get("/reports/{uscc}.pdf")
@declare("report.read")
def report_pdf_link(uscc: str, db: DbSession) -> Response:
    subject = subjects.get_by_uscc(db, uscc)  # an unknown code is still a 404
    return RedirectResponse(f"/reports/{quote(subject.uscc or uscc)}", status_code=303)


@pages.post("/reports/{uscc}.pdf")
@declare("report.read")
def report_pdf(request: Request, uscc: str, db: DbSession) -> Response:
    subject = subjects.get_by_uscc(db, uscc)
    DOWNLOADS.hit(request.client.host if request.client else "unknown")
    rep, body = service.issue(db, subject, requested_by="public")
    return _pdf(body, rep.report_no or "")


@pages.get("/reports/{uscc}", response_class=HTMLResponse)
@declare("report.read")
def report_page(request: Request, uscc: str, db: DbSession) -> Response:
    subject = subjects.get_by_uscc(db, uscc)
    data = service.report_data(db, subject)
    return render(request, "reports/report.html", {"r": data, "uscc": subject.uscc})


class PersonReportIn(BaseModel):
    citizen_id: CitizenId = Field(description="公民身份号码（仅用于查找，不保存明文）")
    purpose: str = Field(min_length=1, max_length=500, json_schema_extra={"pattern": VISIBLE_PATTERN},
                         description="查询目的，如“公务员招录政审”（记入审计日志）")


@router.post("/reports/person", summary="自然人公共信用信息报告（部门经授权查询，PDF，身份信息脱敏）",
             response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def person_report(body: PersonReportIn, db: DbSession,
                  dept: Annotated[Department, AllowDept("report.person")]) -> Response:
    purpose = body.purpose.strip()
    if not purpose:
        raise Refused("请填写查询目的（purpose）：查询自然人信用报告须说明用途，并记入审计日志")
    if len(purpose) > 500:
        raise Refused("查询目的过长，请控制在500字以内")
    check = check_citizen_id(body.citizen_id[:64])
    if not check.ok:
        raise Refused(f"公民身份号码无效：{check.error}")
    person = subjects.find_by_citizen_id(db, check.value)
    if person is None:
        raise NotFound("本平台没有该公民身份号码对应的信用主体记录，请核对号码")
    rep, pdf = service.issue(db, person, requested_by=f"dept:{dept.code}", audience="department", purpose=purpose)
    audit.record(db, actor=f"dept:{dept.code}", action="report.person", entity="subject", entity_id=person.id,
                 after={"id_masked": person.id_masked, "report_no": rep.report_no, "purpose": purpose})
    return _pdf(pdf, rep.report_no or "")


@router.get("/reports/{report_no}", summary="报告验真：凭报告编号和报告上印制的验证码，核对出具对象、时间与文件哈希",
            description="验证码错误与编号不存在的回答相同（404），不透露报告是否存在或为谁出具；回答中不含验证码。")
@declare("report.verify")
def report_info(report_no: str, db: DbSession,
                code: Annotated[str, Query(max_length=64, description="报告上印制的验证码，如 1A2B-3C4D-5E6F-7A8B")]
                ) -> dict[str, Any]:
    return service.verify(db, report_no, code)


@pages.get("/verify", response_class=HTMLResponse)
@declare("report.verify")
def verify_form(request: Request, no: str = "") -> Response:
    if no.strip():
        return RedirectResponse(f"/verify/{quote(no.strip()[:40])}", status_code=303)
    return render(request, "reports/verify.html", {"result": None})


@pages.get("/verify/{report_no}", response_class=HTMLResponse)
@declare("report.verify")
def verify_page(request: Request, report_no: str) -> Response:
    # The number alone (from the QR code) shows nothing: the form asks for the code printed beside it.
    return render(request, "reports/verify.html", {"result": None, "no": report_no.strip()[:40]})


@pages.post("/verify", response_class=HTMLResponse)
@declare("report.verify")
async def verify_upload(request: Request, report_no: Annotated[str, Form()] = "", code: Annotated[str, Form()] = "",
                        file: Annotated[UploadFile | None, File()] = None) -> Response:
    from fastapi.concurrency import run_in_threadpool

    from xinyong.core.db import session_scope

    data = None
    if file is not None and file.filename:
        limit = get_settings().max_upload_mb * 1024 * 1024
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise TooLarge(f"文件超过 {get_settings().max_upload_mb} MB")
    if not report_no.strip() or not code.strip():
        return render(request, "reports/verify.html", {"result": None, "no": report_no.strip()[:40],
                                                       "error": "请输入报告编号和报告上印制的验证码"}, status_code=422)

    def run() -> dict[str, Any]:
        with session_scope() as db:
            return service.verify(db, report_no, code, data)

    try:
        result = await run_in_threadpool(run)
    except NotFound as exc:
        return render(request, "reports/verify.html", {"result": None, "error": exc.detail, "no": report_no[:40]},
                      status_code=404)
    return render(request, "reports/verify.html", {"result": result, "no": result["report_no"]})
