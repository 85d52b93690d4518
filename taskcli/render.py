"""The only module that writes to the terminal.

People at a terminal get rich tables and detail views; pipes get plain lines
with no escape codes; scripts get JSON. rich is imported only when drawing for
a terminal and json only for --json. Text that comes from the data is always
shown literally: control, escape and bidi characters are made visible and rich
markup is never interpreted.
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from functools import partial
from itertools import chain, islice, repeat
from operator import is_not, itemgetter
from typing import Any, Protocol

from taskcli.errors import OutputError
from taskcli.validation import LISTED_TIME, check_stored, is_listed_time

# Characters a terminal would act on or hide rather than show: C0/C1 controls (ESC
# starts ANSI and OSC sequences), DEL, line separators, lone surrogates, and every
# format character (Unicode category Cf, as of Unicode 15): bidi overrides and
# isolates, zero-width spaces and joiners, the byte-order mark, soft hyphen, tags.
# Descriptions keep their newlines and tabs.
_FORMAT = (
    "\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
_UNSAFE_BEYOND_C0 = f"\x7f-\x9f\u2028\u2029\ud800-\udfff{_FORMAT}"
_UNSAFE_IN_LINE = re.compile(f"[\x00-\x1f{_UNSAFE_BEYOND_C0}]")
_UNSAFE_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f{_UNSAFE_BEYOND_C0}]")


# Times come as aware datetimes (Task) or as RFC 3339 UTC text (listing rows).
Time = datetime | str


class TaskLike(Protocol):
    """A Task or a row with the same attributes."""

    id: Any
    title: str
    description: str | None
    done: bool
    created_at: Time
    updated_at: Time
    completed_at: Time | None


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def literal(text: str, multiline: bool = False) -> str:
    """Text with every character a terminal would interpret shown as a visible escape."""
    if text.isprintable():
        # No control, format (bidi), separator or surrogate characters: the common
        # case, decided without the regular expression.
        return text
    pattern = _UNSAFE_IN_TEXT if multiline else _UNSAFE_IN_LINE
    return pattern.sub(_escape, text)


def timestamp(value: Time | None) -> str | None:
    """RFC 3339 in UTC ending in Z, with microseconds."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    # Not strftime: its %Y writes the year 1 as '1', not '0001'.
    return value.isoformat(timespec="microseconds") + "Z"


def age(value: Time, now: datetime | None = None) -> str:
    """How long ago, compactly: 'now', '5m', '3h', '2d', '6w', '1y'."""
    now = now or datetime.now(timezone.utc)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    seconds = (now - value).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)}d"
    if seconds < 365 * 86400:
        return f"{int(seconds // (7 * 86400))}w"
    return f"{int(seconds // (365 * 86400))}y"


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
    if sys.stdout is None:
        raise OutputError("cannot write the output: standard output is closed")
    with writing():
        sys.stdout.write(text)


@contextmanager
def writing() -> Iterator[None]:
    """Around a write to stdout: a failure is an OutputError (a closed pipe is not:
    it ends the command quietly)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputError(f"cannot write the output: {error.strerror or error}") from None


def tolerate_unencodable_output() -> None:
    """Make stdout and stderr write what their encoding cannot (PYTHONIOENCODING=ascii,
    a C locale) as escapes instead of failing, possibly after a change was saved."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            # A closed stream stays as it is: its first write reports the problem.
            with suppress(OSError, ValueError):
                reconfigure(errors=_UNENCODABLE)


