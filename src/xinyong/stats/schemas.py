"""What crosses the API: the public headline figures."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Headline(BaseModel):
    records: int = Field(description="截至月末归集的信用记录")
    dual_ytd: int = Field(description="本年双公示记录")
    lists: int = Field(description="公示中的红黑名单")
    repairs_ytd: int = Field(description="本年办结的信用修复")


class PublicIndicator(BaseModel):
    id: str
    name: str
    unit: str
    value: float | None


class PublicStatsOut(BaseModel):
    month: str = Field(description="统计月份 YYYY-MM")
    headline: Headline
    indicators: list[PublicIndicator]
