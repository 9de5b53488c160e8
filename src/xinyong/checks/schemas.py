"""What crosses the check API. The service checks everything again with Chinese reasons; the constraints here
state its limits in the schema (/openapi.json), so that what the document allows is what the service accepts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from xinyong.checks.batch import MAX_BATCH
from xinyong.checks.service import MAX_MATTER, MAX_PURPOSE, MAX_QUERY
from xinyong.core.api_types import VISIBLE_PATTERN

MatterType = Literal["license", "procurement", "subsidy", "hiring", "honour", "other"]
MATTER_TYPE_HELP = ("核查事项类型：license 行政许可 / procurement 政府采购与招标投标 / subsidy 财政资金与补贴 / "
                    "hiring 招录聘用 / honour 评先评优 / other 其他")
# Blank, or a purpose with something visible in it (the service strips it).
PURPOSE_PATTERN = r"^(?:\s*|" + VISIBLE_PATTERN[1:-1] + r")$"


class CheckIn(BaseModel):
    subject: str = Field(min_length=1, max_length=MAX_QUERY, pattern=VISIBLE_PATTERN,
                         description="统一社会信用代码、主体全称或公民身份号码")
    matter: str = Field(min_length=1, max_length=MAX_MATTER, pattern=VISIBLE_PATTERN,
                        description="核查事项，如“某某项目招标”（用于“应查必查”统计）")
    matter_type: MatterType = Field(description=MATTER_TYPE_HELP)
    purpose: str = Field("", max_length=MAX_PURPOSE, pattern=PURPOSE_PATTERN,
                         description="核查目的；核查自然人（公民身份号码）时必填")


class BatchCheckIn(BaseModel):
    subjects: list[Annotated[str, Field(min_length=1, max_length=MAX_QUERY, pattern=VISIBLE_PATTERN)]] = Field(
        min_length=1, max_length=MAX_BATCH, description="1 至 100000 个统一社会信用代码、名称或公民身份号码")
    matter: str = Field(min_length=1, max_length=MAX_MATTER, pattern=VISIBLE_PATTERN, description="核查事项")
    matter_type: MatterType = Field(description=MATTER_TYPE_HELP)
    purpose: str = Field("", max_length=MAX_PURPOSE, pattern=PURPOSE_PATTERN,
                         description="核查目的；名单中有公民身份号码时必填")


class CheckOut(BaseModel):
    check_id: int
    subject: dict[str, Any] | None
    candidates: list[dict[str, Any]]
    ambiguous: bool
    result: str
    result_label: str
    reasons: list[str]
    records: list[dict[str, Any]]
    lists: list[dict[str, Any]]
    measures: list[dict[str, Any]]
    message: str | None = None


class BatchCheckOut(BaseModel):
    batch_check_id: int
    summary: dict[str, int]
    results: list[dict[str, Any]]
    download: str
