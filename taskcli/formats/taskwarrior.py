"""Taskwarrior's JSON: what `task export` writes (2.6 and 3.x) and `task import` reads.

The input is a JSON array (usually "[", one object per line, "]") or one object per
line; times are `20261201T160000Z` (the extended form 2026-12-01T16:00:00Z is
accepted too). The mapping:

  description   -> title (see "long descriptions" below)
  status        pending / waiting -> not done; completed -> done, `end` -> completed_at;
                deleted -> Skip("deleted"); recurring (a template) -> Skip("recurring
                template"). A template's instances (with `parent`, `imask`) are ordinary
                pending tasks and keep those fields.
  entry, modified, due   -> created_at, updated_at, an exact due
  priority, project, tags, uuid   -> the same fields
  id, urgency   dropped (Taskwarrior computes them)
  anything else (annotations, depends, wait, scheduled, until, start, recur, parent,
  imask, mask, rtype, user-defined attributes, fields we do not know) -> kept as its
  JSON value in extra["taskwarrior"], and written back by `write`.

Three keys of extra["taskwarrior"] are not Taskwarrior fields but notes for
`write`; they are names of core fields, which the reader never keeps, so they
cannot collide with a user-defined attribute:

  "description": true   Long descriptions. A description that is not a valid title
                (over 500 characters, several lines, a control character, blank, or
                surrounding white space) is kept whole in the task's description,
                and the title is its first line cut at a word boundary, ending with
                "…". `write` then writes the description back as Taskwarrior's
                description, provided the title is still that abbreviation (if the
                title was edited in taskcli, the title wins and the description is
                written as an annotation, as for any task).
  "status": "waiting"   A task whose status was "waiting" (2.5 and older store it; 2.6
                derives it from `wait`) is written back as waiting unless it is done.
  "tags": [...]         The tags in the file's order when it was not sorted (taskcli
                keeps tags sorted), written back in that order while the set is the same.

taskcli's description (of a task with no long-description note) has no field in
Taskwarrior: it is written as the first annotation, dated the task's creation
time. Reading does the reverse: an annotation dated exactly the task's `entry`,
first in the list, becomes the description (when it is a valid description). So a
task with a description survives taskcli -> Taskwarrior -> taskcli, and a
Taskwarrior task annotated in the second it was made survives Taskwarrior ->
taskcli -> Taskwarrior (the annotation comes back with the same time and text).

An all-day due (2026-12-01) is exported as the end of that day in the user's zone
(23:59:59 local, in UTC): Taskwarrior has no all-day dates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

from taskcli.domain.validation import DESCRIPTION_MAX, STORED_TIME, TITLE_MAX, clean_title
from taskcli.errors import InvalidInput
from taskcli.formats.ours import batches, json_items
from taskcli.formats.record import BadRecord, Lines, Record, Skip

__all__ = ["abbreviate", "read", "write"]

UTC = timezone.utc

# 20261201T160000Z, or 2026-12-01T16:00:00Z; then read by fromisoformat (fast, in C).
_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_STATUSES = ("pending", "waiting", "completed", "deleted", "recurring")
# Fields the reader maps to taskcli's own, or drops; everything else is kept.
_MAPPED = frozenset(
    [
        "description",
        "status",
        "entry",
        "modified",
        "end",
        "due",
        "priority",
        "project",
        "tags",
        "uuid",
        "id",
        "urgency",
    ]
)
# Line breaks as the title rule knows them.
_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DESCRIPTION_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_ELLIPSIS = "…"


# --- titles of long descriptions ---------------------------------------------------


def _is_title(text: str) -> bool:
    """Whether taskcli would keep `text` as a title exactly as it is."""
    try:
        return clean_title(text) == text
    except InvalidInput:
        return False


def abbreviate(text: str) -> str:
    """The title of a description that is not a valid title: its first line with
    content, control characters made spaces, cut at a word boundary to at most 500
    characters with the "…" that ends it."""
    lines = (line.strip() for line in _LINE_BREAK.split(text))
    first = next((line for line in lines if line), "")
    first = " ".join(_CONTROL.sub(" ", first).split())
    room = TITLE_MAX - len(_ELLIPSIS)
    if len(first) > room:
        cut = first[: room + 1].rfind(" ")
        first = first[:cut] if cut > 0 else first[:room]
    return first.rstrip() + _ELLIPSIS


# --- reading ---------------------------------------------------------------------


# Taskwarrior dates already read, and their stored form.
_TIMES: dict[str, str] = {}


def _time(value: Any, where: str, name: str) -> datetime | str | None:
    """A Taskwarrior date: nearly always 20261201T160000Z, given to the checks as
    the stored form's text (no datetime per value: a 100,000-task file has
    300,000 of them); any other form as an aware datetime."""
    if value is None:
        return None
    known = _TIMES.get(value)  # a file's times repeat (tasks made or changed together)
    if known is not None:
        return known
    if type(value) is str and len(value) == 16 and value[8] == "T" and value[15] == "Z":
        text = (
            f"{value[0:4]}-{value[4:6]}-{value[6:8]} "
            f"{value[9:11]}:{value[11:13]}:{value[13:15]}.000000"
        )
        if STORED_TIME.fullmatch(text):
            if len(_TIMES) > 10_000:
                _TIMES.clear()
            _TIMES[value] = text
            return text
    if not isinstance(value, str):
        raise BadRecord(where, name, "expected a date as text such as 20261201T160000Z")
    if _DATE.fullmatch(value) is None:
        raise BadRecord(where, name, f"{value!r} is not a Taskwarrior date (20261201T160000Z)")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise BadRecord(where, name, f"{value!r} is not a real date and time") from None


def _text(item: dict[str, Any], name: str, where: str) -> str | None:
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRecord(where, name, "expected text")
    return value


def _is_description(text: Any) -> bool:
    return (
        isinstance(text, str)
        and 0 < len(text) <= DESCRIPTION_MAX
        and _DESCRIPTION_CONTROL.search(text) is None
    )


def _record(where: str, item: Any) -> Record | Skip:
    if not isinstance(item, dict):
        raise BadRecord(where, None, "expected a JSON object (a Taskwarrior task)")
    status = item.get("status", "pending")
    if status not in _STATUSES:
        raise BadRecord(where, "status", f"{status!r} is not one of " + ", ".join(_STATUSES))
    if status == "deleted":
        return Skip(where, "deleted")
    if status == "recurring":
        return Skip(where, "recurring template")
    if "description" not in item:
        raise BadRecord(where, "description", "missing")
    text = _text(item, "description", where)
    assert text is not None
    tags = item.get("tags", [])
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise BadRecord(where, "tags", "expected an array of texts")
    uuid, priority, project = item.get("uuid"), item.get("priority"), item.get("project")
    if uuid.__class__ is not str or priority.__class__ is not str or project.__class__ is not str:
        for name, value in (("uuid", uuid), ("priority", priority), ("project", project)):
            if value is not None and not isinstance(value, str):
                raise BadRecord(where, name, "expected text")
    created = _time(item.get("entry"), where, "entry")
    updated = _time(item.get("modified"), where, "modified")
    due_at = _time(item.get("due"), where, "due")
    done = status == "completed"
    completed = _time(item.get("end"), where, "end") if done else None

    kept = {name: value for name, value in item.items() if name not in _MAPPED}
    if "end" in item and not done:
        kept["end"] = item["end"]
    modified, entry = item.get("modified"), item.get("entry")
    same_form = isinstance(modified, str) and isinstance(entry, str)
    if same_form and len(modified) == len(entry) and modified < entry:
        # taskcli never has a task changed before it was made (it takes the entry
        # as its update time): the file's own stays, for export.
        kept["modified"] = modified
    if status == "waiting":
        kept["status"] = "waiting"
    if len(tags) > 1 and tags != sorted(tags):
        kept["tags"] = tags

    description = None
    if _is_title(text):
        title = text
        annotations = kept.get("annotations")
        if (
            isinstance(annotations, list)
            and annotations
            and isinstance(annotations[0], dict)
            and annotations[0].keys() == {"entry", "description"}
            and annotations[0]["entry"] == item.get("entry")
            and _is_description(annotations[0]["description"])
        ):
            description = annotations[0]["description"]
            if len(annotations) > 1:
                kept["annotations"] = annotations[1:]
            else:
                del kept["annotations"]
    else:
        title, description = abbreviate(text), text
        kept["description"] = True

    return Record(
        where=where,
        title=title,
        description=description,
        done=done,
        created_at=created,
        updated_at=updated,
        completed_at=completed,
        uuid=uuid,
        due=None if due_at is None else _public_due(due_at),
        priority=priority,
        tags=tags,
        project=project,
        extra={"taskwarrior": kept} if kept else {},
        # Only a task without a uuid needs one derived from its content.
        identity="" if uuid else json.dumps(item, ensure_ascii=False, sort_keys=True),
    )


def _public_due(moment: datetime | str) -> str:
    """An exact due in taskcli's public form, 2026-12-01T16:00:00Z."""
    if isinstance(moment, str):  # the stored form, '2026-12-01 16:00:00.000000'
        return f"{moment[:10]}T{moment[11:19]}Z"
    return f"{moment.isoformat()[:19]}Z"


