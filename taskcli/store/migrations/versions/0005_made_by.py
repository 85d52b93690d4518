"""Who made each change: the operations log records the operating-system user who
ran the command and, on PostgreSQL, the database role it connected as (a shared
list has many of both). Operations logged before are by nobody known (NULL).

Revision ID: 0005
Revises: 0004

ADD COLUMN without a default: only the schema changes, at any size.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE operation ADD COLUMN os_user VARCHAR")
    op.execute("ALTER TABLE operation ADD COLUMN db_user VARCHAR")


def downgrade() -> None:
    with op.batch_alter_table("operation") as batch:
        batch.drop_column("db_user")
        batch.drop_column("os_user")
