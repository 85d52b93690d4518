"""The operations log: what `tasks undo`, `tasks redo` and `tasks history` read.

Every command that changes tasks records one Operation in the same transaction.
An add records only the range of ids it made (a bulk add of 100,000 tasks costs
one row); a change or a delete keeps the rows it touched, as stored, in
`operation_row`: before (to undo) and after (to redo). An undone add keeps the
rows it removed there (phase 'after'), so that redo can put them back exactly.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String, Table
from sqlmodel import Field, SQLModel

from taskcli.domain.models import ID_TYPE, StoredTime, Task

# What an operation did: made tasks (a range of ids), changed them, deleted them,
# or imported them (made some, changed others: every task it left is logged 'after',
# the changed ones also 'before').
ADDED, CHANGED, DELETED, IMPORTED = "add", "change", "rm", "import"
BEFORE, AFTER = "before", "after"
# Operations kept unless TASKS_HISTORY says otherwise.
DEFAULT_KEEP = 1000


class Operation(SQLModel, table=True):
    """One command that changed tasks."""

    __tablename__ = "operation"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: int | None = Field(default=None, primary_key=True, sa_type=ID_TYPE)
    at: datetime = Field(sa_type=StoredTime)
    command: str
    kind: str = Field(max_length=10)
    count: int
    first_id: int | None = Field(default=None, sa_type=ID_TYPE)
    last_id: int | None = Field(default=None, sa_type=ID_TYPE)
    undone: bool = False
    # Who ran the command: the operating-system user, and the database role on
    # PostgreSQL (None for operations logged before taskcli 2.3 recorded them).
    os_user: str | None = None
    db_user: str | None = None


# A task as an operation saw it: the task table's columns, as stored, keyed by the
# operation, the phase (before or after) and the task's id.
TASK_COLUMNS: tuple[str, ...] = tuple(column.name for column in Task.__table__.columns)
OPERATION_ROW = Table(
    "operation_row",
    SQLModel.metadata,
    Column("seq", ID_TYPE, primary_key=True, autoincrement=False),
    Column("phase", String(6), primary_key=True),
    *(
        Column(
            column.name,
            column.type,
            nullable=column.nullable,
            primary_key=column.name == "id",
            autoincrement=False,
        )
        for column in Task.__table__.columns
    ),
)