def read(lines: Lines, zone: tzinfo) -> Iterator[Record | Skip]:
    """The tasks of `task export` output (see the module's docstring for the mapping)."""
    for where, item in json_items(lines):
        yield _record(where, item)


# --- writing ---------------------------------------------------------------------


_DASHES_AND_COLONS = str.maketrans("", "", "-:")


def _compact(stamp: str) -> str:
    """'2026-11-26T17:02:27.356578Z' (UTC, as listings give it) as 20261126T170227Z."""
    return stamp[:19].translate(_DASHES_AND_COLONS) + "Z"


# json.dumps(value, ensure_ascii=False, separators=(",", ":")) with one encoder, and
# a string's JSON form (the C encoder json uses, which keeps non-ASCII as it is).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_string = encode_basestring


@lru_cache(maxsize=4096)
def _end_of_day(day: str, zone: tzinfo) -> str:
    """An all-day due as Taskwarrior's instant: 23:59:59 of that day in `zone`."""
    moment = datetime.combine(date.fromisoformat(day), time(23, 59, 59), zone)
    try:
        # If that wall time is skipped by the clocks, take the last second that exists.
        utc = moment.astimezone(UTC)
        if utc.astimezone(zone).date() != moment.date():
            utc = datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(0), zone)
            utc = utc.astimezone(UTC) - timedelta(seconds=1)
    except OverflowError:
        # At the ends of the calendar (9999-12-31 west of UTC): that day's end in UTC.
        utc = moment.replace(tzinfo=UTC)
    # Not strftime: its %Y writes the year 1 as '1'.
    return _compact(utc.replace(tzinfo=None).isoformat(timespec="seconds"))


