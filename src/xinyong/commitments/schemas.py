"""What crosses the API for credit commitments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.config import JsonDict

from xinyong.commitments.config import templates
from xinyong.core.api_types import REASON_PATTERN, VISIBLE_PATTERN, BigIdIn, Uscc, enum_from


class TemplateOut(BaseModel):
    code: str
    name: str
    title: str
    legal_basis: str
    text: str
    requires_acceptor: bool
    requires_record: bool


def _per_template(schema: JsonDict) -> None:
    """What each commitment type needs, from its template (config/commitments/*.yaml): the accepting
    department, the record a repair commitment is about, or the matter committed to."""
    variants: list[JsonValue] = []
    for tpl in templates().values():
        required: list[JsonValue] = ["type"]
        properties: JsonDict = {"type": {"const": tpl.code}}
        if tpl.requires_acceptor:
            required.append("acceptor")
            properties["acceptor"] = {"type": "string", "minLength": 1, "pattern": VISIBLE_PATTERN}
        if tpl.requires_record:
            required.append("record_id")
            properties["record_id"] = {"type": "integer", "minimum": 1}
        else:
            required.append("matter")
            properties["matter"] = {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": VISIBLE_PATTERN}
        variants.append({"title": tpl.name, "required": required, "properties": properties})
    schema["oneOf"] = variants
    schema["description"] = "签署单位须与承诺主体一致（signer_uscc 与 uscc 相同）"


class CommitmentIn(BaseModel):
    model_config = ConfigDict(json_schema_extra=_per_template)

    type: str = Field(min_length=1, max_length=32, json_schema_extra=enum_from(lambda: templates()),
                      description="承诺类型：notice 告知承诺 / voluntary 主动承诺 / industry 行业自律承诺 / repair 信用修复承诺"
                                  "（见 GET /api/v1/commitment-templates）")
    uscc: Uscc = Field(min_length=18, max_length=18, description="承诺主体的统一社会信用代码")
    signer_name: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": VISIBLE_PATTERN},
                             description="签署人（法定代表人或授权代表）姓名")
    signer_uscc: Uscc = Field(min_length=18, max_length=18, description="签署单位的统一社会信用代码（须与承诺主体一致）")
    matter: str = Field(default="", max_length=1000,
                        description="承诺事项（如办理的审批事项、自愿承诺的内容）；信用修复承诺以外必填")
    acceptor: str | None = Field(default=None, max_length=64, json_schema_extra={"pattern": VISIBLE_PATTERN},
                                 description="受理部门代码（告知承诺必填）")
    record_id: BigIdIn | None = Field(default=None, description="信用修复承诺：所针对的信用记录编号（必填）")


class CommitmentOut(BaseModel):
    commitment_no: str
    type: str
    type_name: str
    subject_name: str
    uscc: str | None
    signer_name: str
    matter: str
    acceptor: str | None
    record_id: int | None
    title: str
    legal_basis: str
    text: str
    text_sha256: str
    signed_at: datetime
    signed_on: date
    state: str
    state_label: str
    outcome_on: date | None
    outcome_note: str | None
    breach_record_id: int | None
    filed_via: str = Field(description="account 主体账户签署 / department 受理部门录入 / counter 信用办窗口代办")
    filed_via_label: str


class OutcomeIn(BaseModel):
    outcome: Literal["fulfilled", "breached"] = Field(description="fulfilled 已履约 / breached 违诺")
    on: date | None = Field(default=None, description="认定日期，默认今天")
    note: str = Field(min_length=2, max_length=2000, json_schema_extra={"pattern": REASON_PATTERN}, description="履约或违诺情况说明")
