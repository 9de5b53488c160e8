"""Sharing partners (departments, banks, utilities, other platforms, the upstream platform): scoped keys, the change
feed, bulk exports, the read log, and what the upstream platform sends down (inbound lists and records)."""
