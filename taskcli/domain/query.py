"""What a listing asks for: which tasks, in which order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from taskcli.errors import InvalidInput


class Status(str, Enum):
    """Which tasks a listing includes."""

    PENDING = "pending"
    DONE = "done"
    ALL = "all"


# The keys `--sort` takes. Each sorts in its natural order (ids, times and dues
# oldest or soonest first, titles and projects alphabetically, priority H, M, L);
# '-key' reverses it. Tasks without the value come last either way; ties by id.
SORT_KEYS = ("id", "created", "updated", "due", "priority", "title", "project")


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool = False


def parse_sort(text: str) -> tuple[SortKey, ...]:
    """'due,-priority' as sort keys; InvalidInput names an unknown or repeated key."""
    keys: list[SortKey] = []
    for part in text.split(","):
        word = part.strip().lower()
        descending = word.startswith("-")
        name = word[1:] if descending else word
        if name not in SORT_KEYS:
            raise InvalidInput(
                f"{part.strip()!r} is not a sort key (use {', '.join(SORT_KEYS)}; "
                "'-key' for descending, e.g. due,-priority)"
            )
        if any(key.name == name for key in keys):
            raise InvalidInput(f"sort key {name!r} is given twice")
        keys.append(SortKey(name, descending))
    return tuple(keys)


# Filter value meaning "tasks without a priority".
NO_PRIORITY = "none"


@dataclass(frozen=True)
class TaskQuery:
    """A listing's filters (all must hold) and order. Times are aware datetimes;
    `due_before`/`due_after` are exclusive bounds on when a task is due."""

    status: Status = Status.PENDING
    tags: tuple[str, ...] = ()
    without_tags: tuple[str, ...] = ()
    project: str | None = None
    priority: str | None = None  # 'H', 'M', 'L', NO_PRIORITY, or None for any
    overdue: bool = False
    due_before: datetime | None = None
    due_after: datetime | None = None
    no_due: bool = False
    search: str | None = None
    # Only ids whose digits start with these (shell completion of an id).
    id_prefix: str | None = None
    sort: tuple[SortKey, ...] = field(default=())
    limit: int | None = None
    offset: int = 0
