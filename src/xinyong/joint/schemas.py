"""What crosses the API for measures, tasks, feedback and webhooks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from xinyong.lists.schemas import LegalBasisOut


class MeasureOut(BaseModel):
    code: str
    name: str
    type: str = Field(description="1 / 2 / 3（失信惩戒措施基础清单三类）或 incentive（守信激励）")
    type_label: str
    legal_basis: list[LegalBasisOut]
    implementers: list[str] = Field(description="实施部门代码")
    list_types: list[str] = Field(description="触发该措施的名单类型")


class FeedbackIn(BaseModel):
    action: Literal["applied", "not_applicable", "pending"]
    matter: str | None = Field(default=None, max_length=500, description="实施措施的办理事项")
    applied_at: date | None = Field(default=None, description="实施日期")
    note: str | None = Field(default=None, max_length=2000)


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
    url: str = Field(min_length=8, max_length=500)
    secret: str = Field(min_length=16, max_length=200, description="用于 HMAC-SHA256 签名的密钥，加密保存，不再返回")


class WebhookOut(BaseModel):
    id: int
    url: str
    active: bool
    created_at: datetime
    events: list[str]
