"""Tasks for people: a table on a terminal, tab-separated lines in a pipe, one
task in detail, and one-line confirmations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from itertools import chain, islice
from typing import Any

from taskcli.render.json_output import check_rows, checked, chunks
from taskcli.render.output import console as make_console
from taskcli.render.output import is_terminal, write
from taskcli.render.text import TaskLike, age, literal, timestamp


def task_list(tasks: Iterable[TaskLike], empty_message: str) -> None:
    """A table on a terminal; tab-separated lines (id, status, title, created) in a pipe.

    Both are written as rows arrive, so a listing of any size starts at once and
    never holds more than a few hundred rows. A listing's `highest_id` (the
    largest id it may contain, asked only for a long table) sizes the ID column
    before the rows are seen.
    """
    if is_terminal():
        _table(iter(tasks), empty_message, lambda: getattr(tasks, "highest_id", 0))
        return
    for chunk in chunks(tasks):
        check_rows(chunk)
        write(
            "".join(
                f"{task.id}\t{'done' if task.done else 'pending'}\t{literal(task.title)}\t"
                f"{timestamp(task.created_at)}\n"
                for task in chunk
            )
        )


# Rows read before the table's first line is drawn: enough to fit the columns of
# a small list to its content; a longer list gets the terminal's full width.
_PREVIEW_ROWS = 200
_GAP = "  "


def _table(rows: Iterator[TaskLike], empty_message: str, widest_id: Callable[[], int]) -> None:
    """Columns sized once, then one line per task: no per-row layout engine, so a
    100,000-task table costs about what writing its lines does."""
    head = list(islice(rows, _PREVIEW_ROWS))
    if not head:
        write(empty_message + "\n")
        return
    check_rows(head)
    from rich.cells import cell_len

    console = make_console()
    more = len(head) == _PREVIEW_ROWS
    now = datetime.now(timezone.utc)
    largest = max(task.id for task in head)
    id_width = max(2, len(str(max(widest_id(), largest) if more else largest)))
    age_width = max(3, *(len(age(task.created_at, now)) for task in head))
    room = console.width - id_width - 4 - age_width - 3 * len(_GAP)
    title_width = max(room, 10)
    if not more:
        longest = max(cell_len(literal(task.title)) for task in head)
        title_width = max(5, min(title_width, longest))
    bold, cyan, green, dim = (_codes(console, name) for name in ("bold", "cyan", "green", "dim"))
    pending = f"{_GAP}    {_GAP}"
    finished = f"{_GAP} {green[0]}✓{green[1]}  {_GAP}"
    age_start, age_end = f"{_GAP}{dim[0]}", f"{dim[1]}\n"

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
            f"{start}{title}{' ' * (title_width - width)}{end}"
            f"{age_start}{age(task.created_at, now):>{age_width}}{age_end}{rest}"
        )

    header = _GAP.join(
        ("ID".rjust(id_width), "Done", "Title".ljust(title_width), "Age".rjust(age_width))
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


_NO_CODES = ("", "")


def _checked(rows: list[Any]) -> list[Any]:
    check_rows(rows)
    return rows


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
