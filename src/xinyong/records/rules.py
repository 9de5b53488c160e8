"""Who may see a record, and when. Pure functions."""

from __future__ import annotations

import hashlib
from datetime import date

# Audiences: the public (portal, reports), a department (checks; sees "shared" items too),
# an authorised, audited request (sees "authorised" items).
AUDIENCE_LEVELS: dict[str, frozenset[str]] = {
    "public": frozenset({"public"}),
    "department": frozenset({"public", "shared"}),
    "authorised": frozenset({"public", "shared", "authorised"}),
}
VISIBLE_STATES = frozenset({"active", "objection"})


def in_window(publish_from: date | None, publish_until: date | None, today: date) -> bool:
    """A record is in publication only inside its window; no window start means not published (e.g. 轻微).

    publish_until is EXCLUSIVE: the first day the record is no longer public (as catalog.rules computes it).
    """
    if publish_from is None or publish_from > today:
        return False
    return publish_until is None or today < publish_until


def visible(state: str, disclosure: str, publish_from: date | None, publish_until: date | None,
            audience: str, today: date) -> bool:
    if state not in VISIBLE_STATES:
        return False
    if disclosure not in AUDIENCE_LEVELS.get(audience, frozenset()):
        return False
    if audience == "public":
        return in_window(publish_from, publish_until, today)
    # Departments use records while they are in force for sharing, which ends with the window as well,
    # except for items that are shared without publication (no window start at all).
    if publish_from is None:
        return disclosure != "public"
    return publish_until is None or today < publish_until


def record_key(dept_id: int, item_code: str, decision_no: str | None, subject_key: str, content_hash: str) -> str:
    """With the department and item, a decision number identifies a decision across versions.
    Items without decision numbers are identified by subject and content (a change is a new record)."""
    if decision_no:
        material = f"{dept_id}\x1f{item_code}\x1f{decision_no}"
    else:
        material = f"{dept_id}\x1f{item_code}\x1f#{subject_key}\x1f{content_hash}"
    return hashlib.blake2b(material.encode("utf-8"), digest_size=16).hexdigest()


def key64(record_key_hex: str) -> int:
    """The record's lookup key (records.key64): the first 8 bytes of its record key, big-endian, as a signed
    64-bit integer. Not unique: a lookup by it keeps only the rows whose full record key is the one wanted."""
    return int.from_bytes(bytes.fromhex(record_key_hex[:16]), "big", signed=True)


def content_hash(item_code: str, payload_json: str) -> str:
    return hashlib.blake2b(f"{item_code}\x1f{payload_json}".encode(), digest_size=16).hexdigest()
