"""sharing partners: partners, their hashed keys and scopes, the read log and its monthly counts, feed marks

Revision ID: 3b8d5e1f7a42
Revises: 3f9b6c2d8e51
Create Date: 2026-12-04 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3b8d5e1f7a42"
down_revision = "3f9b6c2d8e51"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("dept_id", sa.Integer(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("rate_limit", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["dept_id"], ["departments.id"], name=op.f("fk_partners_dept_id_departments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("code", name=op.f("uq_partners_code")),
    )
    op.create_table(
        "partner_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name=op.f("fk_partner_keys_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_partner_keys_key_hash")),
    )
    op.create_index(op.f("ix_partner_keys_partner_id"), "partner_keys", ["partner_id"], unique=False)
    op.create_table(
        "partner_scopes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("id_numbers", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name=op.f("fk_partner_scopes_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_scopes")),
        sa.UniqueConstraint("partner_id", "item", name=op.f("uq_partner_scopes_partner_id")),
    )
    op.create_table(
        "partner_reads",
        sa.Column("id", BigId, nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("what", sa.String(length=300), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_reads")),
    )
    op.create_index("ix_partner_reads_partner_at", "partner_reads", ["partner_id", "at"], unique=False)
    op.create_table(
        "partner_read_months",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.Column("rows", BigId, nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "month", name=op.f("pk_partner_read_months")),
    )
    op.create_table(
        "feed_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("next_xid", sa.BigInteger(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_marks")),
    )


def downgrade() -> None:
    op.drop_table("feed_marks")
    op.drop_table("partner_read_months")
    op.drop_index("ix_partner_reads_partner_at", table_name="partner_reads")
    op.drop_table("partner_reads")
    op.drop_table("partner_scopes")
    op.drop_index(op.f("ix_partner_keys_partner_id"), table_name="partner_keys")
    op.drop_table("partner_keys")
    op.drop_table("partners")
