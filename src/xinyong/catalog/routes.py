from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from xinyong.access.deps import declare
from xinyong.catalog.service import get_catalog

router = APIRouter(tags=["公共信用信息目录"])


@router.get("/catalog", summary="公共信用信息目录")
@declare("public.read")
def catalog() -> list[dict[str, Any]]:
    return [item.model_dump(mode="json") for item in get_catalog().list()]
