"""evaluation: runs, results, current grades, run leases

Revision ID: e7a1c3d5b902
Revises: 57ec7687305f
Create Date: 2026-12-04 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e7a1c3d5b902"
down_revision = "57ec7687305f"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "evaluation_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("subjects", sa.Integer(), nullable=False),
        sa.Column("grades", sa.Text(), nullable=False),
        sa.Column("migrations", sa.Text(), nullable=False),
        sa.Column("watermark", sa.Text(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_runs"),
    )
    op.create_index("ix_evaluation_runs_model", "evaluation_runs", ["model_id", "state"])
    op.create_table(
        "evaluation_results",
        sa.Column("id", BigId, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("subject_id", BigId, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(8), nullable=False),
        sa.Column("override", sa.String(64)),
        sa.Column("contributions", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_results"),
    )
    op.create_index("ix_evaluation_results_run_subject", "evaluation_results", ["run_id", "subject_id"])
    op.create_index("ix_evaluation_results_subject", "evaluation_results", ["subject_id", "model_id"])
    op.create_table(
        "evaluation_current",
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("subject_id", BigId, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("result_id", BigId, nullable=False),
        sa.Column("grade", sa.String(8), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "subject_id", name="pk_evaluation_current"),
    )
    op.create_index("ix_evaluation_current_subject", "evaluation_current", ["subject_id"])
    op.create_table(
        "evaluation_leases",
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer()),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model_id", name="pk_evaluation_leases"),
    )


def downgrade() -> None:
    op.drop_table("evaluation_leases")
    op.drop_index("ix_evaluation_current_subject", "evaluation_current")
    op.drop_table("evaluation_current")
    op.drop_index("ix_evaluation_results_subject", "evaluation_results")
    op.drop_index("ix_evaluation_results_run_subject", "evaluation_results")
    op.drop_table("evaluation_results")
    op.drop_index("ix_evaluation_runs_model", "evaluation_runs")
    op.drop_table("evaluation_runs")
