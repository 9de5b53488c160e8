"""records.key64: a 64-bit lookup key instead of the index on the 128-bit record key text (issue 16)

- records.key64 BIGINT: records.rules.key64(record_key), the first 8 bytes of the record key's blake2b-128 digest,
  big-endian, signed. Filled here from record_key; written from now on by ingest and records.service.
- ix_records_key64 replaces ix_records_key: bulk loads maintain a btree on an integer instead of one on 32-character
  text. record_key stays in the row, unindexed, as the record's stable name (secrets' associated data, audit
  digests, partners' feed and export keys); lookups by key64 compare it to set collisions aside.

Revision ID: 9e3c7b1d2a64
Revises: 713ba77cbe2e
Create Date: 2026-12-04 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9e3c7b1d2a64"
down_revision = "713ba77cbe2e"
branch_labels = None
depends_on = None


def _key64(record_key: str) -> int:
    # records.rules.key64, copied: a migration keeps working when the application code moves on
    return int.from_bytes(bytes.fromhex(record_key[:16]), "big", signed=True)


def _fill(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("UPDATE records SET key64 = ('x' || substr(record_key, 1, 16))::bit(64)::bigint"))
        return
    conn.connection.driver_connection.create_function(  # type: ignore[union-attr]
        "xinyong_key64", 1, _key64, deterministic=True)
    conn.execute(sa.text("UPDATE records SET key64 = xinyong_key64(record_key)"))


def upgrade() -> None:
    # The old index goes first: the fill rewrites every row and need not maintain it.
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_key")
    op.add_column("records", sa.Column("key64", sa.BigInteger(), nullable=True))
    _fill(op.get_bind())
    # On SQLite, NOT NULL rebuilds the table (once, with the new index); on PostgreSQL it is a scan.
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.alter_column("key64", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index("ix_records_key64", ["key64"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index("ix_records_key", ["record_key"], unique=False)
        batch_op.drop_index("ix_records_key64")
        batch_op.drop_column("key64")
