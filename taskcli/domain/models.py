"""A task's fields, declared once, and everything derived from them.

`TaskBase` holds what a caller may set, with its limits; `TaskRead` is a task as
every output shows it (id first, then the fields, then the times); the table
model, the input models, the row type of listings (`TaskRow`), the field list
the JSON writer, the damage checks and the contract test follow from those two.
Adding a field is one edit here plus an Alembic revision.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from typing import Any, NamedTuple, Union, get_args, get_origin

from pydantic import field_validator
from sqlalchemy import BigInteger, Index, Integer, String, TypeDecorator, event, text
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from taskcli.domain.dates import Due
from taskcli.domain.validation import (
    DESCRIPTION_MAX,
    PRIORITIES,
    PROJECT_MAX,
    STORED_TIME,
    TITLE_MAX,
    check_stored,
    clean_description,
    clean_project,
    clean_tags,
    clean_title,
    extra_ok,
    extra_text,
    stored_tags,
    tags_ok,
    tags_text,
)
from taskcli.errors import InvalidInput

# Ids (and the log's sequence numbers): SQLite's INTEGER PRIMARY KEY is its 64-bit
# rowid; PostgreSQL's INTEGER would stop at 2**31, so there they are BIGINT.
ID_TYPE = Integer().with_variant(BigInteger(), "postgresql")


class StoredTime(UTCDateTime):
    """SQLModel's UTC datetime column. A stored value in a form taskcli never writes
    comes back as it is, not as an error from inside SQLAlchemy, so that the check on
    loading a Task can name the task and the field."""

    cache_ok = True

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        parse = super().result_processor(dialect, coltype)

        def process(value: Any) -> Any:
            if parse is not None and isinstance(value, str) and STORED_TIME.fullmatch(value):
                return parse(value)
            return value

        return process


class TagList(TypeDecorator):
    """A set of tags, stored as its JSON array sorted by code point (the form JSON
    output shows, so listings write it as it is). A stored value in another form
    comes back as it is, for the check on loading to name it."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return tags_text(value or ())

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, str) and tags_ok(value):
            return stored_tags(value)
        return value


class ExtraObject(TypeDecorator):
    """A task's kept fields, stored as their JSON object text (the form JSON output
    shows, so listings write it as it is). A stored value in another form comes
    back as it is, for the check on loading to name it."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return extra_text(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value == "{}":
            return {}
        if isinstance(value, str) and extra_ok(value):
            return json.loads(value)
        return value


def new_uuid() -> str:
    """A random RFC 4122 uuid in its text form: a task's lasting identity."""
    return str(uuid.uuid4())


def new_uuids(count: int) -> list[str]:
    """`count` random RFC 4122 (version 4) uuids in text form, from one read of the
    system's random source: what uuid4() makes, at a fraction of its cost per uuid
    (a bulk add of 100,000 tasks would spend 0.4 s in uuid4 alone)."""
    digits = os.urandom(16 * count).hex()
    variant = "89ab89ab89ab89ab"  # the two variant bits set to 10, by the random digit
    return [
        f"{d[:8]}-{d[8:12]}-4{d[13:16]}-{variant[int(d[16], 16)]}{d[17:20]}-{d[20:32]}"
        for start in range(0, 32 * count, 32)
        for d in (digits[start : start + 32],)
    ]


class TaskBase(SQLModel):
    """What a caller may set, with its limits."""

    title: str = Field(max_length=TITLE_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)


class TaskRead(TaskBase):
    """A task as output shows it (`--json`, the HTTP API): a public contract, whose
    fields may be added to, never renamed or removed."""

    id: int
    done: bool = False
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    uuid: str
    # An all-day date ('2026-12-01') or an exact UTC time ('2026-12-01T16:00:00Z').
    due: str | None = Field(default=None, max_length=20)
    priority: str | None = Field(default=None, max_length=1)
    tags: list[str] = Field(default_factory=list)
    project: str | None = Field(default=None, max_length=PROJECT_MAX)
    # What another tool's file said that taskcli has no field for, by tool
    # ({"taskwarrior": {...}}, {"todotxt": {...}}): kept so export writes it back.
    extra: dict[str, Any] = Field(default_factory=dict)


# The public fields in output order: the id first, then the rest as declared.
PUBLIC_FIELDS: tuple[str, ...] = ("id", *(name for name in TaskRead.model_fields if name != "id"))


def _kind(annotation: Any) -> str:
    """What a field holds, as the JSON writer and the damage checks know it."""
    optional = get_origin(annotation) in (Union, type(int | None)) and type(None) in get_args(
        annotation
    )
    if optional:
        (annotation,) = (arg for arg in get_args(annotation) if arg is not type(None))
    kinds = {
        int: "int",
        bool: "flag",
        str: "text",
        datetime: "time",
        list[str]: "tags",
        dict[str, Any]: "object",
    }
    if annotation not in kinds:
        raise TypeError(f"no output form for a field of type {annotation!r}")
    kind = kinds[annotation]
    return f"optional {kind}" if optional else kind


