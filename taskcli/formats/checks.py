"""taskcli's rules applied to what a reader gave: each Record becomes the values
the import stores, or BadRecord names the record and the field it refuses.

The rules are the ones `tasks add` and `tasks edit` apply (domain.validation),
plus what a whole file must satisfy: a uuid at most once, an id at most once.
"""

from __future__ import annotations

import hashlib
import uuid as uuids
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple

from taskcli.domain.dates import due_from_public
from taskcli.domain.validation import (
    EXTRA_DEPTH,
    EXTRA_MAX,
    PRIORITIES,
    STORED_TIME,
    UUID_TEXT,
    clean_description,
    clean_project,
    clean_tags,
    clean_title,
    extra_text,
    json_depth,
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
    checker = Checker(stored_time(now), zone, keep_ids)
    for entry in entries:
        if isinstance(entry, Skip):
            yield entry
            continue
        if entry.uuid is None:
            count = occurrences.get(entry.identity, 0)
            occurrences[entry.identity] = count + 1
            checked = checker.check(entry, _derived_uuid(f"{source}\n{count}\n{entry.identity}"))
        else:
            checked = checker.check(entry)
        earlier = seen_uuids.setdefault(checked.uuid, entry.where)
        if earlier is not entry.where:
            raise BadRecord(entry.where, "uuid", f"{checked.uuid} is also the uuid of {earlier}")
        if checked.id is not None:
            earlier = seen_ids.setdefault(checked.id, entry.where)
            if earlier is not entry.where:
                raise BadRecord(entry.where, "id", f"{checked.id} is also the id of {earlier}")
        yield checked


def _derived_uuid(name: str) -> str:
    """uuid5(_DERIVED, name), for any text: the record is checked after this, so
    its text may still hold what UTF-8 cannot (a lone surrogate from a JSON escape),
    which uuid5 itself would fail on."""
    digest = hashlib.sha1(_DERIVED.bytes + name.encode("utf-8", "surrogatepass")).digest()
    return str(uuids.UUID(bytes=digest[:16], version=5))


class Checker:
    """Checks records one by one. Values that repeat across a file (dues, tags,
    projects) are checked once each: a 100,000-task file has few distinct ones."""

    def __init__(self, now: str, zone: tzinfo, keep_ids: bool) -> None:
        self.now, self.zone, self.keep_ids = now, zone, keep_ids
        self._dues: dict[str, tuple[str, str]] = {}
        self._tags: dict[tuple[str, ...], str] = {(): "[]"}
        self._projects: dict[str, str] = {}

    def check(self, record: Record, derived_uuid: str | None = None) -> Checked:
        """One record under taskcli's rules."""
        field = "title"
        try:
            title = _text(record.title, clean_title)
            field = "description"
            description = record.description
            if description is not None:
                description = _text(description, clean_description)
            field = "done"
            done = record.done
            if done is not True and done is not False:
                raise InvalidInput("must be true or false")
            field = "uuid"
            uuid = derived_uuid or _uuid(record.uuid)
            field = "created_at"
            created = _time(record.created_at) or self.now
            field = "updated_at"
            updated = _time(record.updated_at)
            dated = updated is not None
            # Never earlier than the task was made (the store's invariant).
            updated = created if updated is None or updated < created else updated
            field = "completed_at"
            completed = None
            if done:
                completed = _time(record.completed_at) or updated
            field = "due"
            due = due_at = None
            if record.due is not None:
                due, due_at = self._due(record.due)
            field = "priority"
            if record.priority is not None and record.priority not in PRIORITIES:
                raise InvalidInput(f"{record.priority!r} is not a priority (H, M or L)")
            field = "tags"
            tags = self._tag_set(record.tags)
            field = "project"
            project = record.project
            if project is not None:
                project = self._project(project)
            field = "extra"
            extra = _extra(record.extra) if record.extra else "{}"
            field = "id"
            task_id = _id(record.id) if self.keep_ids else None
        except InvalidInput as error:
            if isinstance(error, BadRecord):
                raise
            raise BadRecord(record.where, field, str(error)) from None
        return Checked(
            record.where, uuid, title, description, done, created, updated, completed, due,
            due_at, record.priority, tags, project, extra, task_id, dated,
        )  # fmt: skip

    def _due(self, value: Any) -> tuple[str, str]:
        if not isinstance(value, str):
            raise InvalidInput("must be a date (2026-12-01) or a time (2026-12-01T16:00:00Z)")
        known = self._dues.get(value)
        if known is None:
            parsed = due_from_public(value, self.zone)
            known = self._dues[value] = (parsed.public, stored_time(parsed.at))
        return known

    def _tag_set(self, value: Any) -> str:
        if not isinstance(value, list | tuple):
            raise InvalidInput("must be a list of tags")
        key = tuple(value)
        known = self._tags.get(key)
        if known is None:
            if not all(isinstance(tag, str) for tag in key):
                raise InvalidInput("must be a list of tags")
            known = self._tags[key] = tags_text(clean_tags(key))
        return known

    def _project(self, value: Any) -> str:
        known = self._projects.get(value) if isinstance(value, str) else None
        if known is None:
            known = self._projects[value] = _text(value, clean_project)
        return known


def _uuid(value: Any) -> str:
    if isinstance(value, str):
        if UUID_TEXT.fullmatch(value):
            return value
        if UUID_TEXT.fullmatch(value.lower()):
            return value.lower()
    raise InvalidInput(f"{value!r} is not a uuid")


# The largest id a restore takes: room is left above it for the ids of new tasks
# (SQLite's largest is 2**63 - 1), and JSON readers keep it exact (2**53).
ID_MAX = 2**53


def _id(value: Any) -> int:
    if value is None:
        raise InvalidInput("--keep-ids needs every record's id (a whole number from 1)")
    if type(value) is not int or not 0 < value <= ID_MAX:
        raise InvalidInput(f"{value!r} is not an id (a whole number from 1 to {ID_MAX})")
    return value


def _text(value: Any, clean: Any) -> Any:
    if not isinstance(value, str):
        raise InvalidInput(f"must be text, not {type(value).__name__}")
    return clean(value)


# Times in the stored form already checked.
_CHECKED_TIMES: set[str] = set()


def _time(value: Any) -> str | None:
    """A time as stored: from an aware datetime, or text a reader already put in the
    stored form (UTC 'YYYY-MM-DD HH:MM:SS.ffffff'), which is checked (real dates only)."""
    if value is None:
        return None
    if isinstance(value, str):
        if value in _CHECKED_TIMES:  # a file's times repeat
            return value
        if STORED_TIME.fullmatch(value) and value[10] == " ":
            if len(_CHECKED_TIMES) > 10_000:
                _CHECKED_TIMES.clear()
            _CHECKED_TIMES.add(value)
            return value
        raise InvalidInput(f"{value!r} is not a time")
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("must be a time with its time zone")
    try:
        return stored_time(value)
    except (OverflowError, ValueError):
        raise InvalidInput("is out of range (years 1 to 9999 in UTC)") from None


def _extra(value: Any) -> str:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise InvalidInput("must be a JSON object")
    if json_depth(value) > EXTRA_DEPTH:
        raise InvalidInput(f"is nested more than {EXTRA_DEPTH} levels deep")
    try:
        text = extra_text(value)
        text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as error:
        raise InvalidInput(f"cannot be stored as JSON ({error})") from None
    if len(text) > EXTRA_MAX:
        raise InvalidInput(f"is longer than {EXTRA_MAX} characters as JSON")
    return text
