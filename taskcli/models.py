"""The Task table and the input models callers use to create and change tasks.

Input models hold only what a caller may set: ids and timestamps are assigned
by the service and the database.
"""

from datetime import datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import Index, event
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from taskcli.errors import InvalidInput
from taskcli.validation import (
    DESCRIPTION_MAX,
    STORED_TIME,
    TITLE_MAX,
    check_stored,
    clean_description,
    clean_title,
)


class StoredTime(UTCDateTime):
    """SQLModel's UTC datetime column. A stored value in a form taskcli never writes
    comes back as it is, not as an error from inside SQLAlchemy, so that the check on
    loading a Task can name the task and the field."""

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        parse = super().result_processor(dialect, coltype)

        def process(value: Any) -> Any:
            if parse is not None and isinstance(value, str) and STORED_TIME.fullmatch(value):
                return parse(value)
            return value

        return process


class Task(SQLModel, table=True):
    """A stored task. Times are stored in UTC and come back as aware datetimes."""

    __tablename__ = "task"
    # AUTOINCREMENT: SQLite never hands out an id again, even after the highest is deleted.
    __table_args__ = (Index("ix_task_done_id", "done", "id"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    done: bool = False
    created_at: datetime = Field(sa_type=StoredTime)
    updated_at: datetime = Field(sa_type=StoredTime)
    completed_at: datetime | None = Field(default=None, sa_type=StoredTime)


@event.listens_for(Task, "load")
def _check_loaded(task: Task, context: Any) -> None:
    """Refuse a stored task taskcli would never have written, before any command
    uses it: a write then changes nothing, and no output shows it."""
    times = (task.created_at, task.updated_at, task.completed_at)
    check_stored(task.id, task.title, task.description, task.done, times, _is_time)


def _is_time(value: Any) -> bool:
    return isinstance(value, datetime)


class TaskCreate(SQLModel):
    """What a caller gives to add a task."""

    title: str
    description: str | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return clean_title(value)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        return clean_description(value)


class TaskUpdate(SQLModel):
    """A partial update: only the fields that were set change (an empty description clears it)."""

    title: str | None = None
    description: str | None = None
    done: bool | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str:
        if value is None:
            raise InvalidInput("title must not be empty")
        return clean_title(value)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        return clean_description(value)
