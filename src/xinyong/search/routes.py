"""GET /api/v1/search: organisations by name or unified code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from xinyong.access.deps import DbSession, declare
from xinyong.core.errors import Refused
from xinyong.search import service
from xinyong.search.query import QUERY_PATTERN

router = APIRouter(tags=["信用查询"])


class SearchItemOut(BaseModel):
    uscc: str | None
    name: str
    kind: str
    region: str | None


class SearchOut(BaseModel):
    total: int = Field(description="匹配的主体数；capped 为 true 时表示“至少这么多”")
    items: list[SearchItemOut]
    capped: bool = Field(False, description="匹配超过 1000 条，只在前 1000 条中排序分页")
    notices: list[str] = Field(default_factory=list, description="对查询内容的提示，如“查询内容过长，已截取”")
    suggestion: str | None = Field(None, description="只有近似匹配时，建议的查询内容（您是不是要找）")


@router.get("/search", response_model=SearchOut, summary="按名称或统一社会信用代码查询法人和非法人组织")
@declare("public.read")
def search(db: DbSession,
           q: Annotated[str, Query(json_schema_extra={"pattern": QUERY_PATTERN},
                                   description="名称、名称中的几个字或统一社会信用代码（可只输入一部分），"
                                               "至少 2 个字（标点、空白不计）；超过 100 个字时只按前 100 个字查询")],
           limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT, description="每页条数，1–100")] = 10,
           offset: Annotated[int, Query(ge=0, le=100_000, description="跳过的条数")] = 0) -> SearchOut:
    result = service.search_subjects(db, q, limit=limit, offset=offset)
    if result.problem:
        raise Refused(result.problem)
    return SearchOut(total=result.total, items=[SearchItemOut(**i.out()) for i in result.items],
                     capped=result.capped, notices=result.notices, suggestion=result.suggestion)
