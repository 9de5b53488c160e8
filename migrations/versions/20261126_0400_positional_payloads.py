"""positional record payloads, shorter secret hashes

- payload_layouts: the field names a record payload's values stand for, one row per item and field list.
- records.layout_id; records.payload becomes a JSON array of the values in the layout's order (null for an
  empty value, trailing nulls left out) instead of an object repeating every field name. Existing records
  are converted under one layout per item: the item's current catalog field list when it covers every key
  found in the item's payloads (what new records of the item are written in), else the catalog fields
  followed by the extra keys (sorted). content_hash is recomputed over the new text, and record_key for
  records without a decision number (it is made of the content hash).
- records.secret_hashes keeps the first 32 hex digits (128 bits) of each keyed hash.

Revision ID: 3b9d0e6f2c71
Revises: 7c4e2a91d5b0
Create Date: 2026-11-26 04:00:00
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "3b9d0e6f2c71"
down_revision = "7c4e2a91d5b0"
branch_labels = None
depends_on = None

_BATCH = 5_000
_HASH_HEX = 32


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _positional(fields: Sequence[str], values: dict[str, Any]) -> str:
    """records.service.payload_text as of this revision."""
    out: list[str | None] = [None if values.get(n) in (None, "") else str(values[n]) for n in fields]
    while out and out[-1] is None:
        out.pop()
    return _compact(out)


def _catalog_fields(item_code: str) -> list[str]:
    from xinyong.catalog.service import get_catalog

    item = get_catalog().find(item_code)
    return [f.name for f in item.fields] if item is not None else []


def _layouts(conn: sa.Connection) -> dict[str, tuple[int, list[str]]]:
    """item_code -> (layout id, fields) for every item that has records; creates the layouts."""
    if conn.dialect.name == "postgresql":
        pairs = conn.execute(sa.text("SELECT DISTINCT item_code, jsonb_object_keys(payload::jsonb) FROM records")).all()
    else:
        pairs = conn.execute(sa.text(
            "SELECT DISTINCT r.item_code, j.key FROM records r, json_each(r.payload) j")).all()
    keys: dict[str, set[str]] = {code: set() for code in conn.scalars(sa.text("SELECT DISTINCT item_code FROM records"))}
    for code, key in pairs:
        keys.setdefault(code, set()).add(key)
    out: dict[str, tuple[int, list[str]]] = {}
    now = datetime.now(UTC)
    table = sa.table("payload_layouts", sa.column("id", sa.Integer), sa.column("item_code", sa.String),
                     sa.column("fields", sa.Text), sa.column("created_at", sa.DateTime(timezone=True)))
    for code in sorted(keys):
        catalog = _catalog_fields(code)
        fields = catalog + sorted(keys[code] - set(catalog))
        layout_id = conn.execute(sa.insert(table).values(item_code=code, fields=_compact(fields), created_at=now)
                                 .returning(table.c.id)).scalar_one()
        out[code] = (layout_id, fields)
    return out


def _short_hashes(hashes: str | None) -> str | None:
    if not hashes:
        return hashes
    return " ".join(f"{name}:{digest[:_HASH_HEX]}" for name, digest in (part.split(":", 1) for part in hashes.split()))


def _update(conn: sa.Connection, updates: list[dict[str, Any]]) -> None:
    if not updates:
        return
    if conn.dialect.name == "postgresql":  # one statement per batch, not one per record
        conn.execute(sa.text(
            "UPDATE records r SET layout_id = v.layout_id, payload = v.payload, content_hash = v.content_hash, "
            "record_key = v.record_key, secret_hashes = v.secret_hashes FROM unnest(CAST(:ids AS bigint[]), "
            "CAST(:layouts AS integer[]), CAST(:payloads AS text[]), CAST(:hashes AS text[]), CAST(:keys AS text[]), "
            "CAST(:secrets AS text[])) AS v(id, layout_id, payload, content_hash, record_key, secret_hashes) "
            "WHERE r.id = v.id"),
            {"ids": [u["id"] for u in updates], "layouts": [u["layout_id"] for u in updates],
             "payloads": [u["payload"] for u in updates], "hashes": [u["content_hash"] for u in updates],
             "keys": [u["record_key"] for u in updates], "secrets": [u["secret_hashes"] for u in updates]})
    else:
        conn.execute(sa.text(
            "UPDATE records SET layout_id = :layout_id, payload = :payload, content_hash = :content_hash, "
            "record_key = :record_key, secret_hashes = :secret_hashes WHERE id = :id"), updates)


def _convert(conn: sa.Connection, encode: Callable[[Any], tuple[int, str]],
             secret_hashes: Callable[[Any], str | None]) -> None:
    """Rewrite every record's payload (encode), hashes and, without a decision number, key; in batches by id."""
    from xinyong.records import rules

    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT r.id, r.item_code, r.dept_id, r.decision_no, r.record_key, r.layout_id, r.payload, r.secrets, "
            "r.secret_hashes, r.subject_id, s.uscc, s.id_hash FROM records r LEFT JOIN subjects s ON s.id = r.subject_id "
            "WHERE r.id > :last ORDER BY r.id LIMIT :n"), {"last": last, "n": _BATCH}).all()
        if not rows:
            return
        last = rows[-1].id
        updates = []
        for r in rows:
            layout_id, text = encode(r)
            digest = rules.content_hash(r.item_code, text)
            key = r.record_key
            if not r.decision_no:  # records.service.subject_key: the USCC, else the ID-number hash, else the id
                key = rules.record_key(r.dept_id, r.item_code, None, r.uscc or r.id_hash or str(r.subject_id), digest)
            updates.append({"id": r.id, "layout_id": layout_id, "payload": text, "content_hash": digest,
                            "record_key": key, "secret_hashes": secret_hashes(r)})
        _update(conn, updates)


def upgrade() -> None:
    op.create_table(
        "payload_layouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
                  nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payload_layouts")),
        sa.UniqueConstraint("item_code", "fields", name=op.f("uq_payload_layouts_item_code")),
    )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("layout_id", sa.Integer(), nullable=True))
    conn = op.get_bind()
    layouts = _layouts(conn)

    def encode(r: Any) -> tuple[int, str]:
        layout_id, fields = layouts[r.item_code]
        return layout_id, _positional(fields, json.loads(r.payload))

    _convert(conn, encode, lambda r: _short_hashes(r.secret_hashes))
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.alter_column("layout_id", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    from xinyong.core import crypto

    conn = op.get_bind()
    fields_of = {layout_id: json.loads(text)
                 for layout_id, text in conn.execute(sa.text("SELECT id, fields FROM payload_layouts"))}
    hash_of = crypto.hasher("record_secret")

    def encode(r: Any) -> tuple[int, str]:
        values = json.loads(r.payload)
        return r.layout_id, _compact({n: v for n, v in zip(fields_of[r.layout_id], values, strict=False)
                                      if v is not None})

    def full_hashes(r: Any) -> str | None:
        """The keyed hashes are recomputed in full from the sealed clear values (the platform key is needed)."""
        if not r.secrets:
            return r.secret_hashes
        clear: dict[str, str] = json.loads(crypto.decrypt(r.secrets, ""))
        return " ".join(f"{name}:{hash_of(value)}" for name, value in clear.items())

    _convert(conn, encode, full_hashes)
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("layout_id")
    op.drop_table("payload_layouts")
