"""What every adapter shares: the event as it travels, the answer, and choosing an adapter for a target."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, NamedTuple

from xinyong.exchange.config import Target
from xinyong.exchange.outbox import Deliverer, DeliveryFailed


def _quote(value: str | None) -> str:
    """JSON string of a key: plain printable ASCII (the usual case) needs no encoder."""
    if value is None:
        return "null"
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return '"' + value + '"'
    return json.dumps(value, ensure_ascii=False)


class WireEvent(NamedTuple):
    """One event as it travels: `data` is the payload's JSON text, passed through without parsing."""

    seq: int  # the outbox id: increasing, the order of events of one record
    key: str  # the stable idempotency key: a receiver keeps one copy per key
    type: str
    record_key: str | None
    data: str

    def to_json(self) -> str:
        """{"key", "seq", "type", "record_key", "data"} as compact JSON, the payload spliced in as it is."""
        return (f'{{"key":{_quote(self.key)},"seq":{self.seq},"type":{_quote(self.type)},'
                f'"record_key":{_quote(self.record_key)},"data":{self.data}}}')

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "seq": self.seq, "type": self.type, "record_key": self.record_key,
                "data": json.loads(self.data)}


# key -> ("accepted" | "rejected", reason); keys the receiver did not mention were accepted.
Outcomes = dict[str, tuple[str, str]]


class DeliveryError(DeliveryFailed):
    """Nothing of the batch is known to have arrived: retry later (message in Chinese, shown to operators)."""


class Adapter(ABC):
    def __init__(self, target: Target) -> None:
        self.target = target

    @abstractmethod
    def deliver(self, batch_id: str, events: list[WireEvent]) -> Outcomes: ...

    def collect_feedback(self) -> tuple[Outcomes, list[str]]:
        """Answers the receiver left since the last call (feedback files, a feedback table), and problems
        found on the way (Chinese), e.g. a feedback file naming unknown batches."""
        return {}, []

    def close(self) -> None:  # noqa: B027 (optional to override)
        """Release connections."""


class RegisteredAdapter(Adapter):
    """A target of another domain (outbox.register_deliverer), e.g. banks' webhooks."""

    def __init__(self, target: Target, fn: Deliverer) -> None:
        super().__init__(target)
        self.fn = fn

    def deliver(self, batch_id: str, events: list[WireEvent]) -> Outcomes:
        return self.fn(self.target.code, batch_id, [e.as_dict() for e in events])


def adapter_for(target: Target) -> Adapter:
    if target.adapter == "file":
        from xinyong.exchange.adapters.file import FileAdapter

        return FileAdapter(target)
    if target.adapter == "database":
        from xinyong.exchange.adapters.database import DatabaseAdapter

        return DatabaseAdapter(target)
    from xinyong.exchange.adapters.service import ServiceAdapter

    return ServiceAdapter(target)
