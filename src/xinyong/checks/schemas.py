"""What crosses the check API. The service checks everything again with Chinese reasons; the constraints here
state its limits in the schema (/openapi.json), so that what the document allows is what the service accepts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from xinyong.checks.batch import MAX_BATCH
from xinyong.checks.rules import MATTER_TYPES
from xinyong.checks.service import MAX_MATTER, MAX_PURPOSE, MAX_QUERY
from xinyong.core.api_types import VISIBLE_PATTERN

MATTER_TYPE_HELP = ("核查事项类型：license 行政许可 / procurement 政府采购与招标投标 / subsidy 财政资金与补贴 / "
                    "hiring 招录聘用 / honour 评先评优 / other 其他")
# Blank, or a purpose with something visible in it (the service strips it).
PURPOSE_PATTERN = r"^(?:\s*|" + VISIBLE_PATTERN[1:-1] + r")$"
# Stated, not enforced by pydantic: the service refuses with reasons that list the options and the limits.
_SUBJECT: JsonDict = {"minLength": 1, "maxLength": MAX_QUERY, "pattern": VISIBLE_PATTERN}
_MATTER: JsonDict = {"minLength": 1, "maxLength": MAX_MATTER, "pattern": VISIBLE_PATTERN}
_MATTER_TYPE: JsonDict = {"enum": list(MATTER_TYPES)}
_SUBJECTS: JsonDict = {"minItems": 1, "maxItems": MAX_BATCH}
_PURPOSE: JsonDict = {"maxLength": MAX_PURPOSE, "pattern": PURPOSE_PATTERN}


class CheckIn(BaseModel):
    subject: str = Field(json_schema_extra=_SUBJECT, description="统一社会信用代码、主体全称或公民身份号码")
    matter: str = Field(json_schema_extra=_MATTER, description="核查事项，如“某某项目招标”（用于“应查必查”统计）")
    matter_type: str = Field(json_schema_extra=_MATTER_TYPE, description=MATTER_TYPE_HELP)
    purpose: str = Field("", json_schema_extra=_PURPOSE, description="核查目的；核查自然人（公民身份号码）时必填")


class BatchCheckIn(BaseModel):
    subjects: list[str] = Field(json_schema_extra=_SUBJECTS,
                                description=f"1 至 {MAX_BATCH} 个统一社会信用代码、名称或公民身份号码")
    matter: str = Field(json_schema_extra=_MATTER, description="核查事项")
    matter_type: str = Field(json_schema_extra=_MATTER_TYPE, description=MATTER_TYPE_HELP)
    purpose: str = Field("", json_schema_extra=_PURPOSE, description="核查目的；名单中有公民身份号码时必填")


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
    evaluation: dict[str, Any] | None = None  # the current grade and its measures (公共信用综合评价)


class BatchCheckOut(BaseModel):
    batch_check_id: int
    summary: dict[str, int]
    results: list[dict[str, Any]]
    download: str
