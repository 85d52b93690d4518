"""The Task table and the input models callers use to create and change tasks.

Input models hold only what a caller may set: ids and timestamps are assigned
by the service and the database.
"""

from datetime import datetime

from pydantic import field_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from taskcli.errors import InvalidInput
from taskcli.validation import DESCRIPTION_MAX, TITLE_MAX, clean_description, clean_title


class Task(SQLModel, table=True):
    """A stored task. Times are stored in UTC and come back as aware datetimes."""

    __tablename__ = "task"
    # AUTOINCREMENT: SQLite never hands out an id again, even after the highest is deleted.
    __table_args__ = (Index("ix_task_done_id", "done", "id"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    done: bool = False
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None


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
