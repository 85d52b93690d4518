"""What every reader gives: one Record per task of the file, a Skip for an entry
that is deliberately not imported, and BadRecord for an entry that cannot be.

A Record holds the file's values in taskcli's terms but unchecked: taskcli's rules
(title, tags, project, dates in range, ...) are applied after reading, by
`formats.checks`, which names the record and the field of any value it refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from taskcli.errors import InvalidInput

# The formats `tasks import` and `tasks export` know, by their --format name.
FORMATS = ("json", "ndjson", "csv", "todotxt", "taskwarrior")

# A file's lines as (line number from 1, text without its line ending).
Lines = Iterator[tuple[int, str]]


@dataclass(slots=True)
class Record:
    """One task as a file describes it.

    `where` names it in messages: "line 12", or "record 3 (line 12)" for the
    fourth element of a JSON array (index 3). Times are aware datetimes; None
    where the file has none (the import's time is used); a reader may instead
    give a time as text already in the stored form, UTC 'YYYY-MM-DD
    HH:MM:SS.ffffff' (`formats.checks.stored_time`), much cheaper for 100,000
    records. `due` is taskcli's public form ('2026-12-01' all day,
    '2026-12-01T16:00:00Z' exact). `extra` holds what the file says that taskcli
    has no field for, by tool ({"taskwarrior": {...}} or {"todotxt": {...}}),
    kept so that export can write it back. `uuid` None: the importer derives one
    from `identity` (the record's content), so that importing the same file twice
    adds nothing the second time.
    """

    where: str
    title: Any
    description: Any = None
    done: Any = False
    created_at: datetime | str | None = None
    updated_at: datetime | str | None = None
    completed_at: datetime | str | None = None
    uuid: Any = None
    due: Any = None
    priority: Any = None
    tags: Any = field(default_factory=list)
    project: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    id: Any = None  # only from taskcli's own JSON (for --keep-ids)
    identity: str = ""  # the content a uuid is derived from when the file has none


@dataclass(frozen=True, slots=True)
class Skip:
    """An entry deliberately not imported (counted in the summary by reason)."""

    where: str
    reason: str  # e.g. "deleted", "recurring template"


class BadRecord(InvalidInput):
    """An entry that cannot be imported: nothing is. Exit 2."""

    def __init__(self, where: str, field_name: str | None, problem: str) -> None:
        self.where, self.field_name, self.problem = where, field_name, problem
        about = f"{where}, field {field_name!r}" if field_name else where
        super().__init__(f"{about}: {problem}")
