"""What crosses the check API. Lengths and values are checked in the service, with Chinese reasons."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CheckIn(BaseModel):
    subject: str = Field(description="统一社会信用代码、主体全称或公民身份号码")
    matter: str = Field(description="核查事项，如“某某项目招标”")
    matter_type: str = Field(description="license|procurement|subsidy|hiring|honour|other")
    purpose: str = Field("", description="核查目的；核查自然人时必填")


class BatchCheckIn(BaseModel):
    subjects: list[str] = Field(description="最多 100000 个统一社会信用代码、名称或公民身份号码")
    matter: str
    matter_type: str
    purpose: str = ""


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


class BatchCheckOut(BaseModel):
    batch_check_id: int
    summary: dict[str, int]
    results: list[dict[str, Any]]
    download: str
