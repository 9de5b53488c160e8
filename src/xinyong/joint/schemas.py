"""What crosses the API for measures, tasks, feedback and webhooks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

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


def _feedback_variants(schema: JsonDict) -> None:
    # What each action needs (joint/rules.py: check_feedback refuses the rest with a Chinese reason).
    visible: JsonDict = {"type": "string", "minLength": 1, "pattern": VISIBLE_PATTERN}
    schema["oneOf"] = [
        {"title": "已实施", "required": ["action", "matter", "applied_at"],
         "properties": {"action": {"const": "applied"}, "matter": visible,
                        "applied_at": {"type": "string", "format": "date"}}},
        {"title": "不适用", "required": ["action", "note"],
         "properties": {"action": {"const": "not_applicable"}, "note": {**visible, "pattern": TEXT_PATTERN}}},
        {"title": "办理中", "required": ["action"], "properties": {"action": {"const": "pending"}}},
    ]


class FeedbackIn(BaseModel):
    """applied 已实施（须填 matter 与 applied_at）/ not_applicable 不适用（须在 note 说明理由）/ pending 办理中。"""

    model_config = ConfigDict(json_schema_extra=_feedback_variants)

    action: Literal["applied", "not_applicable", "pending"]
    matter: str | None = Field(default=None, max_length=500, description="实施措施的办理事项（已实施时必填）")
    applied_at: date | None = Field(default=None, description="实施日期（已实施时必填，不晚于今天）")
    note: str | None = Field(default=None, max_length=2000, description="说明（不适用时必填：理由）")


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
    url: str = Field(min_length=8, max_length=500, json_schema_extra={"pattern": HTTP_URL_PATTERN},
                     description="接收事件的 http:// 或 https:// 完整地址")
    secret: str = Field(min_length=16, max_length=200, description="用于 HMAC-SHA256 签名的密钥，加密保存，不再返回")


class WebhookOut(BaseModel):
    id: int
    url: str
    active: bool
    created_at: datetime
    events: list[str]
