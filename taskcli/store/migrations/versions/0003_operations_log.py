"""The operations log behind `tasks undo`, `tasks redo` and `tasks history`.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Ids (and sequence numbers) are BIGINT on PostgreSQL, like the task table's.
_ID = sa.Integer().with_variant(sa.BigInteger(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "operation",
        sa.Column("seq", _ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("command", sqlmodel.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.AutoString(length=10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_id", _ID, nullable=True),
        sa.Column("last_id", _ID, nullable=True),
        sa.Column("undone", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sqlite_autoincrement=True,
    )
    # The task table's columns as of revision 0002, keyed by operation and phase.
    op.create_table(
        "operation_row",
        sa.Column("seq", _ID, nullable=False),
        sa.Column("phase", sa.String(length=6), nullable=False),
        sa.Column("title", sqlmodel.AutoString(length=500), nullable=False),
        sa.Column("description", sqlmodel.AutoString(length=65536), nullable=True),
        sa.Column("id", _ID, nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uuid", sqlmodel.AutoString(length=36), nullable=True),
        sa.Column("due", sqlmodel.AutoString(length=20), nullable=True),
        sa.Column("priority", sqlmodel.AutoString(length=1), nullable=True),
        sa.Column("tags", sa.String(), nullable=False),
        sa.Column("project", sqlmodel.AutoString(length=200), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", "phase", "id"),
    )


def downgrade() -> None:
    op.drop_table("operation_row")
    op.drop_table("operation")
