"""Batches over HTTP: upload a department file, read a batch, download its reject report."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from xinyong.access.deps import AllowDept, DbSession, IdPath
from xinyong.accounts.models import Department
from xinyong.core.errors import Refused
from xinyong.core.settings import get_settings
from xinyong.ingest import service
from xinyong.ingest.reports import XLSX_MEDIA_TYPE, reject_report
from xinyong.ingest.schemas import BatchSummary
from xinyong.ingest.upload import receive_upload

router = APIRouter(tags=["数据归集"])

_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file", "item"],
            "properties": {"file": {"type": "string", "format": "binary", "description": "CSV / XLSX / JSON 文件"},
                           "item": {"type": "string", "description": "目录信息项代码，如 admin_penalty"}},
        }}},
    }
}


@router.post("/batches", status_code=201, response_model=BatchSummary, summary="报送一个文件（归集）",
             openapi_extra=_UPLOAD_DOC)
async def create_batch(request: Request, db: DbSession,
                       dept: Annotated[Department, AllowDept("batch.create")]) -> BatchSummary:
    settings = get_settings()
    upload = await receive_upload(request, file_field="file", limit_mb=settings.max_upload_mb)
    try:
        item = upload.fields.get("item", "").strip()
        if not item:
            raise Refused("缺少信息项代码：请在表单字段「item」中填写，如 admin_penalty", rule="ingest.item_missing")
        assert upload.path is not None
        return await run_in_threadpool(service.ingest_file, db, upload.path, item, dept.code,
                                       file_name=upload.file_name)
    finally:
        upload.discard()


@router.get("/batches/{batch_id}", response_model=BatchSummary, summary="批次结果与退回明细")
def read_batch(batch_id: IdPath, db: DbSession, dept: Annotated[Department, AllowDept("batch.read")]) -> BatchSummary:
    return service.batch_summary(db, service.get_batch(db, batch_id, viewer=dept))


@router.get("/batches/{batch_id}/rejects.xlsx", summary="退回数据（XLSX，改正后可直接重新报送）",
            response_class=Response, responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}})
def read_rejects(batch_id: IdPath, db: DbSession, dept: Annotated[Department, AllowDept("batch.read")]) -> Response:
    batch = service.get_batch(db, batch_id, viewer=dept)
    body = reject_report(db, batch)
    name = f"退回数据_批次{batch.id}.xlsx"
    return Response(body, media_type=XLSX_MEDIA_TYPE, headers={
        "Content-Disposition": f"attachment; filename=\"rejects-{batch.id}.xlsx\"; filename*=UTF-8''{quote(name)}"})


