"""`tasks import`: records already checked (formats.checks) put into the store in
one transaction, matched to the tasks they describe by uuid.

A record whose uuid is new adds a task; one whose uuid exists replaces that task's
fields only when the file says it was modified later than the task was (else it is
unchanged), so importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from taskcli.domain.models import Task
from taskcli.errors import InvalidInput
from taskcli.formats.checks import Checked
from taskcli.store import Store
from taskcli.store.sql import stored_time_text

_TABLE = Task.__table__
# The columns an import sets, in the order of Checked's fields (after `where`,
# `uuid`); an added task gets its uuid too, a restored one its id.
_FIRST, _LAST = Checked._fields.index("title"), Checked._fields.index("extra") + 1
_SET = Checked._fields[_FIRST:_LAST]
ADDED_COLUMNS = ("uuid", *_SET)
_UUID_CHUNK = 500
_BATCH = 2000


@dataclass
class ImportSummary:
    """What an import did (or, with --dry-run, would do): a public contract as JSON."""

    format: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": dict(sorted(self.skipped.items())),
        }


@dataclass
class Plan:
    """Which records add a task, and which replace which task (id, record)."""

    added: list[Checked]
    updated: list[tuple[int, Checked]]
    unchanged: int


def plan(store: Store, session: Session | None, records: Sequence[Checked], keep_ids: bool) -> Plan:
    """Match records to the store's tasks by uuid (no session: an empty store)."""
    if session is None:
        return Plan(list(records), [], 0)
    if keep_ids:
        if store.ever_held_tasks(session):
            raise InvalidInput(
                "--keep-ids restores a backup into a new store only, and this one has held "
                "tasks (its ids could be reused): use --db with a new file"
            )
        return Plan(list(records), [], 0)
    added: list[Checked] = []
    updated: list[tuple[int, Checked]] = []
    unchanged = 0
    # A block of records at a time: the tasks found are never all in memory at once.
    for start in range(0, len(records), _UUID_CHUNK):
        chunk = records[start : start + _UUID_CHUNK]
        statement = select(Task.uuid, Task.id, stored_time_text(Task.updated_at)).where(
            Task.uuid.in_([record.uuid for record in chunk])
        )
        existing = {
            uuid: (task_id, str(updated_at).replace("T", " "))
            for uuid, task_id, updated_at in session.execute(statement)
        }
        for record in chunk:
            found = existing.get(record.uuid)
            if found is None:
                added.append(record)
            elif record.dated and record.updated_at > found[1]:
                updated.append((found[0], record))
            else:
                unchanged += 1
    return Plan(added, updated, unchanged)


def added_rows(
    records: Sequence[Checked], keep_ids: bool, progress: Callable[[int, int | None], None]
) -> Any:
    """The rows that add tasks, in ADDED_COLUMNS order (plus the id to restore)."""
    total = len(records)
    for done, record in enumerate(records):
        if done % _BATCH == 0:
            progress(done, total)
        values = (record.uuid, *record[_FIRST:_LAST])
        yield (*values, record.id) if keep_ids else values


def updated_rows(updates: Sequence[tuple[int, Checked]]) -> Any:
    """The rows that replace tasks: _SET's values, then the id."""
    return ((*record[_FIRST:_LAST], task_id) for task_id, record in updates)


SET_COLUMNS = _SET
