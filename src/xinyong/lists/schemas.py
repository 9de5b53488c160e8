"""What crosses the API for list types and entries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from xinyong.core.api_types import (
    TEXT_PATTERN,
    VISIBLE_PATTERN,
    BigIdIn,
    CitizenId,
    UsccOrCitizenId,
    enum_from,
)
from xinyong.lists.config import get_list_types


class LegalBasisOut(BaseModel):
    document: str
    article: str | None = None


class ListTypeOut(BaseModel):
    code: str
    name: str
    kind: Literal["red", "black"]
    legal_basis: list[LegalBasisOut]
    initiators: list[str] = Field(description="可提出列入的部门代码")
    entry_criteria: str
    term_default_months: int
    term_max_months: int
    exit_conditions: list[str]
    remedies: str
    consulted_on: date | None = None
    published_on: date | None = None
    responsible_persons: bool
    public: bool
    source: str = Field(description="platform：由发起部门认定；imported：由法院等外部机关决定，平台导入")


class PersonIn(BaseModel):
    role: Literal["legal_rep", "principal", "direct"] = Field(description="法定代表人 / 主要负责人 / 直接责任人员")
    name: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": VISIBLE_PATTERN})
    citizen_id: CitizenId = Field(min_length=15, max_length=20, description="公民身份号码（加密存储，只显示脱敏形式）")


class ListEntryIn(BaseModel):
    subject: UsccOrCitizenId = Field(min_length=1, max_length=40, description="统一社会信用代码或公民身份号码")
    subject_name: str | None = Field(default=None, max_length=300, json_schema_extra={"pattern": VISIBLE_PATTERN},
                                     description="主体尚未登记时必填，用于登记主体")
    list_type: str = Field(min_length=1, max_length=64, json_schema_extra=enum_from(
        lambda: [t.code for t in get_list_types().list()]), description="名单类型代码，见 GET /api/v1/list-types")
    decision_no: str = Field(min_length=1, max_length=200, json_schema_extra={"pattern": VISIBLE_PATTERN}, description="认定（列入）决定书文号")
    decision_date: date
    facts: str = Field(min_length=1, max_length=5000, json_schema_extra={"pattern": TEXT_PATTERN}, description="失信（守信）事实")
    basis: str = Field(min_length=1, max_length=2000, json_schema_extra={"pattern": TEXT_PATTERN}, description="列入依据（法律条款）")
    term_end: date | None = Field(default=None, description="期限截止日；不填按名单类型的默认期限")
    record_id: BigIdIn | None = Field(default=None, description="所依据的信用记录编号；不填时按决定书文号查找")
    persons: list[PersonIn] = Field(default_factory=list, max_length=20)


class NotifyIn(BaseModel):
    notified_at: date = Field(description="告知日期（不晚于今天）")
    channel: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": VISIBLE_PATTERN},
                         description="告知方式：直接送达、邮寄送达、电子送达、公告送达等")


class ExitIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, json_schema_extra={"pattern": TEXT_PATTERN}, description="移出理由")


class StateOut(BaseModel):
    id: int
    state: str


class EntryEventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None


class PersonOut(BaseModel):
    role: str
    name: str
    id_masked: str | None


class ListEntryOut(BaseModel):
    id: int
    list_type: str
    list_name: str
    kind: str
    state: str
    state_label: str
    subject_id: int
    subject_name: str
    uscc: str | None
    decision_no: str
    decision_date: date
    facts: str
    basis: str
    term_end: date
    initiator: str
    record_id: int | None
    notified_at: date | None
    notify_channel: str | None
    published_on: date | None
    exited_on: date | None
    exit_reason: str | None
    persons: list[PersonOut] = Field(default_factory=list)
    history: list[EntryEventOut] = Field(default_factory=list)
