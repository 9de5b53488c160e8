"""What crosses the exchange's API: rejected rows for their department, and a target's status."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from xinyong.exchange.models import OutboxEvent


class RejectedOut(BaseModel):
    id: int
    target: str
    event_type: str
    key: str
    reason: str
    data: dict[str, Any]
    sent_at: datetime | None
    deadline: date | None

    @classmethod
    def of(cls, ev: OutboxEvent) -> RejectedOut:
        return cls(id=ev.id, target=ev.target, event_type=ev.event_type, key=ev.key, reason=ev.feedback or "",
                   data=json.loads(ev.payload), sent_at=ev.sent_at, deadline=ev.deadline)


class ResendOut(BaseModel):
    id: int
    state: str
