"""Organize: every task gets a uuid, and may have a due date, a priority, tags and
a project (taskcli 2.0).

Columns are added in place (no table copy), so upgrading 100,000 tasks takes well
under a second and keeps every id and the AUTOINCREMENT high-water mark. Existing
tasks get random uuids; the whole upgrade is one transaction.

Revision ID: 0002
Revises: 0001
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_HAS_PROJECT = sa.text("project IS NOT NULL")
_HAS_TAGS = sa.text("tags != '[]'")
# Rows per UPDATE batch when giving existing tasks their uuids.
_BATCH = 5000


def upgrade() -> None:
    # Plain ADD COLUMN (not Alembic's batch copy): SQLite changes only the schema text.
    op.execute("ALTER TABLE task ADD COLUMN uuid VARCHAR(36)")
    op.execute("ALTER TABLE task ADD COLUMN due VARCHAR(20)")
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    time_type = "TIMESTAMP WITH TIME ZONE" if postgres else "DATETIME"
    op.execute(f"ALTER TABLE task ADD COLUMN due_at {time_type}")
    op.execute("ALTER TABLE task ADD COLUMN priority VARCHAR(1)")
    op.execute("ALTER TABLE task ADD COLUMN tags VARCHAR DEFAULT '[]' NOT NULL")
    op.execute("ALTER TABLE task ADD COLUMN project VARCHAR(200)")
    ids = [row[0] for row in connection.exec_driver_sql("SELECT id FROM task ORDER BY id")]
    mark = "%s" if connection.dialect.name == "postgresql" else "?"
    cursor = connection.connection.driver_connection.cursor()
    try:
        for start in range(0, len(ids), _BATCH):
            cursor.executemany(
                f"UPDATE task SET uuid = {mark} WHERE id = {mark}",
                [(str(uuid.uuid4()), task_id) for task_id in ids[start : start + _BATCH]],
            )
    finally:
        cursor.close()
    op.create_index("ix_task_uuid", "task", ["uuid"], unique=True)
    # (project, done) and (tags, done): `tasks projects` and `tasks tags` (and the
    # completion of their names) count pending tasks from these indexes alone; the
    # first also finds a project's tasks.
    # Partial: tasks without a project or tags (often most) cost these indexes nothing.
    op.create_index(
        "ix_task_project_done",
        "task",
        ["project", "done"],
        sqlite_where=_HAS_PROJECT,
        postgresql_where=_HAS_PROJECT,
    )
    op.create_index(
        "ix_task_tags_done",
        "task",
        ["tags", "done"],
        sqlite_where=_HAS_TAGS,
        postgresql_where=_HAS_TAGS,
    )
    if connection.dialect.name == "sqlite":
        _plan_statistics(connection)


# What SQLite's query planner is told about the task table's indexes: the shape of
# a typical store, fixed, rather than figures measured by ANALYZE (which taskcli
# never runs: they would go stale as the store grows from empty). Without them
# SQLite would read every pending task to find one project's 1%, through the
# (done, id) index that matches the default order.
_STATISTICS = [
    ("task", "ix_task_done_id", "1000000 500000 1"),
    ("task", "ix_task_uuid", "1000000 1"),
    ("task", "ix_task_project_done", "1000000 10000 5000"),
    ("task", "ix_task_tags_done", "1000000 5000 2500"),
]


def _plan_statistics(connection) -> None:
    connection.exec_driver_sql("ANALYZE sqlite_schema")  # creates sqlite_stat1
    connection.exec_driver_sql("DELETE FROM sqlite_stat1")
    for row in _STATISTICS:
        connection.exec_driver_sql(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", row
        )


def downgrade() -> None:
    for index in ("ix_task_tags_done", "ix_task_project_done", "ix_task_uuid"):
        op.drop_index(index, table_name="task")
    with op.batch_alter_table("task") as batch:
        for column in ("project", "tags", "priority", "due_at", "due", "uuid"):
            batch.drop_column(column)
