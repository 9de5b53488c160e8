"""supervision: inspector rosters, inspection plans, draws and their items, 诚信约谈

Revision ID: b4d2f6a8c013
Revises: 3b8d5e1f7a62
Create Date: 2026-12-04 09:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b4d2f6a8c013"
down_revision = "3b8d5e1f7a62"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "supervision_inspectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dept_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("badge_no", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("conflict_usccs", sa.Text(), nullable=False),
        sa.Column("conflict_regions", sa.Text(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_inspectors"),
        sa.UniqueConstraint("dept_id", "badge_no", name="uq_supervision_inspectors_badge"),
    )
    op.create_index("ix_supervision_inspectors_dept_id", "supervision_inspectors", ["dept_id"])
    op.create_table(
        "supervision_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_no", sa.String(32), nullable=False),
        sa.Column("dept_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("size", sa.Integer()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("drawn_at", Stamp),
        sa.Column("published_on", sa.Date()),
        sa.Column("closed_on", sa.Date()),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_plans"),
        sa.UniqueConstraint("plan_no", name="uq_supervision_plans_plan_no"),
    )
    op.create_index("ix_supervision_plans_dept", "supervision_plans", ["dept_id", "state"])
    op.create_table(
        "supervision_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(32), nullable=False),
        sa.Column("seed", sa.String(40), nullable=False),
        sa.Column("population_size", sa.Integer(), nullable=False),
        sa.Column("population_digest", sa.String(64), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("result_digest", sa.String(64), nullable=False),
        sa.Column("drawn_by", sa.String(100), nullable=False),
        sa.Column("drawn_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_draws"),
        sa.UniqueConstraint("plan_id", name="uq_supervision_draws_plan_id"),
    )
    op.create_table(
        "supervision_draw_items",
        sa.Column("id", BigId, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("subject_id", BigId, nullable=False),
        sa.Column("stratum", sa.String(16), nullable=False),
        sa.Column("inspector_a", sa.Integer(), nullable=False),
        sa.Column("inspector_b", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("outcome_note", sa.Text()),
        sa.Column("outcome_on", sa.Date()),
        sa.Column("record_id", BigId),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_draw_items"),
        sa.UniqueConstraint("plan_id", "subject_id", name="uq_supervision_draw_items_subject"),
    )
    op.create_index("ix_supervision_draw_items_subject", "supervision_draw_items", ["subject_id"])
    op.create_table(
        "supervision_interviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interview_no", sa.String(32), nullable=False),
        sa.Column("dept_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", BigId, nullable=False),
        sa.Column("grounds", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("scheduled_at", Stamp, nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("held_on", sa.Date()),
        sa.Column("outcome", sa.Text()),
        sa.Column("rectification", sa.Text()),
        sa.Column("deadline", sa.Date()),
        sa.Column("rectified_on", sa.Date()),
        sa.Column("overdue_flagged_on", sa.Date()),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_interviews"),
        sa.UniqueConstraint("interview_no", name="uq_supervision_interviews_interview_no"),
    )
    op.create_index("ix_supervision_interviews_subject", "supervision_interviews", ["subject_id"])
    op.create_index("ix_supervision_interviews_dept", "supervision_interviews", ["dept_id", "state"])


def downgrade() -> None:
    for table in ("supervision_interviews", "supervision_draw_items", "supervision_draws", "supervision_plans",
                  "supervision_inspectors"):
        op.drop_table(table)
