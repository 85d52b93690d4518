"""Create the task table (taskcli 1.0).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.Integer().with_variant(sa.BigInteger(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "task",
        # BIGINT on PostgreSQL (a BIGSERIAL: ids up to 2**53 like SQLite's); SQLite's
        # INTEGER PRIMARY KEY is its 64-bit rowid.
        sa.Column("id", _ID, nullable=False),
        sa.Column("title", sqlmodel.AutoString(length=500), nullable=False),
        sa.Column("description", sqlmodel.AutoString(length=65536), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_task_done_id", "task", ["done", "id"])


def downgrade() -> None:
    op.drop_index("ix_task_done_id", table_name="task")
    op.drop_table("task")
