"""What every due-process case's API shares: attachments sent as Base64 and the public timeline."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from xinyong.cases.config import get_config
from xinyong.core.api_types import BASE64_PATTERN, VISIBLE_PATTERN

MAX_ATTACHMENTS = 20  # a hard bound; the configured number (due_process.yaml) is stated in the schema


def attachments_limit(schema: JsonDict) -> None:
    schema["maxItems"] = get_config().attachments.max_files
    schema["description"] = (f"证明材料，最多 {get_config().attachments.max_files} 个，"
                             f"每个不超过 {get_config().attachments.max_mb:g} MB")


class AttachmentIn(BaseModel):
    filename: str = Field(min_length=1, max_length=200, json_schema_extra={"pattern": VISIBLE_PATTERN}, description="文件名")
    content_base64: str = Field(min_length=1, json_schema_extra={
        "pattern": BASE64_PATTERN, "minLength": 4, "format": "attachment-base64", "contentEncoding": "base64"},
                                description="文件内容的 Base64 编码；只接受 PDF、JPG、PNG（按文件内容判断）")


class TimelineOut(BaseModel):
    on: date
    action: str
    label: str
    note: str | None
