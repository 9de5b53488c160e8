"""What crosses the API for objections."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from xinyong.cases.schemas import MAX_ATTACHMENTS, AttachmentIn, TimelineOut, attachments_limit
from xinyong.core.api_types import (
    REASON_PATTERN,
    TEXT_PATTERN,
    VISIBLE_PATTERN,
    BigIdIn,
    UsccOrCitizenId,
)


def _one_target(schema: JsonDict) -> None:
    schema["oneOf"] = [
        {"required": ["record_id"], "properties": {"record_id": {"type": "integer"}, "entry_id": {"type": "null"}}},
        {"required": ["entry_id"], "properties": {"entry_id": {"type": "integer"}, "record_id": {"type": "null"}}},
    ]


class ObjectionIn(BaseModel):
    # The service checks the one target (record or list entry) with a Chinese reason; the schema states it.
    model_config = ConfigDict(json_schema_extra=_one_target)

    applicant_name: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": VISIBLE_PATTERN},
                                description="异议申请人（单位名称或姓名）")
    contact: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": VISIBLE_PATTERN}, description="联系方式（电话或邮箱）")
    subject_code: UsccOrCitizenId = Field(min_length=15, max_length=32, description="信息主体的统一社会信用代码或公民身份号码")
    record_id: BigIdIn | None = Field(default=None, description="有异议的信用记录编号（与 entry_id 二选一）")
    entry_id: BigIdIn | None = Field(default=None, description="有异议的名单信息编号（与 record_id 二选一）")
    reason: str = Field(min_length=5, max_length=4000, json_schema_extra={"pattern": TEXT_PATTERN}, description="异议事项：哪里有误、理由")
    requested: str | None = Field(default=None, max_length=2000, description="请求：更正为何内容或撤销")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS,
                                            json_schema_extra=attachments_limit)


class ObjectionCreated(BaseModel):
    case_no: str
    query_code: str
    state: str


class ObjectionPublicOut(BaseModel):
    case_no: str
    state: str
    state_label: str
    target: str
    submitted_on: date
    answer_due: date | None
    decided_on: date | None
    outcome_note: str | None
    timeline: list[TimelineOut]


class ObjectionOut(ObjectionPublicOut):
    id: int
    target_kind: str
    record_id: int | None
    entry_id: int | None
    new_record_id: int | None
    provider_dept: str
    applicant: str
    reason: str
    requested: str | None
    answer_text: str | None
    answer_suggests: str | None
    overdue: bool
    attachments: list[dict[str, object]]


class NoteIn(BaseModel):
    note: str = Field(default="", max_length=2000, description="办理意见；不予受理时必须写明理由")


class RejectIn(BaseModel):
    note: str = Field(max_length=2000, json_schema_extra={"minLength": 2, "pattern": REASON_PATTERN},
                      description="不予受理的理由（告知申请人），至少 2 个字")


class AnswerIn(BaseModel):
    suggestion: Literal["correct", "revoke", "uphold"] = Field(description="核实结论：correct 更正 / revoke 撤销 / uphold 维持")
    text: str = Field(min_length=2, max_length=4000, json_schema_extra={"pattern": REASON_PATTERN}, description="核实情况说明")


class DecisionIn(BaseModel):
    outcome: Literal["corrected", "revoked", "upheld"]
    note: str = Field(min_length=2, max_length=4000, json_schema_extra={"pattern": REASON_PATTERN}, description="决定理由（告知申请人）")
    corrections: dict[str, str] = Field(default_factory=dict,
                                        description="更正时：字段名 → 更正后的值（目录字段名，如 penalty_content）")
