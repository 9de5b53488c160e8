from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from xinyong.access.deps import DbSession, declare
from xinyong.records import service
from xinyong.subjects import service as subjects

router = APIRouter(tags=["信用主体"])


@router.get("/subjects/{uscc}", summary="主体及其公示期内的公开信用记录")
@declare("public.read")
def subject_detail(uscc: str, db: DbSession) -> dict[str, Any]:
    subject = subjects.get_by_uscc(db, uscc)
    records = service.visible_records(db, subject.id, "public")
    return {"subject": subjects.subject_out(db, subject), "records": [service.record_out(r) for r in records]}
