"""What crosses the API: partners as shown to the office, inbound results."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class ScopeOut(BaseModel):
    item: str
    kind: str = Field(description="item：目录信息项；list：名单类型")
    level: str = Field(description="可读取的最高公开等级：public / shared / authorised")
    id_numbers: str = Field(description="证件号码：none 不提供 / masked 脱敏 / clear 明文")


class PartnerOut(BaseModel):
    code: str
    name: str
    kind: str
    purpose: str
    expires_on: date | None
    rate_limit: str
    status: str
    scopes: list[ScopeOut]
    reads: int = 0
    rows: int = 0
