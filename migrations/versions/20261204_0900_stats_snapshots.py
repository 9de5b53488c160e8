"""monthly snapshots of the monitoring indicators

Revision ID: 3b8d5e1f7a62
Revises: 3b8d5e1f7a42
Create Date: 2026-12-04 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3b8d5e1f7a62"
down_revision = "3b8d5e1f7a42"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stat_months",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("built_by", sa.String(100), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("rebuilds", sa.Integer(), nullable=False),
        sa.Column("headline", sa.Text(), nullable=False),
    )
    op.create_table(
        "stat_snapshots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("grouping", sa.String(8), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("numerator", sa.Float(), nullable=False),
        sa.Column("denominator", sa.Float()),
        sa.Column("value", sa.Float()),
    )
    op.create_index("ix_stat_snapshots_month", "stat_snapshots", ["month", "indicator"])


def downgrade() -> None:
    op.drop_index("ix_stat_snapshots_month", table_name="stat_snapshots")
    op.drop_table("stat_snapshots")
    op.drop_table("stat_months")
