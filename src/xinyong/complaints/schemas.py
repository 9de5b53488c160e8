"""What crosses the API for complaints and tip-offs."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from xinyong.cases.config import get_config
from xinyong.cases.schemas import MAX_ATTACHMENTS, AttachmentIn, TimelineOut, attachments_limit
from xinyong.core.api_types import REASON_PATTERN, TEXT_PATTERN, VISIBLE_PATTERN, Uscc, enum_from


class ComplaintIn(BaseModel):
    category: str = Field(min_length=1, max_length=32, json_schema_extra=enum_from(
        lambda: get_config().complaints.categories), description="类别，见 GET /api/v1/complaint-categories")
    target_name: str = Field(min_length=1, max_length=300, json_schema_extra={"pattern": VISIBLE_PATTERN}, description="被投诉举报的单位或个人")
    target_code: Uscc | None = Field(default=None, max_length=18, description="被投诉举报单位的统一社会信用代码（如知道）")
    content: str = Field(min_length=10, max_length=5000, json_schema_extra={"pattern": TEXT_PATTERN}, description="投诉举报内容：时间、地点、事实")
    reporter_name: str | None = Field(default=None, max_length=100, description="举报人姓名（可匿名）")
    reporter_contact: str | None = Field(default=None, max_length=100, description="联系方式（可匿名）")
    consent_to_disclose: bool = Field(default=False, description="是否同意向承办部门显示举报人身份")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS,
                                            json_schema_extra=attachments_limit)


class ComplaintCreated(BaseModel):
    case_no: str
    query_code: str
    state: str


class ComplaintOut(BaseModel):
    case_no: str
    state: str
    state_label: str
    category: str
    target_name: str
    submitted_on: date
    handle_due: date | None
    concluded_on: date | None
    result: str | None
    timeline: list[TimelineOut]


class ComplaintDeptOut(ComplaintOut):
    id: int
    content: str
    target_code: str | None
    dept: str | None
    reporter: str
    reporter_contact: str
    assign_due: date
    overdue: bool
    attachments: list[dict[str, object]]


class AssignIn(BaseModel):
    dept: str = Field(min_length=1, max_length=64, json_schema_extra={"pattern": VISIBLE_PATTERN}, description="承办部门代码")
    note: str = Field(default="", max_length=2000)


class StepIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["note"]})

    # Stated as required: return, conclude and reject refuse a missing reason; accept takes one too.
    note: str = Field(default="", max_length=4000, json_schema_extra={"minLength": 2, "pattern": REASON_PATTERN},
                      description="办理说明；退回、办结、不予受理时必填（至少 2 个字）")
