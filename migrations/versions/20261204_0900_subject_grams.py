"""two-character runs of organisations' names (search side table); due dates instead of an expiry index

- subject_grams (gram, subject_id): every pair of adjacent characters of each organisation's current name,
  lower case, and `^` + its first pair (subjects.grams); filled here from the existing subjects, then kept by
  the code that sets names (subjects.service, the ingest matcher). Two-character searches read it.
- record_due (due_on, ids): when active records leave publication, one row per day and writer call with the
  ids as a JSON array (records.models.RecordDue); filled here from the active records with a window end. The
  daily job reads it, so records lose the partial index ix_records_active_until every bulk load maintained.

Revision ID: 5d1f6a2b9c04
Revises: 3b9e51c0a7d2
Create Date: 2026-12-04 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5d1f6a2b9c04"
down_revision = "3b9e51c0a7d2"
branch_labels = None
depends_on = None

_BATCH = 50_000


def _fill(conn: sa.Connection) -> None:
    from xinyong.subjects.grams import grams_frame

    table = sa.table("subject_grams", sa.column("gram", sa.String()), sa.column("subject_id", sa.BigInteger()))
    after = 0
    while True:
        rows = conn.execute(sa.text("SELECT id, name FROM subjects WHERE kind <> 'natural_person' AND id > :after "
                                    "ORDER BY id LIMIT :n"), {"after": after, "n": _BATCH}).all()
        if not rows:
            return
        after = rows[-1][0]
        grams = grams_frame([r[0] for r in rows], [r[1] for r in rows]).to_dicts()
        if grams:
            conn.execute(sa.insert(table), grams)


def _fill_due(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("INSERT INTO record_due (due_on, ids) SELECT publish_until, json_agg(id ORDER BY id)::text "
                             "FROM records WHERE state IN ('active', 'objection') AND publish_until IS NOT NULL "
                             "GROUP BY publish_until"))
    else:
        conn.execute(sa.text("INSERT INTO record_due (due_on, ids) SELECT publish_until, json_group_array(id) "
                             "FROM (SELECT id, publish_until FROM records WHERE state IN ('active', 'objection') "
                             "AND publish_until IS NOT NULL ORDER BY id) GROUP BY publish_until"))


_WHERE = "state = 'active' AND publish_until IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "subject_grams",
        sa.Column("gram", sa.String(length=3).with_variant(sa.String(length=3, collation="C"), "postgresql"),
                  nullable=False),
        sa.Column("subject_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("gram", "subject_id", name="pk_subject_grams"),
        sqlite_with_rowid=False,
    )
    _fill(op.get_bind())
    op.create_table(
        "record_due",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("ids", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _fill_due(op.get_bind())
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_active_until", postgresql_where=sa.text(_WHERE), sqlite_where=sa.text(_WHERE))


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index("ix_records_active_until", ["publish_until"], unique=False,
                              postgresql_where=sa.text(_WHERE), sqlite_where=sa.text(_WHERE))
    op.drop_table("record_due")
    op.drop_table("subject_grams")
