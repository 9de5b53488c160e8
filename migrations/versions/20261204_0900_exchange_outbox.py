"""exchange: the outbox moves from cases (outbound_sync) to exchange_outbox; scan cursors; worker leases

Rows still in outbound_sync are carried over (delivered ones as delivered), each with the key `legacy:<id>`.

Revision ID: 3b9e51c0a7d2
Revises: e7a1c3d5b902
Create Date: 2026-12-04 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xinyong.core.db import UtcDateTime

revision = "3b9e51c0a7d2"
down_revision = "e7a1c3d5b902"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "exchange_outbox",
        sa.Column("id", BigId, nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("record_key", sa.String(length=100), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", UtcDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("sent_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("dept_id", BigId, nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_outbox")),
        sa.UniqueConstraint("target", "key", name="uq_exchange_outbox_target_key"),
    )
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_outbox_due", ["target", "state", "id"], unique=False)
        batch_op.create_index("ix_exchange_outbox_record", ["target", "record_key", "id"], unique=False)
    op.create_table(
        "exchange_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", BigId, nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_exchange_cursors")),
    )
    op.create_table(
        "worker_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_run", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_leases")),
    )
    op.execute(
        "INSERT INTO exchange_outbox (target, event_type, key, record_key, payload, state, attempts, created_at, "
        "next_attempt_at, sent_at) SELECT target, event_type, 'legacy:' || CAST(id AS VARCHAR(20)), NULL, payload, "
        "CASE WHEN sent_at IS NULL THEN 'queued' ELSE 'delivered' END, 0, created_at, created_at, sent_at "
        "FROM outbound_sync ORDER BY id"
    )
    with op.batch_alter_table("outbound_sync", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_sync_pending")
    op.drop_table("outbound_sync")


def downgrade() -> None:
    op.create_table(
        "outbound_sync",
        sa.Column("id", BigId, nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_sync")),
    )
    with op.batch_alter_table("outbound_sync", schema=None) as batch_op:
        batch_op.create_index("ix_outbound_sync_pending", ["sent_at", "id"], unique=False)
    op.execute(
        "INSERT INTO outbound_sync (target, event_type, payload, created_at, sent_at) "
        "SELECT substr(target, 1, 16), event_type, payload, created_at, sent_at FROM exchange_outbox ORDER BY id"
    )
    op.drop_table("worker_leases")
    op.drop_table("exchange_cursors")
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_outbox_record")
        batch_op.drop_index("ix_exchange_outbox_due")
    op.drop_table("exchange_outbox")