# (name, kind) of every public field, in output order.
FIELDS: tuple[tuple[str, str], ...] = tuple(
    (name, _kind(TaskRead.model_fields[name].annotation)) for name in PUBLIC_FIELDS
)


class Task(TaskRead, table=True):
    """A stored task. Times are stored in UTC and come back as aware datetimes."""

    __tablename__ = "task"
    # AUTOINCREMENT: SQLite never hands out an id again, even after the highest is deleted.
    __table_args__ = (
        Index("ix_task_done_id", "done", "id"),
        Index("ix_task_uuid", "uuid", unique=True),
        # Partial (see migration 0002): `tasks projects` and `tasks tags` count from them.
        Index("ix_task_project_done", "project", "done", sqlite_where=text("project IS NOT NULL")),
        Index("ix_task_tags_done", "tags", "done", sqlite_where=text("tags != '[]'")),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID_TYPE)
    created_at: datetime = Field(sa_type=StoredTime)
    updated_at: datetime = Field(sa_type=StoredTime)
    completed_at: datetime | None = Field(default=None, sa_type=StoredTime)
    # Added to a v1 table in place, so not NOT NULL in SQLite; always set.
    uuid: str = Field(default_factory=new_uuid, max_length=36, nullable=True)
    tags: list[str] = Field(
        default_factory=list,
        sa_type=TagList,
        nullable=False,
        sa_column_kwargs={"server_default": "[]"},
    )
    # When the task is due, as an instant: what filters and sorting compare. An
    # all-day due is the last microsecond of its local day. Not public: `due` is.
    due_at: datetime | None = Field(default=None, sa_type=StoredTime)
    extra: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=ExtraObject,
        nullable=False,
        sa_column_kwargs={"server_default": "{}"},
    )


@event.listens_for(Task, "load")
def _check_loaded(task: Task, context: Any) -> None:
    """Refuse a stored task taskcli would never have written, before any command
    uses it: a write then changes nothing, and no output shows it."""
    check_stored(public_values(task), _is_time)


def public_values(task: Any) -> tuple[Any, ...]:
    """A task's public fields as a tuple in output order (what a TaskRow holds)."""
    return tuple(getattr(task, name) for name in PUBLIC_FIELDS)


def _is_time(value: Any) -> bool:
    return isinstance(value, datetime)


_ROW_TYPES = {
    "tags": str,
    "int": int,
    "flag": bool,
    "text": str,
    "optional text": str | None,
    "time": str,
    "optional time": str | None,
    "object": str,
}
# A task as listings and bulk adds return it: the public fields in output order,
# with times as RFC 3339 UTC text ('2026-11-26T17:02:27.356578Z'), not datetimes,
# tags as their stored JSON text ('["home", "work"]') and kept fields as theirs ('{}').
# In listings `done` is SQLite's 0 or 1 (equal to False and True): their rows are
# the driver's tuples, made without a Python call per row.
TaskRow = NamedTuple("TaskRow", [(name, _ROW_TYPES[kind]) for name, kind in FIELDS])  # type: ignore[misc]


class TaskAttributes(SQLModel):
    """The attributes a caller may set when adding (and change when editing): a
    parsed due (domain.dates.Due), a priority ('H', 'M', 'L'), tags and a project."""

    due: Due | None = None
    priority: str | None = None
    tags: list[str] = Field(default_factory=list)
    project: str | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return clean_tags(value) if isinstance(value, list | tuple | set) else value

    @field_validator("project", mode="before")
    @classmethod
    def _project(cls, value: Any) -> Any:
        return clean_project(value) if isinstance(value, str) else value

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: Any) -> Any:
        if value is not None and value not in PRIORITIES:
            raise InvalidInput(f"{value!r} is not a priority (H, M or L)")
        return value


class TaskCreate(TaskBase, TaskAttributes):
    """What a caller gives to add a task. The rules run before the limits are
    checked (a title is stripped first), and raise InvalidInput."""

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> Any:
        return clean_title(value) if isinstance(value, str) else value

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> Any:
        return clean_description(value) if isinstance(value, str) or value is None else value


class TaskUpdate(TaskBase, TaskAttributes):
    """A partial update: only the fields that were set change (an empty description
    clears it; None clears due, priority and project). `tags` adds tags and `untag`
    removes them (adding one a task has, or removing one it lacks, changes nothing)."""

    title: str | None = None  # type: ignore[assignment]
    done: bool | None = None
    untag: list[str] = Field(default_factory=list)

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> Any:
        if value is None:
            raise InvalidInput("title must not be empty")
        return clean_title(value) if isinstance(value, str) else value

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> Any:
        return clean_description(value) if isinstance(value, str) or value is None else value

    @field_validator("untag", mode="before")
    @classmethod
    def _untag(cls, value: Any) -> Any:
        return clean_tags(value) if isinstance(value, list | tuple | set) else value
