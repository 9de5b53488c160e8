"""who filed a case: the organisation's account, the credit office's counter, or the accepting department

Revision ID: 7c2e4a9d1f30
Revises: 5a1c0e7d2b44
Create Date: 2026-12-04 06:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "7c2e4a9d1f30"
down_revision = "5a1c0e7d2b44"
branch_labels = None
depends_on = None

TABLES = ("objections", "repair_applications", "commitments", "complaints")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("filed_via", sa.String(16), nullable=False, server_default="public"))
            batch.add_column(sa.Column("filed_by", sa.String(100)))
            batch.add_column(sa.Column("filer_account_id", sa.Integer()))
            batch.create_index(f"ix_{table}_filer_account_id", ["filer_account_id"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_filer_account_id")
            batch.drop_column("filer_account_id")
            batch.drop_column("filed_by")
            batch.drop_column("filed_via")
