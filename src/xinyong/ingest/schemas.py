"""What crosses the API and the CLI: the batch summary and its rejected rows."""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_REJECTS_SHOWN = 1000


class RejectOut(BaseModel):
    row: int = Field(description="文件中的行号（CSV 表头为第 1 行；XLSX 为工作表行号）")
    field: str = Field(description="字段的中文名称（表头）")
    reason: str = Field(description="退回原因及修改方法")
    value: str | None = Field(default=None, description="原始值（敏感信息已脱敏）")


class BatchSummary(BaseModel):
    batch_id: int
    item: str
    dept: str
    file_name: str | None = None
    state: str = "done"
    rows: int = Field(description="数据行数（不含空行）")
    accepted: int = Field(description="新入库的记录数（含新版本）")
    rejected: int = Field(description="被退回的行数")
    duplicates: int = Field(description="与已有记录完全相同、未重复入库的行数")
    superseded: int = Field(description="以新版本取代旧记录的行数")
    late: int = Field(description="超过报送时限（工作日）的行数")
    seconds: float
    rejects: list[RejectOut] = Field(default_factory=list, description=f"退回明细，最多 {MAX_REJECTS_SHOWN} 条")
    warnings: list[str] = Field(default_factory=list)
