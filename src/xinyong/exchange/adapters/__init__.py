"""The three adapters of GB/T 39443 (file, database, service), behind one interface: `deliver(events)` returns
the receiver's answer per idempotency key, or raises `DeliveryError` (to be retried with back-off)."""

from __future__ import annotations

from xinyong.exchange.adapters.base import Adapter, DeliveryError, Outcomes, WireEvent, adapter_for

__all__ = ["Adapter", "DeliveryError", "Outcomes", "WireEvent", "adapter_for"]
