"""taskcli's own JSON: what `tasks list --all --json` prints (an array) and NDJSON
(one object per line), read back for `tasks import` and written for `tasks export`.

Both are read by one streaming parser (`json_items`, which the Taskwarrior reader
shares): an array is taken apart element by element with JSONDecoder.raw_decode,
so a 100,000-object array on one line is never turned into one list of dicts, and
an element may span lines (`jq .` output). The reader is strict, because this is
our own format: every field must have the type `--json` gives it, and an unknown
field is refused (a typo such as "tilte" must not be dropped silently). `extra` may
be absent (files written before it existed): it is then {}.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone, tzinfo
from itertools import islice
from typing import Any

from taskcli.domain.models import PUBLIC_FIELDS
from taskcli.domain.validation import LISTED_TIME
from taskcli.formats.record import BadRecord, Lines, Record

__all__ = ["FIELDS", "batches", "json_items", "parse_time", "read"]

UTC = timezone.utc

# The fields of a task in `--json` order.
FIELDS = PUBLIC_FIELDS
_TEXT_FIELDS = ("description", "uuid", "due", "priority", "project")
_TIME_FIELDS = ("created_at", "updated_at", "completed_at")

_decoder = json.JSONDecoder()
# The longest JSON value (one task) read, over however many lines it spans.
VALUE_MAX = 32 * 2**20
_WHITESPACE = " \t\n\r"


# --- reading JSON values from lines ---------------------------------------------


def json_items(lines: Lines) -> Iterator[tuple[str, Any]]:
    """(where, value) for each element of a JSON array, or each value of a
    sequence of JSON values (NDJSON, or objects spanning lines).

    `where` is "record N (line L)" for the element of index N of an array, and
    "line L" otherwise, L being the line the value starts on. Malformed JSON raises
    BadRecord naming that place; nothing else escapes.
    """
    reader = _JsonLines(lines)
    if not reader.skip_space():
        return
    if reader.peek() != "[":
        while reader.skip_space():
            line = reader.number
            yield f"line {line}", reader.value(f"line {line}")
        return
    start = reader.number
    reader.pos += 1
    index = 0
    if reader.skip_space() and reader.peek() == "]":
        reader.pos += 1
    else:
        while True:
            if not reader.skip_space():
                raise BadRecord(
                    f"record {index}", None, f"the array begun on line {start} is not closed"
                )
            where = f"record {index} (line {reader.number})"
            yield where, reader.value(where)
            index += 1
            if not reader.skip_space():
                raise BadRecord(where, None, f"the array begun on line {start} is not closed")
            separator = reader.peek()
            reader.pos += 1
            if separator == "]":
                break
            if separator != ",":
                raise BadRecord(where, None, f"expected ',' or ']' after it, found {separator!r}")
    if reader.skip_space():
        raise BadRecord(f"line {reader.number}", None, "text after the end of the JSON array")


class _JsonLines:
    """A cursor over the text of the lines: `buffer[pos:]` is what is left of the
    current line (or of the lines joined to read a value that spans them)."""

    def __init__(self, lines: Lines) -> None:
        self.lines = iter(lines)
        self.buffer = ""
        self.pos = 0
        self.number = 0  # the line `pos` is on
        self.last = 0  # the last line taken into the buffer
        self.shift = 0  # characters of the buffer's first line dropped before it
        self.joined = False  # whether the buffer holds more than one line

    def _next_line(self) -> bool:
        for number, text in self.lines:
            self.buffer, self.pos, self.number, self.last = text, 0, number, number
            self.shift, self.joined = 0, False
            return True
        return False

    def skip_space(self) -> bool:
        """Move to the next character that is not white space; False at the end."""
        while True:
            buffer, pos = self.buffer, self.pos
            while pos < len(buffer) and buffer[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(buffer):
                return True
            if not self._next_line():
                return False
            if self.number == 1 and self.buffer.startswith("\ufeff"):
                self.pos = 1

    def peek(self) -> str:
        return self.buffer[self.pos]

    def value(self, where: str) -> Any:
        """The JSON value that starts here. One that runs past the end of the line
        takes the next lines in; one that fails before the end is malformed."""
        while True:
            try:
                value, end = _decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                if error.pos < len(self.buffer) or not self._join_next_line():
                    problem = f"not valid JSON: {error.msg} ({self._place(error.pos)})"
                    raise BadRecord(where, None, problem) from None
                if len(self.buffer) > VALUE_MAX:
                    raise BadRecord(
                        where, None, f"a JSON value longer than {VALUE_MAX // 2**20} MiB"
                    ) from None
                continue
            except RecursionError:
                raise BadRecord(where, None, "not valid JSON: nested too deeply") from None
            except ValueError as error:  # e.g. a number of more digits than Python reads
                raise BadRecord(where, None, f"not valid JSON: {error}") from None
            self.pos = end
            if self.joined:
                # Where a value spanning lines ended: on one of the lines joined.
                self.number = self.last - self.buffer.count("\n", end)
            return value

    def _join_next_line(self) -> bool:
        """Take in the next lines, at least as much text as the value has so far (so
        a value spanning many lines is parsed again only each time it doubles, not
        once per line); False at the end of the input."""
        rest, first, shift = self.buffer[self.pos :], self.number, self.shift + self.pos
        parts, added = [rest], 0
        while added <= len(rest):
            if not self._next_line():
                if added:
                    break
                return False
            parts.append(self.buffer)
            added += len(self.buffer) + 1
        self.buffer, self.pos, self.number = "\n".join(parts), 0, first
        self.shift, self.joined = shift, True
        return True

    def _place(self, pos: int) -> str:
        """ "line L, column C" of a position in the buffer."""
        breaks = self.buffer.count("\n", 0, pos)
        if breaks == 0:
            return f"line {self.number}, column {self.shift + pos + 1}"
        column = pos - self.buffer.rfind("\n", 0, pos)
        return f"line {self.number + breaks}, column {column}"


# --- reading records --------------------------------------------------------------


def parse_time(value: Any, where: str, name: str) -> datetime | str | None:
    """An RFC 3339 time (with Z or an offset) as an aware UTC datetime; None for null.
    A time exactly as taskcli writes it (UTC, microseconds) is given to the checks
    as the stored form's text instead: no datetime per value."""
    if value is None:
        return None
    if type(value) is str and len(value) == 27 and LISTED_TIME.fullmatch(value):
        return f"{value[:10]} {value[11:26]}"
    if not isinstance(value, str):
        raise BadRecord(where, name, f"expected a time as text or null, found {_kind(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or len(value) < 20 or value[10] not in "Tt" or moment.tzinfo is None:
        raise BadRecord(
            where, name, f"{value!r} is not an RFC 3339 time such as 2026-11-26T17:02:27Z"
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise BadRecord(where, name, f"{value!r} is out of range") from None


def _kind(value: Any) -> str:
    """A JSON value's type in JSON's words, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _record(where: str, item: Any) -> Record:
    if not isinstance(item, dict):
        raise BadRecord(where, None, f"expected a JSON object (a task), found {_kind(item)}")
    unknown = [name for name in item if name not in FIELDS]
    if unknown:
        raise BadRecord(
            where, unknown[0], "not a field of taskcli's JSON (" + ", ".join(FIELDS) + ")"
        )
    if "title" not in item:
        raise BadRecord(where, "title", "missing")
    title = item["title"]
    if not isinstance(title, str):
        raise BadRecord(where, "title", f"expected text, found {_kind(title)}")
    for name in _TEXT_FIELDS:
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            raise BadRecord(where, name, f"expected text or null, found {_kind(value)}")
    task_id = item.get("id")
    if task_id is not None and (type(task_id) is not int):
        raise BadRecord(where, "id", f"expected a whole number or null, found {_kind(task_id)}")
    done = item.get("done", False)
    if not isinstance(done, bool):
        raise BadRecord(where, "done", f"expected true or false, found {_kind(done)}")
    tags = item.get("tags", [])
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise BadRecord(where, "tags", "expected an array of texts")
    extra = item.get("extra")
    if extra is None:
        extra = {}
    if not isinstance(extra, dict):
        raise BadRecord(where, "extra", f"expected an object, found {_kind(extra)}")
    created, updated, completed = (parse_time(item.get(name), where, name) for name in _TIME_FIELDS)
    return Record(
        where=where,
        title=title,
        description=item.get("description"),
        done=done,
        created_at=created,
        updated_at=updated,
        completed_at=completed,
        uuid=item.get("uuid"),
        due=item.get("due"),
        priority=item.get("priority"),
        tags=tags,
        project=item.get("project"),
        extra=extra,
        id=task_id,
        # Only a task without a uuid needs one derived from its content.
        identity="" if item.get("uuid") else json.dumps(item, ensure_ascii=False, sort_keys=True),
    )


def read(lines: Lines, zone: tzinfo) -> Iterator[Record]:
    """The tasks of taskcli's JSON: an array (`--json`), or one object per line
    (NDJSON). `zone` is unused (every time in the file has its offset)."""
    for where, item in json_items(lines):
        yield _record(where, item)


# --- writing -------------------------------------------------------------------------


def batches(rows: Iterable[Any], size: int = 1000) -> Iterator[list[Any]]:
    """Rows in lists of `size`: writers yield a block at a time, not a line."""
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch
