"""subject accounts and server-side login sessions

Revision ID: 5a1c0e7d2b44
Revises: 3b9d0e6f2c71
Create Date: 2026-12-04 05:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5a1c0e7d2b44"
down_revision = "3b9d0e6f2c71"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.ForeignKey("subjects.id"),
                  nullable=False, unique=True),
        sa.Column("uscc", sa.String(18), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("legal_rep_name", sa.String(100), nullable=False),
        sa.Column("legal_rep_id_hash", sa.String(64), nullable=False),
        sa.Column("contact_phone", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("activation_code_hash", sa.String(64)),
        sa.Column("activation_expires_at", sa.DateTime(timezone=True)),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.Column("activated_by", sa.String(100)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("subject_accounts.id")),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("ip", sa.String(64)),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_account_id", "web_sessions", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_account_id", "web_sessions")
    op.drop_index("ix_web_sessions_user_id", "web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("subject_accounts")
