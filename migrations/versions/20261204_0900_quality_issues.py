"""问题数据: data-quality findings per department (quality_issues)

Revision ID: 3f9b6c2d8e51
Revises: 5d1f6a2b9c04
Create Date: 2026-12-04 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = sa.DateTime(timezone=True)

revision = "3f9b6c2d8e51"
down_revision = "5d1f6a2b9c04"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_issues",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("dept_id", sa.Integer(), sa.ForeignKey("departments.id"), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("item_code", sa.String(64)),
        sa.Column("subject_id", BigId),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("first_seen", sa.Date(), nullable=False),
        sa.Column("last_seen", sa.Date(), nullable=False),
        sa.Column("notified_on", sa.Date()),
        sa.Column("closed_on", sa.Date()),
        sa.Column("note", sa.Text()),
        sa.Column("closed_by", sa.String(100)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("kind", "dept_id", "key", name="uq_quality_issues_kind_dept_key"),
    )
    op.create_index("ix_quality_issues_dept_state", "quality_issues", ["dept_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_quality_issues_dept_state", table_name="quality_issues")
    op.drop_table("quality_issues")
