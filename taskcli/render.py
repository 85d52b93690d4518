"""The only module that writes to the terminal.

People at a terminal get rich tables and detail views; pipes get plain lines
with no escape codes; scripts get JSON. rich is imported only when drawing for
a terminal and json only for --json. Text that comes from the data is always
shown literally: control, escape and bidi characters are made visible and rich
markup is never interpreted.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

# Characters a terminal would act on rather than show: C0/C1 controls (ESC starts
# ANSI and OSC sequences), DEL, bidi overrides and isolates, line separators, and
# lone surrogates. Descriptions keep their newlines and tabs.
_UNSAFE_BEYOND_C0 = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff"
_UNSAFE_IN_LINE = re.compile(f"[\x00-\x1f{_UNSAFE_BEYOND_C0}]")
_UNSAFE_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f{_UNSAFE_BEYOND_C0}]")


class TaskLike(Protocol):
    """A Task or a row with the same attributes."""

    id: Any
    title: str
    description: str | None
    done: bool
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def literal(text: str, multiline: bool = False) -> str:
    """Text with every character a terminal would interpret shown as a visible escape."""
    pattern = _UNSAFE_IN_TEXT if multiline else _UNSAFE_IN_LINE
    return pattern.sub(_escape, text)


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC ending in Z, with microseconds."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def age(value: datetime, now: datetime | None = None) -> str:
    """How long ago, compactly: 'now', '5m', '3h', '2d', '6w', '1y'."""
    now = now or datetime.now(timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    seconds = max(0, int((now - value).total_seconds()))
    for unit, size in (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "now"


def task_dict(task: TaskLike) -> dict[str, Any]:
    """The JSON form of a task: a public contract (fields may be added, never removed)."""
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "done": bool(task.done),
        "created_at": timestamp(task.created_at),
        "updated_at": timestamp(task.updated_at),
        "completed_at": timestamp(task.completed_at),
    }


def _write(text: str) -> None:
    sys.stdout.write(text)


def _is_terminal() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def _console():
    from rich.console import Console

    # rich honours NO_COLOR and TERM=dumb itself.
    return Console(highlight=False, emoji=False, markup=False)


# -- JSON ---------------------------------------------------------------------------


def json_object(task: TaskLike) -> None:
    import json

    _write(json.dumps(task_dict(task), ensure_ascii=False) + "\n")


def json_array(tasks: Iterable[TaskLike]) -> None:
    """A JSON array written one task per line as rows arrive, never built in memory."""
    import json

    dumps = json.dumps
    separator = "[\n"
    for task in tasks:
        _write(separator + dumps(task_dict(task), ensure_ascii=False))
        separator = ",\n"
    _write("[]\n" if separator == "[\n" else "\n]\n")


# -- people ---------------------------------------------------------------------------


def task_list(tasks: Iterable[TaskLike], empty_message: str) -> None:
    """A table on a terminal; tab-separated lines (id, status, title, created) in a pipe."""
    if not _is_terminal():
        write = sys.stdout.write
        for task in tasks:
            status = "done" if task.done else "pending"
            write(f"{task.id}\t{status}\t{literal(task.title)}\t{timestamp(task.created_at)}\n")
        return
    rows = list(tasks)
    if not rows:
        _write(empty_message + "\n")
        return
    from rich.table import Table
    from rich.text import Text

    now = datetime.now(timezone.utc)
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("ID", justify="right", style="cyan", no_wrap=True)
    table.add_column("Done", justify="center", no_wrap=True)
    table.add_column("Title", overflow="fold")
    table.add_column("Age", justify="right", style="dim", no_wrap=True)
    for task in rows:
        table.add_row(
            str(task.id),
            Text("✓", style="green") if task.done else Text(" "),
            Text(literal(task.title), style="dim" if task.done else ""),
            age(task.created_at, now),
        )
    _console().print(table)


def task_detail(task: TaskLike) -> None:
    """Every field of one task, labelled."""
    status = f"done ({timestamp(task.completed_at)})" if task.done else "pending"
    fields = [
        ("ID", str(task.id)),
        ("Title", literal(task.title)),
        ("Status", status),
        ("Created", timestamp(task.created_at) or ""),
        ("Updated", timestamp(task.updated_at) or ""),
        ("Description", literal(task.description, multiline=True) if task.description else "-"),
    ]
    if not _is_terminal():
        for label, value in fields:
            value = value.replace("\n", "\n" + " " * 13)
            _write(f"{label + ':':<13}{value}\n")
        return
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in fields:
        grid.add_row(label, Text(value))
    _console().print(grid)


def confirmations(tasks: Sequence[TaskLike], verb: str) -> None:
    """One confirmation line per task: '<verb> task 3: title'."""
    for task in tasks:
        _write(f"{verb} task {task.id}: {literal(task.title)}\n")


def added_many(tasks: Sequence[TaskLike]) -> None:
    if not tasks:
        _write("No tasks added: no titles on standard input.\n")
    elif len(tasks) == 1:
        confirmations(tasks, "Added")
    else:
        _write(f"Added {len(tasks)} tasks: {tasks[0].id}-{tasks[-1].id}\n")


def line(text: str) -> None:
    """A line of plain output (e.g. a path), never wrapped."""
    _write(text + "\n")


def confirm_delete(tasks: Sequence[TaskLike]) -> bool:
    """Ask before deleting these tasks."""
    if len(tasks) == 1:
        return confirm(f"Delete task {tasks[0].id}: {literal(tasks[0].title)}?")
    return confirm(f"Delete {len(tasks)} tasks ({', '.join(str(t.id) for t in tasks)})?")


def confirm(question: str) -> bool:
    """Ask a yes/no question on stderr, so stdout stays clean for --json; the default is no."""
    sys.stderr.write(f"{question} [y/N]: ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):
        sys.stderr.write("\n")
    return answer.strip().lower() in {"y", "yes"}


def error(message: str) -> None:
    """One line on stderr starting with 'Error:'."""
    one_line = " ".join(literal(message).split())
    sys.stderr.write(f"Error: {one_line}\n")
    sys.stderr.flush()