@lru_cache(maxsize=4096)
def _tags(text: str) -> list[str]:
    """A row's tags (JSON text) as a list; the same few sets recur across rows."""
    return json.loads(text)


def _task(row: Any, zone: tzinfo) -> dict[str, Any]:
    extra = json.loads(row.extra) if row.extra and row.extra != "{}" else {}
    kept = extra.get("taskwarrior")
    kept = dict(kept) if isinstance(kept, dict) else {}
    long_description = kept.pop("description", None) is True
    waiting = kept.pop("status", None) == "waiting"
    file_tags = kept.pop("tags", None)
    entry = _compact(row.created_at)

    task: dict[str, Any] = {"uuid": row.uuid}
    description = row.description
    if long_description and description is not None and row.title == abbreviate(description):
        task["description"] = description
    else:
        task["description"] = row.title
        if description is not None:
            annotations = kept.get("annotations")
            own = {"entry": entry, "description": description}
            kept["annotations"] = [own, *(annotations if isinstance(annotations, list) else [])]
    if row.done:
        task["status"] = "completed"
    else:
        task["status"] = "waiting" if waiting else "pending"
    task["entry"] = entry
    task["modified"] = _compact(row.updated_at)
    earlier = kept.pop("modified", None)
    if isinstance(earlier, str) and row.updated_at == row.created_at:  # unchanged since
        task["modified"] = earlier
    if row.done:
        task["end"] = _compact(row.completed_at or row.updated_at)
    if row.due is not None:
        task["due"] = _compact(row.due) if len(row.due) > 10 else _end_of_day(row.due, zone)
    if row.priority is not None:
        task["priority"] = row.priority
    if row.project is not None:
        task["project"] = row.project
    tags = _tags(row.tags) if row.tags and row.tags != "[]" else []
    if tags:
        same = isinstance(file_tags, list) and sorted(file_tags) == tags
        task["tags"] = file_tags if same else tags
    for name, value in kept.items():
        if name not in task:
            task[name] = value
    return task


def _line(row: Any, zone: tzinfo) -> str:
    """One task's line: json.dumps(_task(row)) compactly, without ASCII escapes."""
    if row.description is None and (not row.extra or row.extra == "{}"):
        return _plain_line(row, zone)
    return _ENCODE(_task(row, zone))


def _plain_line(row: Any, zone: tzinfo) -> str:
    """The line of a task with no description and no kept fields (most tasks),
    written directly: the same text as _ENCODE(_task(row)), at a third of the cost."""
    line = f'{{"uuid":"{row.uuid}","description":{_string(row.title)}'
    modified = _compact(row.updated_at)
    if row.done:
        end = _compact(row.completed_at or row.updated_at)
        line += (
            f',"status":"completed","entry":"{_compact(row.created_at)}",'
            f'"modified":"{modified}","end":"{end}"'
        )
    else:
        line += f',"status":"pending","entry":"{_compact(row.created_at)}","modified":"{modified}"'
    due = row.due
    if due is not None:
        line += f',"due":"{_compact(due) if len(due) > 10 else _end_of_day(due, zone)}"'
    if row.priority is not None:
        line += f',"priority":"{row.priority}"'
    if row.project is not None:
        line += f',"project":{_string(row.project)}'
    if row.tags and row.tags != "[]":
        line += f',"tags":{_compact_tags(row.tags)}'
    return line + "}"


@lru_cache(maxsize=4096)
def _compact_tags(text: str) -> str:
    return _ENCODE(json.loads(text))


def write(rows: Iterable[Any], zone: tzinfo) -> Iterator[str]:
    """What `task import` reads: a JSON array, one task per line as `task export`
    writes it, with every kept Taskwarrior field written back."""
    first = True
    for batch in batches(rows):
        yield ("[\n" if first else ",\n") + ",\n".join([_line(row, zone) for row in batch])
        first = False
    yield "[\n]\n" if first else "\n]\n"