def _escape_unencodable(error: UnicodeError) -> tuple[str | bytes, int]:
    """Codec error handler for output. A character the encoding lacks is written as a
    \\u escape (é as \\u00e9, astral characters as a surrogate pair), which a reader
    of a table understands and which keeps --json valid and lossless; a byte that was
    not UTF-8 where it came from (a path, decoded with surrogateescape) is written
    back as that byte."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    code = ord(error.object[error.start])
    if 0xDC80 <= code <= 0xDCFF:
        return bytes([code - 0xDC00]), error.start + 1
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}", error.start + 1
    return f"\\u{code:04x}", error.start + 1


_UNENCODABLE = "taskcli.escape"
codecs.register_error(_UNENCODABLE, _escape_unencodable)


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
    """A JSON array written one task per line as rows arrive, never built in memory.

    `tasks` are all listing rows (TaskRow) or all Task objects."""
    import json
    from json.encoder import encode_basestring as string

    first = True
    for chunk in _chunks(tasks):
        if isinstance(chunk[0], tuple):
            _check_rows(chunk)
            # Listing rows (TaskRow: times already RFC 3339 text), formatted in one
            # comprehension: byte for byte what json.dumps(task_dict(row)) writes
            # (a test holds it to that), without a dict or a call per row.
            lines = [
                f'{{"id": {id_}, "title": {string(title)}, "description": '
                f"{'null' if description is None else string(description)}, "
                f'"done": {"true" if done else "false"}, "created_at": "{created}", '
                f'"updated_at": "{updated}", "completed_at": '
                f"{'null' if completed is None else chr(34) + completed + chr(34)}}}"
                for id_, title, description, done, created, updated, completed in chunk
            ]
        else:
            lines = [json.dumps(task_dict(task), ensure_ascii=False) for task in chunk]
        _write(("[\n" if first else ",\n") + ",\n".join(lines))
        first = False
    _write("[]\n" if first else "\n]\n")


def _chunks(rows: Iterable[Any], size: int = 1000) -> Iterator[list[Any]]:
    """Rows in lists of `size`, so output is written in blocks rather than per row."""
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


_TITLE, _DESCRIPTION, _DONE = itemgetter(1), itemgetter(2), itemgetter(3)
_CREATED, _UPDATED, _COMPLETED = itemgetter(4), itemgetter(5), itemgetter(6)
_LISTED_TIMES = re.compile(f"(?:{LISTED_TIME.pattern}\n)*{LISTED_TIME.pattern}")
_LISTED_TIME_LENGTH = len("2026-11-26T17:02:27.356578Z")
_is_set = partial(is_not, None)


def _check_rows(rows: list[Any]) -> None:
    """Raise DamagedTask unless every listing row holds only what taskcli stores.

    Times are written into the output as they were read, so each must be one
    taskcli wrote. They are checked a block at a time, joined by newlines, with one
    match and a length (well-formed times have one length and no newline, so the
    block has exactly as many as it should); the rest are C-level passes. All of it
    costs a few percent of writing the rows."""
    if not isinstance(rows[0], tuple):
        return  # Task objects, checked as they were loaded
    completed = list(filter(_is_set, map(_COMPLETED, rows)))
    count = 2 * len(rows) + len(completed)
    try:
        times = "\n".join([*map(_CREATED, rows), *map(_UPDATED, rows), *completed])
    except TypeError:  # a time that is not text
        times = ""
    if not (
        len(times) == count * (_LISTED_TIME_LENGTH + 1) - 1
        and _LISTED_TIMES.fullmatch(times)
        and all(map(isinstance, map(_TITLE, rows), repeat(str)))
        and all(map(isinstance, map(_DESCRIPTION, rows), repeat((str, type(None)))))
        and list(map(bool, map(_DONE, rows))) == list(map(_is_set, map(_COMPLETED, rows)))
    ):
        for row in rows:
            task_id, title, description, done, *times_read = row
            check_stored(task_id, title, description, done, times_read, is_listed_time)


def json_value(value: Any) -> None:
    """Any JSON value on one line (for outputs other than tasks)."""
    import json

    _write(json.dumps(value, ensure_ascii=False) + "\n")


# -- people ---------------------------------------------------------------------------


def task_list(tasks: Iterable[TaskLike], empty_message: str, widest_id: int = 0) -> None:
    """A table on a terminal; tab-separated lines (id, status, title, created) in a pipe.

    Both are written as rows arrive, so a listing of any size starts at once and
    never holds more than a few hundred rows. `widest_id` (the largest id the
    listing may contain) sizes the ID column before the rows are seen.
    """
    if _is_terminal():
        _table(iter(tasks), empty_message, widest_id)
        return
    for chunk in _chunks(tasks):
        _check_rows(chunk)
        _write(
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


def _table(rows: Iterator[TaskLike], empty_message: str, widest_id: int) -> None:
    """Columns sized once, then one line per task: no per-row layout engine, so a
    100,000-task table costs about what writing its lines does."""
    head = list(islice(rows, _PREVIEW_ROWS))
    if not head:
        _write(empty_message + "\n")
        return
    _check_rows(head)
    from rich.cells import cell_len

    console = _console()
    more = len(head) == _PREVIEW_ROWS
    now = datetime.now(timezone.utc)
    largest = max(task.id for task in head)
    id_width = max(2, len(str(max(widest_id, largest) if more else largest)))
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
    _write(f"{bold[0]}{header}{bold[1]}\n")
    plain_start, plain_end = cyan[0], f"{cyan[1]}{pending}"
    for chunk in chain([head], map(_checked, _chunks(rows))):
        # Pending tasks with short, plain ASCII titles (nearly all) are formatted
        # right here; the rest go through lines().
        _write(
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
    _check_rows(rows)
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


def server_status(status: dict[str, Any]) -> None:
    """The command server's state, one 'label: value' per line."""
    if not status["enabled"]:
        _write(f"Command server: off ({status['reason']}); commands run in-process.\n")
        return
    if not status["running"]:
        _write("Command server: not running; the next command starts it.\n")
        _write(f"Socket: {status['socket']}\n")
        return
    started = datetime.fromtimestamp(status["started"], timezone.utc)
    _write(
        f"Command server: running (pid {status['pid']}, taskcli {status['version']})\n"
        f"Socket: {status['socket']}\n"
        f"Started: {timestamp(started)}\n"
        f"Commands served: {status['served']}\n"
    )


