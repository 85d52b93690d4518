"""Tasks for people: a table on a terminal, tab-separated lines in a pipe, one
task in detail, and one-line confirmations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone, tzinfo
from itertools import chain, islice
from typing import Any

from taskcli.render.json_output import check_rows, checked, chunks
from taskcli.render.output import console as make_console
from taskcli.render.output import is_terminal, write
from taskcli.render.text import TaskLike, age, literal, timestamp


def task_list(
    tasks: Iterable[TaskLike],
    empty_message: str,
    now: datetime | None = None,
    zone: tzinfo | None = None,
) -> None:
    """A table on a terminal; tab-separated lines in a pipe: id, status, title,
    created (v1's columns, first and unchanged), then due, priority, tags
    (comma-separated) and project, empty when absent.

    Both are written as rows arrive, so a listing of any size starts at once and
    never holds more than a few hundred rows. A listing's `highest_id` (the
    largest id it may contain) and `attributes` (which of due, priority, tags,
    project some task has), asked only for a long table, size its columns before
    the rows are seen. `now` and `zone` say how dues are worded.
    """
    now = now or datetime.now(timezone.utc)
    if is_terminal():
        _table(iter(tasks), empty_message, tasks, now, zone or timezone.utc)
        return
    for chunk in chunks(tasks):
        check_rows(chunk)
        write(
            "".join(
                f"{task.id}\t{'done' if task.done else 'pending'}\t{literal(task.title)}\t"
                f"{timestamp(task.created_at)}\t{task.due or ''}\t{task.priority or ''}\t"
                f"{tag_list(task.tags)}\t{task.project or ''}\n"
                for task in chunk
            )
        )


def tag_list(tags: Any) -> str:
    """Tags as people read them: comma-separated (stored JSON text, or a list)."""
    if isinstance(tags, str):
        return "" if tags == "[]" else tags[2:-2].replace('", "', ",")
    return ",".join(tags)


def _has(name: str, task: TaskLike) -> bool:
    value = getattr(task, name)
    return value not in (None, "[]", [])


# Rows read before the table's first line is drawn: enough to fit the columns of
# a small list to its content; a longer list gets the terminal's full width.
_PREVIEW_ROWS = 200
_GAP = "  "


# Widest a Tags or Project cell gets in a table; longer values end in '…'.
_ATTRIBUTE_WIDTH = 24
_ATTRIBUTE_HEADERS = {"due": "Due", "priority": "Pri", "tags": "Tags", "project": "Project"}


def _table(
    rows: Iterator[TaskLike], empty_message: str, listing: Any, now: datetime, zone: tzinfo
) -> None:
    """Columns sized once, then one line per task: no per-row layout engine, so a
    100,000-task table costs about what writing its lines does."""
    head = list(islice(rows, _PREVIEW_ROWS))
    if not head:
        write(empty_message + "\n")
        return
    check_rows(head)
    from rich.cells import cell_len

    from taskcli.domain.dates import due_words

    console = make_console()
    more = len(head) == _PREVIEW_ROWS
    largest = max(task.id for task in head)
    widest_id = getattr(listing, "highest_id", 0) if more else 0
    id_width = max(2, len(str(max(widest_id, largest))))
    age_width = max(3, *(len(age(task.created_at, now)) for task in head))
    shown = {name for name in _ATTRIBUTE_HEADERS if any(_has(name, task) for task in head)}
    if more:
        shown |= set(getattr(listing, "attributes", ()))
    names = [name for name in _ATTRIBUTE_HEADERS if name in shown]
    bold, cyan, green, dim, red = (
        _codes(console, name) for name in ("bold", "cyan", "green", "dim", "red")
    )
    due_styles = {"overdue": red, "today": bold, None: _NO_CODES}

    def cell(name: str, task: TaskLike) -> tuple[str, str]:
        """The text of an attribute cell and its style."""
        value = getattr(task, name)
        if name == "due":
            if value is None:
                return "", ""
            words, state = due_words(value, now, zone)
            return words, state or ""
        if name == "tags":
            return tag_list(value), ""
        return value or "", ""

    widths = {
        name: min(
            _ATTRIBUTE_WIDTH,
            max(len(_ATTRIBUTE_HEADERS[name]), *(cell_len(cell(name, task)[0]) for task in head)),
        )
        for name in names
    }
    if more and "due" in widths:
        widths["due"] = max(widths["due"], len("tomorrow 00:00"))
    extra_width = sum(width + len(_GAP) for width in widths.values())
    room = console.width - id_width - 4 - age_width - 3 * len(_GAP) - extra_width
    title_width = max(room, 10)
    if not more:
        longest = max(cell_len(literal(task.title)) for task in head)
        title_width = max(5, min(title_width, longest))
    pending = f"{_GAP}    {_GAP}"
    finished = f"{_GAP} {green[0]}✓{green[1]}  {_GAP}"
    age_start, age_end = f"{_GAP}{dim[0]}", f"{dim[1]}\n"

    def attributes(task: TaskLike) -> str:
        parts = []
        for name in names:
            text, state = cell(name, task)
            text = literal(text)
            width = widths[name]
            if cell_len(text) > width:
                text = _truncate(text, width)
            padding = " " * (width - cell_len(text))
            start, end = due_styles[state or None] if name == "due" else _NO_CODES
            parts.append(f"{_GAP}{start}{text}{end}{padding}")
        return "".join(parts)

    plain_attributes = attributes if names else lambda task: ""

    def lines(task: TaskLike) -> str:
        title = literal(task.title)
        width = len(title) if title.isascii() else cell_len(title)
        done = task.done
        start, end = dim if done else _NO_CODES
        if width > title_width:
            parts = _fold(console, title, title_width)
            title, width = parts[0], title_width
            indent = " " * id_width + pending
            rest = "".join(f"{indent}{start}{part.rstrip()}{end}\n" for part in parts[1:])
        else:
            rest = ""
        return (
            f"{cyan[0]}{task.id:>{id_width}}{cyan[1]}{finished if done else pending}"
            f"{start}{title}{' ' * (title_width - width)}{end}{plain_attributes(task)}"
            f"{age_start}{age(task.created_at, now):>{age_width}}{age_end}{rest}"
        )

    header = _GAP.join(
        (
            "ID".rjust(id_width),
            "Done",
            "Title".ljust(title_width),
            *(_ATTRIBUTE_HEADERS[name].ljust(widths[name]) for name in names),
            "Age".rjust(age_width),
        )
    )
    write(f"{bold[0]}{header}{bold[1]}\n")
    plain_start, plain_end = cyan[0], f"{cyan[1]}{pending}"
    for chunk in chain([head], map(checked, chunks(rows))):
        # Pending tasks with short, plain ASCII titles (nearly all) are formatted
        # right here; the rest go through lines().
        write(
            "".join(
                [
                    f"{plain_start}{task.id:>{id_width}}{plain_end}{task.title:<{title_width}}"
                    f"{plain_attributes(task) if names else ''}"
                    f"{age_start}{age(task.created_at, now):>{age_width}}{age_end}"
                    if not task.done
                    and len(task.title) <= title_width
                    and task.title.isascii()
                    and task.title.isprintable()
                    else lines(task)
                    for task in chunk
                ]
            )
        )


def _truncate(text: str, width: int) -> str:
    """Text cut to `width` cells, ending in '…'."""
    from rich.cells import cell_len

    while cell_len(text) > width - 1:
        text = text[:-1]
    return text + "…"


_NO_CODES = ("", "")


def _codes(console: Any, style: str) -> tuple[str, str]:
    """The escape codes rich would put before and after text in `style` on this
    console (none when colour is off: NO_COLOR, TERM=dumb, not a terminal)."""
    from rich.text import Text

    with console.capture() as captured:
        console.print(Text("\0", style=style), end="")
    before, _, after = captured.get().partition("\0")
    return before, after


def _fold(console: Any, title: str, width: int) -> list[str]:
    """A title too long for its column, wrapped at spaces (or anywhere in a long word)."""
    from rich.cells import cell_len
    from rich.text import Text

    parts = [str(line) for line in Text(title).wrap(console, width, overflow="fold")]
    return [part + " " * (width - cell_len(part)) for part in parts]


def task_detail(task: TaskLike, zone: tzinfo | None = None) -> None:
    """Every field of one task, labelled."""
    from taskcli.domain.dates import describe_due

    status = f"done ({timestamp(task.completed_at)})" if task.done else "pending"
    tags = task.tags if isinstance(task.tags, list) else json.loads(task.tags)
    fields = [
        ("ID", str(task.id)),
        ("Title", literal(task.title)),
        ("Status", status),
        ("Due", describe_due(task.due, zone or timezone.utc) if task.due else "-"),
        ("Priority", task.priority or "-"),
        ("Tags", literal(", ".join(tags)) if tags else "-"),
        ("Project", literal(task.project) if task.project else "-"),
        ("Created", timestamp(task.created_at) or ""),
        ("Updated", timestamp(task.updated_at) or ""),
        ("UUID", task.uuid),
        ("Description", literal(task.description, multiline=True) if task.description else "-"),
    ]
    extra = task.extra if isinstance(task.extra, dict) else json.loads(task.extra)
    if extra:
        # What another tool's file said that taskcli has no field for, one per line.
        kept = "\n".join(
            f"{tool}.{name}: {json.dumps(value, ensure_ascii=False)}"
            for tool, values in extra.items()
            for name, value in (values.items() if isinstance(values, dict) else [("", values)])
        )
        fields.append(("Kept", literal(kept, multiline=True)))
    if not is_terminal():
        for label, value in fields:
            value = value.replace("\n", "\n" + " " * 13)
            write(f"{label + ':':<13}{value}\n")
        return
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in fields:
        grid.add_row(label, Text(value))
    make_console().print(grid)


def name_counts(counts: Sequence[tuple[str, int]], empty_message: str) -> None:
    """Tag or project names with their counts of pending tasks, one per line."""
    if not counts:
        write(empty_message + "\n")
        return
    width = max(len(str(pending)) for _name, pending in counts)
    if not is_terminal():
        write("".join(f"{name}\t{pending}\n" for name, pending in counts))
        return
    from rich.cells import cell_len

    names = [literal(name) for name, _pending in counts]
    name_width = max(map(cell_len, names))
    write(
        "".join(
            f"{name}{' ' * (name_width - cell_len(name))}  {pending:>{width}}\n"
            for name, (_name, pending) in zip(names, counts, strict=True)
        )
    )


def confirmations(tasks: Sequence[TaskLike], verb: str) -> None:
    """One confirmation line per task: '<verb> task 3: title'."""
    for task in tasks:
        write(f"{verb} task {task.id}: {literal(task.title)}\n")


def added_many(tasks: Sequence[TaskLike]) -> None:
    if not tasks:
        write("No tasks added: no titles on standard input.\n")
    elif len(tasks) == 1:
        confirmations(tasks, "Added")
    else:
        write(f"Added {len(tasks)} tasks: {tasks[0].id}-{tasks[-1].id}\n")
