"""What every due-process case's API shares: attachments sent as Base64 and the public timeline."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class AttachmentIn(BaseModel):
    filename: str = Field(min_length=1, max_length=200)
    content_base64: str = Field(min_length=1)


class TimelineOut(BaseModel):
    on: date
    action: str
    label: str
    note: str | None
