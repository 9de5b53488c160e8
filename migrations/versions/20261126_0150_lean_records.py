"""lean records: secrets in the record, fewer indexes on bulk-written tables

- record_secrets (one row per sensitive value, two indexes) folds into two columns of records:
  `secrets` (AES-GCM of {field: value}) and `secret_hashes` ("field:keyed-hash ..."). Existing rows are
  moved: decrypted with the platform key, re-sealed per record, their keyed hashes reused as they are.
- ix_records_item_date goes: the 双公示 list pages by id (publication order).
- check_logs keeps one index, (dept_id, at): ix_check_logs_at and ix_check_logs_batch go.

Revision ID: 7c4e2a91d5b0
Revises: 405aa4a2b032
Create Date: 2026-11-26 01:50:00
"""
from __future__ import annotations

import json
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "7c4e2a91d5b0"
down_revision = "405aa4a2b032"
branch_labels = None
depends_on = None

_BATCH = 5_000


def _field_order(item_code: str) -> list[str]:
    from xinyong.catalog.service import get_catalog

    try:
        return [f.name for f in get_catalog().get(item_code).sensitive_fields()]
    except Exception:  # an item no longer in the catalog: keep the stored order
        return []


def _move_secrets_into_records(conn: sa.Connection) -> None:
    if not conn.execute(sa.text("SELECT 1 FROM record_secrets LIMIT 1")).first():
        return
    from xinyong.core import crypto
    from xinyong.records.service import secrets_json

    last = 0
    while True:
        ids = [r[0] for r in conn.execute(sa.text(
            "SELECT DISTINCT record_id FROM record_secrets WHERE record_id > :last ORDER BY record_id LIMIT :n"),
            {"last": last, "n": _BATCH})]
        if not ids:
            return
        last = ids[-1]
        rows = conn.execute(sa.text(
            "SELECT s.record_id, s.field, s.value_hash, s.value_enc, r.item_code FROM record_secrets s "
            "JOIN records r ON r.id = s.record_id WHERE s.record_id >= :lo AND s.record_id <= :hi "
            "ORDER BY s.record_id, s.id"), {"lo": ids[0], "hi": ids[-1]}).all()
        per_record: dict[int, list[tuple[str, str, str, str]]] = defaultdict(list)
        for record_id, field, value_hash, value_enc, item_code in rows:
            per_record[record_id].append((field, value_hash, value_enc, item_code))
        updates = []
        for record_id, entries in per_record.items():
            order = _field_order(entries[0][3])
            entries.sort(key=lambda e: order.index(e[0]) if e[0] in order else len(order))
            clear = [(field, crypto.decrypt(enc, "")) for field, _, enc, _ in entries]
            updates.append({"id": record_id, "secrets": crypto.legacy_encrypt(secrets_json(clear)),
                            "hashes": " ".join(f"{field}:{h}" for field, h, _, _ in entries)})
        conn.execute(sa.text("UPDATE records SET secrets = :secrets, secret_hashes = :hashes WHERE id = :id"),
                     updates)


def _split_secrets_out_of_records(conn: sa.Connection) -> None:
    from xinyong.core import crypto

    rows = conn.execute(sa.text(
        "SELECT id, secrets, secret_hashes FROM records WHERE secrets IS NOT NULL ORDER BY id")).all()
    inserts = []
    for record_id, sealed, hashes in rows:
        values: dict[str, str] = json.loads(crypto.decrypt(sealed, ""))
        by_field = dict(part.split(":", 1) for part in (hashes or "").split())
        hash_of = crypto.hasher("record_secret")
        for field, value in values.items():
            inserts.append({"record_id": record_id, "field": field,
                            "value_hash": by_field.get(field) or hash_of(value), "value_enc": crypto.legacy_encrypt(value)})
    if inserts:
        conn.execute(sa.text("INSERT INTO record_secrets (record_id, field, value_hash, value_enc) "
                             "VALUES (:record_id, :field, :value_hash, :value_enc)"), inserts)


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secrets", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("secret_hashes", sa.Text(), nullable=True))
        batch_op.drop_index("ix_records_item_date")
    _move_secrets_into_records(op.get_bind())
    with op.batch_alter_table("record_secrets", schema=None) as batch_op:
        batch_op.drop_index("ix_record_secrets_record")
        batch_op.drop_index("ix_record_secrets_hash")
    op.drop_table("record_secrets")
    with op.batch_alter_table("check_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_check_logs_at")
        batch_op.drop_index("ix_check_logs_batch")


def downgrade() -> None:
    with op.batch_alter_table("check_logs", schema=None) as batch_op:
        batch_op.create_index("ix_check_logs_batch", ["batch_id"], unique=False)
        batch_op.create_index("ix_check_logs_at", ["at"], unique=False)
    op.create_table(
        "record_secrets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("value_hash", sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
                  nullable=False),
        sa.Column("value_enc", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_secrets")),
    )
    _split_secrets_out_of_records(op.get_bind())
    with op.batch_alter_table("record_secrets", schema=None) as batch_op:
        batch_op.create_index("ix_record_secrets_hash", ["value_hash"], unique=False)
        batch_op.create_index("ix_record_secrets_record", ["record_id"], unique=False)
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index("ix_records_item_date", ["item_code", "decision_date"], unique=False)
        batch_op.drop_column("secret_hashes")
        batch_op.drop_column("secrets")
