"""keyed, witnessed audit trail; sealed reports

- audit_events.key_gen: the key generation whose audit key made the event's HMAC (NULL: an event from before
  the chain was keyed, still verified by its plain SHA-256 link).
- reports.seal: HMAC under the report key over the stored row, PDF hash included.
- PostgreSQL: audit_events refuses UPDATE, DELETE and TRUNCATE (triggers, binding superusers too).

Existing ciphertexts (no associated data) and reports without a seal are converted by `xinyong keys rotate`,
which needs the key file; a migration must run without it.

Revision ID: 57ec7687305f
Revises: 7c2e4a9d1f30
Create Date: 2026-12-04 06:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xinyong.core.audit import install_append_only, uninstall_append_only

revision = "57ec7687305f"
down_revision = "7c2e4a9d1f30"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_gen", sa.Integer(), nullable=True))
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seal", sa.String(length=80), nullable=True))
    install_append_only(op.get_bind())


def downgrade() -> None:
    uninstall_append_only(op.get_bind())
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("seal")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("key_gen")
