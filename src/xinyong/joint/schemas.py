"""What crosses the API for measures, tasks, feedback and webhooks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from xinyong.core.api_types import HTTP_URL_PATTERN, TEXT_PATTERN, VISIBLE_PATTERN
from xinyong.lists.schemas import LegalBasisOut


class MeasureOut(BaseModel):
    code: str
    name: str
    type: str = Field(description="1 / 2 / 3（失信惩戒措施基础清单三类）或 incentive（守信激励）")
    type_label: str
    legal_basis: list[LegalBasisOut]
    implementers: list[str] = Field(description="实施部门代码")
    list_types: list[str] = Field(description="触发该措施的名单类型")


class AppliedFeedbackIn(BaseModel):
    """已实施：在哪个办理事项中、哪一天实施了措施。"""

    action: Literal["applied"]
    matter: str = Field(min_length=1, max_length=500, pattern=VISIBLE_PATTERN, description="实施措施的办理事项")
    applied_at: date = Field(description="实施日期（不晚于今天）")
    note: str | None = Field(default=None, max_length=2000)


class NotApplicableFeedbackIn(BaseModel):
    """不适用：须说明理由（如该主体未在本部门办理相关事项）。"""

    action: Literal["not_applicable"]
    matter: str | None = Field(default=None, max_length=500, description="相关办理事项（如有）")
    applied_at: date | None = Field(default=None, description="相关日期（如有，不晚于今天）")
    note: str = Field(min_length=1, max_length=2000, pattern=TEXT_PATTERN, description="不适用的理由")


class PendingFeedbackIn(BaseModel):
    """办理中：相关事项尚在办理。"""

    action: Literal["pending"]
    matter: str | None = Field(default=None, max_length=500, description="正在办理的事项")
    applied_at: date | None = Field(default=None, description="相关日期（如有，不晚于今天）")
    note: str | None = Field(default=None, max_length=2000)


FeedbackIn = Annotated[AppliedFeedbackIn | NotApplicableFeedbackIn | PendingFeedbackIn, Field(discriminator="action")]


class TaskOut(BaseModel):
    id: int
    entry_id: int
    state: str
    state_label: str
    measure_code: str
    measure_name: str
    measure_type: str
    legal_basis: str | None
    list_type: str | None
    list_name: str | None
    subject_name: str | None
    uscc: str | None
    decision_no: str | None
    term_end: date | None
    dispatched_on: date
    due_date: date
    created_via: str
    action: str | None
    matter: str | None
    applied_at: date | None
    note: str | None
    feedback_at: datetime | None
    feedback_late: bool
    lifted_on: date | None


class WebhookIn(BaseModel):
    url: str = Field(min_length=8, max_length=500, pattern=HTTP_URL_PATTERN,
                     description="接收事件的 http:// 或 https:// 完整地址")
    secret: str = Field(min_length=16, max_length=200, description="用于 HMAC-SHA256 签名的密钥，加密保存，不再返回")


class WebhookOut(BaseModel):
    id: int
    url: str
    active: bool
    created_at: datetime
    events: list[str]
