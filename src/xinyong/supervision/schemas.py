"""What crosses the graded supervision API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.config import JsonDict
from pydantic.json_schema import WithJsonSchema

from xinyong.catalog.service import get_catalog
from xinyong.core.api_types import TEXT_PATTERN, VISIBLE_PATTERN, Uscc, enum_from
from xinyong.supervision.config import get_schemes

Outcome = Literal["pass", "rectify", "case", "not_found", "closed"]
Kind = Literal["legal_person", "individual_business", "other_org"]
# a region code prefix (2–6 digits of the administrative division code); the service explains a wrong one
Region = Annotated[str, WithJsonSchema({"type": "string", "pattern": r"^[0-9]{2,6}$"})]
VISIBLE: JsonDict = {"pattern": VISIBLE_PATTERN}
TEXT: JsonDict = {"pattern": TEXT_PATTERN}


def _items(schema: JsonDict) -> None:
    codes: list[JsonValue] = [*sorted(get_catalog().items)]
    schema["items"] = {"type": "string", "enum": codes}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InspectorIn(_In):
    name: str = Field(min_length=1, max_length=100, json_schema_extra=VISIBLE, description="检查人员姓名")
    badge_no: str = Field(min_length=1, max_length=64, json_schema_extra=VISIBLE, description="执法证号")
    conflict_usccs: list[Uscc] = Field(default_factory=list, max_length=200,
                                       description="须回避的主体（统一社会信用代码）")
    conflict_regions: list[Region] = Field(default_factory=list, max_length=50,
                                           description="须回避的地区（行政区划代码前缀，2–6 位）")


class InspectorPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=100, json_schema_extra=VISIBLE)
    active: bool | None = None
    conflict_usccs: list[Uscc] | None = Field(default=None, max_length=200)
    conflict_regions: list[Region] | None = Field(default=None, max_length=50)


class InspectorOut(BaseModel):
    id: int
    name: str
    badge_no: str
    active: bool
    conflict_usccs: list[str]
    conflict_regions: list[str]


class PlanIn(_In):
    name: str = Field(min_length=1, max_length=200, json_schema_extra=VISIBLE, description="抽查计划名称")
    scheme: str = Field(min_length=1, max_length=64, json_schema_extra=enum_from(lambda: list(get_schemes().items)),
                        description="分级分类监管方案代码（config/supervision），须适用于本部门")
    period_start: date
    period_end: date = Field(description="检查期限结束日（不早于开始日）")
    items: list[str] = Field(default_factory=list, max_length=50, json_schema_extra=_items,
                             description="范围：有这些目录事项记录的主体")
    regions: list[Region] = Field(default_factory=list, max_length=50, description="范围：行政区划代码前缀")
    kinds: list[Kind] = Field(default_factory=list, max_length=3, description="范围：主体类型")
    size: int | None = Field(default=None, ge=1, le=10_000_000,
                             description="抽取总数（不填则按方案各等级比例抽取）")


class PlanOut(BaseModel):
    plan_no: str
    name: str
    department: str
    scheme: str
    scheme_name: str
    model_id: str
    scope: dict[str, list[str]]
    period_start: date
    period_end: date
    size: int | None
    state: str
    state_label: str
    drawn: int
    results: int
    published_on: date | None
    closed_on: date | None


class DrawIn(_In):
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1,
                             description="随机种子（不填则随机生成）；抽取后与输入一并保存，可复核")


class ResultIn(_In):
    uscc: Uscc
    outcome: Outcome
    note: str = Field(default="", max_length=2000)
    on: date | None = None


class InterviewIn(_In):
    uscc: Uscc
    reason: str = Field(min_length=1, max_length=2000, json_schema_extra=TEXT, description="约谈事由")
    legal_basis: str = Field(min_length=1, max_length=2000, json_schema_extra=TEXT, description="法律政策依据")
    scheduled_at: datetime = Field(description="约谈时间（不早于今天）")
    place: str = Field(min_length=1, max_length=200, json_schema_extra=VISIBLE)


class HoldIn(_In):
    outcome: str = Field(min_length=1, max_length=4000, json_schema_extra=TEXT, description="约谈情况")
    held_on: date | None = None
    rectification: str | None = Field(default=None, max_length=4000, description="整改承诺")
    deadline: date | None = None


class RectifiedIn(_In):
    on: date | None = None


class InterviewOut(BaseModel):
    interview_no: str
    department: str
    subject_name: str
    uscc: str | None
    grounds: str
    reason: str
    legal_basis: str
    scheduled_at: datetime
    place: str
    state: str
    state_label: str
    held_on: date | None
    outcome: str | None
    rectification: str | None
    deadline: date | None
    rectified_on: date | None
    overdue: bool
    overdue_flagged_on: date | None
