"""taskcli's rules applied to what a reader gave: each Record becomes the values
the import stores, or BadRecord names the record and the field it refuses.

The rules are the ones `tasks add` and `tasks edit` apply (domain.validation),
plus what a whole file must satisfy: a uuid at most once, an id at most once.
"""

from __future__ import annotations

import uuid as uuids
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple

from taskcli.domain.dates import due_from_public
from taskcli.domain.validation import (
    EXTRA_MAX,
    PRIORITIES,
    UUID_TEXT,
    clean_description,
    clean_project,
    clean_tags,
    clean_title,
    extra_text,
    tags_text,
)
from taskcli.errors import InvalidInput
from taskcli.formats.record import BadRecord, Record, Skip

# The namespace of uuids derived from a record's content (records without a uuid:
# todo.txt lines, hand-made CSV rows): the same line gives the same uuid.
_DERIVED = uuids.UUID("8f4d3b52-31c7-4a8e-9a59-0d6c1f7e2b10")


class Checked(NamedTuple):
    """A record as the import stores it: times as the store keeps them (UTC text,
    'YYYY-MM-DD HH:MM:SS.ffffff'), tags and kept fields as their JSON text."""

    where: str
    uuid: str
    title: str
    description: str | None
    done: bool
    created_at: str
    updated_at: str
    completed_at: str | None
    due: str | None
    due_at: str | None
    priority: str | None
    tags: str
    project: str | None
    extra: str
    id: int | None
    # Whether the file gave a modification time (else the record never updates a task).
    dated: bool


def stored_time(moment: datetime) -> str:
    """An aware time as the store keeps it: UTC, microseconds, a space before the clock."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def check_all(
    entries: Iterable[Record | Skip],
    source: str,
    now: datetime,
    zone: tzinfo,
    keep_ids: bool = False,
) -> Iterator[Checked | Skip]:
    """Every entry checked, in order; BadRecord at the first one refused. `source`
    (the format's name) is part of every derived uuid."""
    seen_uuids: dict[str, str] = {}
    seen_ids: dict[int, str] = {}
    occurrences: dict[str, int] = {}
    stamp = stored_time(now)
    for entry in entries:
        if isinstance(entry, Skip):
            yield entry
            continue
        if entry.uuid is None:
            count = occurrences.get(entry.identity, 0)
            occurrences[entry.identity] = count + 1
            made = str(uuids.uuid5(_DERIVED, f"{source}\n{count}\n{entry.identity}"))
            checked = check(entry, stamp, zone, keep_ids, made)
        else:
            checked = check(entry, stamp, zone, keep_ids)
        earlier = seen_uuids.setdefault(checked.uuid, entry.where)
        if earlier is not entry.where:
            raise BadRecord(entry.where, "uuid", f"{checked.uuid} is also the uuid of {earlier}")
        if checked.id is not None:
            earlier = seen_ids.setdefault(checked.id, entry.where)
            if earlier is not entry.where:
                raise BadRecord(entry.where, "id", f"{checked.id} is also the id of {earlier}")
        yield checked


def check(
    record: Record, now: str, zone: tzinfo, keep_ids: bool, derived_uuid: str | None = None
) -> Checked:
    """One record under taskcli's rules (`now`: the import's time, stored form)."""
    where = record.where
    field = "title"
    try:
        title = _text(record.title, field, clean_title)
        field = "description"
        description = (
            None
            if record.description is None
            else _text(record.description, field, clean_description)
        )
        field = "done"
        if not isinstance(record.done, bool):
            raise InvalidInput("must be true or false")
        done = record.done
        field = "uuid"
        if derived_uuid is not None:
            uuid = derived_uuid
        elif isinstance(record.uuid, str) and UUID_TEXT.fullmatch(record.uuid.lower()):
            uuid = record.uuid.lower()
        else:
            raise InvalidInput(f"{record.uuid!r} is not a uuid")
        field = "created_at"
        created = _time(record.created_at) or now
        field = "updated_at"
        updated = _time(record.updated_at)
        dated = updated is not None
        # Never earlier than the task was made (the store's invariant).
        updated = max(updated or created, created)
        field = "completed_at"
        completed = _time(record.completed_at) if done else None
        if done and completed is None:
            completed = updated
        field = "due"
        due = due_at = None
        if record.due is not None:
            if not isinstance(record.due, str):
                raise InvalidInput("must be a date (2026-12-01) or a time (2026-12-01T16:00:00Z)")
            parsed = due_from_public(record.due, zone)
            due, due_at = parsed.public, stored_time(parsed.at)
        field = "priority"
        if record.priority is not None and record.priority not in PRIORITIES:
            raise InvalidInput(f"{record.priority!r} is not a priority (H, M or L)")
        field = "tags"
        if not isinstance(record.tags, list | tuple) or not all(
            isinstance(tag, str) for tag in record.tags
        ):
            raise InvalidInput("must be a list of tags")
        tags = tags_text(clean_tags(record.tags))
        field = "project"
        project = None if record.project is None else _text(record.project, field, clean_project)
        field = "extra"
        extra = _extra(record.extra)
        field = "id"
        task_id = None
        if keep_ids:
            if type(record.id) is not int or not 0 < record.id < 2**63:
                raise InvalidInput(
                    "--keep-ids needs every record's id (a whole number from 1)"
                    if record.id is None
                    else f"{record.id!r} is not an id"
                )
            task_id = record.id
    except InvalidInput as error:
        if isinstance(error, BadRecord):
            raise
        raise BadRecord(where, field, str(error)) from None
    return Checked(
        where, uuid, title, description, done, created, updated, completed, due, due_at,
        record.priority, tags, project, extra, task_id, dated,
    )  # fmt: skip


def _text(value: Any, field: str, clean: Any) -> Any:
    if not isinstance(value, str):
        raise InvalidInput(f"must be text, not {type(value).__name__}")
    return clean(value)


def _time(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("must be a time with its time zone")
    try:
        return stored_time(value)
    except (OverflowError, ValueError):
        raise InvalidInput("is out of range (years 1 to 9999 in UTC)") from None


def _extra(value: Any) -> str:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise InvalidInput("must be a JSON object")
    try:
        text = extra_text(value)
        text.encode("utf-8")
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"cannot be stored as JSON ({error})") from None
    if len(text) > EXTRA_MAX:
        raise InvalidInput(f"is longer than {EXTRA_MAX} characters as JSON")
    return text
