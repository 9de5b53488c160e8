"""What crosses the API for credit repair."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from xinyong.cases.schemas import MAX_ATTACHMENTS, AttachmentIn, TimelineOut, attachments_limit
from xinyong.core.api_types import (
    COMMITMENT_NO_PATTERN,
    REASON_PATTERN,
    TEXT_PATTERN,
    VISIBLE_PATTERN,
    BigIdIn,
    UsccOrCitizenId,
)


class MissingOut(BaseModel):
    code: str = Field(description="min_period 最短公示期未满 / obligations 未证明履行义务 / commitment 未签署承诺 / objection 异议中")
    detail: str


class EligibilityOut(BaseModel):
    record_id: int
    applicable: bool = Field(description="该信息是否适用信用修复")
    eligible: bool = Field(description="现在是否满足全部修复条件")
    may_apply: bool = Field(description="现在能否提交申请（证明材料与承诺随申请提交）")
    earliest: date | None = Field(description="最早可申请日期")
    min_months: int | None
    missing: list[MissingOut]
    reason: str | None = Field(description="不适用修复的原因")
    rule: str | None = Field(description="适用的本地规则名称")
    deciding_dept: str | None = Field(description="决定修复的部门（谁认定谁修复）")
    commitment_no: str | None


class RepairIn(BaseModel):
    record_id: BigIdIn = Field(description="申请修复的信用记录编号")
    subject_code: UsccOrCitizenId = Field(min_length=15, max_length=32, description="信息主体的统一社会信用代码或公民身份号码")
    applicant_name: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": VISIBLE_PATTERN})
    contact: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": VISIBLE_PATTERN})
    statement: str = Field(min_length=5, max_length=4000, json_schema_extra={"pattern": TEXT_PATTERN},
                           description="纠正失信行为、履行法定义务的情况")
    obligations_fulfilled: bool = Field(description="声明已履行行政处罚决定等法定义务")
    commitment_no: str | None = Field(default=None, json_schema_extra={"pattern": COMMITMENT_NO_PATTERN},
                                      description="已签署的信用修复承诺编号（如 CN20260305000012）")
    sign_commitment_as: str | None = Field(default=None, max_length=100, json_schema_extra={"pattern": VISIBLE_PATTERN},
                                           description="未签署时，在申请中一并签署信用修复承诺：签署人姓名")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS,
                                            json_schema_extra=attachments_limit)


class RepairCreated(BaseModel):
    case_no: str
    query_code: str
    state: str
    decide_due: date


class RepairOut(BaseModel):
    case_no: str
    state: str
    state_label: str
    record_id: int
    target: str
    submitted_on: date
    decide_due: date
    decided_on: date | None
    decision_note: str | None
    timeline: list[TimelineOut]


class RepairFullOut(RepairOut):
    id: int
    dept: str
    applicant: str
    statement: str
    commitment_no: str | None
    overdue: bool
    attachments: list[dict[str, object]]


class DecideIn(BaseModel):
    note: str = Field(min_length=2, max_length=4000, json_schema_extra={"pattern": REASON_PATTERN}, description="决定说明；不予修复时写明理由")
