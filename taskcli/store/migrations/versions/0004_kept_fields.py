"""Kept fields: what an imported file said that taskcli has no field for.

Revision ID: 0004
Revises: 0003

One JSON object per task (`extra`, '{}' for most), in the task table and in the
operations log's copies of tasks. ADD COLUMN with a constant default: SQLite
changes only the schema, not the rows, so this costs the same at any size.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("task", "operation_row"):
        op.execute(f"ALTER TABLE {table} ADD COLUMN extra VARCHAR DEFAULT '{{}}' NOT NULL")


def downgrade() -> None:
    for table in ("task", "operation_row"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN extra")