def servers_stopped(pids: Sequence[int]) -> None:
    if not pids:
        _write("No command server was running.\n")
    for pid in pids:
        _write(f"Stopped the command server (pid {pid}).\n")


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


# Reports how much of a long operation is done: update(done, total or None if unknown).
Progress = Callable[[int, "int | None"], None]

# A long operation shows a progress bar only once it has run this long, so quick
# commands never flash one.
PROGRESS_DELAY = 0.3


@contextmanager
def progress(description: str) -> Iterator[Progress]:
    """Yields `update(done, total)` for a long operation. On a terminal (stderr) a
    transient rich progress bar appears once the work has taken PROGRESS_DELAY;
    otherwise nothing is shown and rich is never imported."""
    isatty = getattr(sys.stderr, "isatty", None)
    if not (isatty and isatty()):
        yield _ignore_progress
        return
    from time import monotonic

    started = monotonic()
    bar: Any = None
    bar_task: Any = None

    def update(done: int, total: int | None) -> None:
        nonlocal bar, bar_task
        if bar is None:
            if monotonic() - started < PROGRESS_DELAY:
                return
            from rich.console import Console
            from rich.progress import Progress

            bar = Progress(console=Console(stderr=True), transient=True)
            bar.start()
            bar_task = bar.add_task(description, total=total)
        bar.update(bar_task, completed=done, total=total)

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


def _ignore_progress(done: int, total: int | None) -> None:
    pass


def error(message: str) -> None:
    """One line on stderr starting with 'Error:'."""
    if sys.stderr is None:
        return  # started with stderr closed: the exit code is all that is left
    one_line = " ".join(literal(message).split())
    sys.stderr.write(f"Error: {one_line}\n")
    sys.stderr.flush()
