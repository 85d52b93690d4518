"""Tasks as JSON for scripts: a public contract, derived from the field list.

Every object is exactly `json.dumps(task_dict(task))`; listings are written a
block of rows at a time by one comprehension generated from the public fields
(domain.models.FIELDS), byte for byte the same, without a dict or a call per row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from json.encoder import encode_basestring
from typing import Any

from taskcli.domain.models import FIELDS, public_values
from taskcli.domain.rows import check_rows
from taskcli.render.output import write
from taskcli.render.text import TaskLike, timestamp


def task_dict(task: TaskLike) -> dict[str, Any]:
    """The JSON form of a task: a public contract (fields may be added, never removed)."""
    return {
        name: _json_value(kind, value)
        for (name, kind), value in zip(FIELDS, public_values(task), strict=True)
    }


def _json_value(kind: str, value: Any) -> Any:
    if kind == "flag":
        return bool(value)
    if "time" in kind:
        return timestamp(value)
    if kind == "tags":
        # A Task's list, or a listing row's stored JSON text.
        return json.loads(value) if isinstance(value, str) else sorted(value)
    if kind == "object":
        # A Task's dict, or a listing row's stored JSON text.
        return json.loads(value) if isinstance(value, str) else value
    return value


def json_object(task: TaskLike) -> None:
    write(json.dumps(task_dict(task), ensure_ascii=False) + "\n")


def json_value(value: Any) -> None:
    """Any JSON value on one line (for outputs other than tasks)."""
    write(json.dumps(value, ensure_ascii=False) + "\n")


def json_array(tasks: Iterable[TaskLike]) -> None:
    """A JSON array written one task per line as rows arrive, never built in memory.

    `tasks` are all listing rows (TaskRow) or all Task objects."""
    for text in json_array_chunks(tasks):
        write(text)


def json_array_chunks(tasks: Iterable[TaskLike]) -> Iterator[str]:
    """The text json_array writes, a block of tasks at a time."""
    first = True
    for chunk in chunks(tasks):
        yield ("[\n" if first else ",\n") + ",\n".join(_lines(chunk))
        first = False
    yield "[]\n" if first else "\n]\n"


def json_line_chunks(tasks: Iterable[TaskLike]) -> Iterator[str]:
    """NDJSON: each task's JSON object on a line of its own, a block at a time."""
    for chunk in chunks(tasks):
        yield "\n".join(_lines(chunk)) + "\n"


def _lines(chunk: list[Any]) -> list[str]:
    if isinstance(chunk[0], tuple):
        check_rows(chunk)
        return _row_lines(chunk)
    return [json.dumps(task_dict(task), ensure_ascii=False) for task in chunk]


def checked_rows(rows: Iterable[Any]) -> Iterator[Any]:
    """Listing rows, each block checked (check_rows) before any of it is passed on."""
    for chunk in chunks(rows):
        check_rows(chunk)
        yield from chunk


def _compile_row_lines() -> Callable[[list[Any]], list[str]]:
    """One comprehension over listing rows (times already RFC 3339 text), written
    from the field list: what json.dumps(task_dict(row)) would make of each row."""
    forms = {
        "int": "{@}",
        "flag": "{TRUE if @ else FALSE}",
        "text": "{string(@)}",
        "optional text": "{NULL if @ is None else string(@)}",
        "time": '"{@}"',
        "optional time": "{NULL if @ is None else QUOTE + @ + QUOTE}",
        "tags": "{@}",
        "object": "{@}",
    }
    names = [f"v{index}" for index in range(len(FIELDS))]
    members = ", ".join(
        json.dumps(name).replace("{", "{{").replace("}", "}}")
        + ": "
        + forms[kind].replace("@", variable)
        for (name, kind), variable in zip(FIELDS, names, strict=True)
    )
    source = f"lambda chunk: [f'{{{{{members}}}}}' for {', '.join(names)} in chunk]"
    scope = {"string": encode_basestring, "NULL": "null", "TRUE": "true", "FALSE": "false"}
    scope["QUOTE"] = '"'
    return eval(source, scope)


_row_lines = _compile_row_lines()


def chunks(rows: Iterable[Any], size: int = 1000) -> Iterator[list[Any]]:
    """Rows in lists of `size`, so output is written in blocks rather than per row."""
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def checked(rows: list[Any]) -> list[Any]:
    """`rows`, once check_rows has passed them."""
    check_rows(rows)
    return rows
