"""Moving in and out: `tasks export` and `tasks import`."""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from taskcli import render
from taskcli.cli.app import TasksCommand, app
from taskcli.cli.params import (
    DueAfterFilter,
    DueBeforeFilter,
    JsonOption,
    LimitOption,
    NoDueFilter,
    NoTagFilter,
    OffsetOption,
    OverdueFilter,
    PriorityFilter,
    ProjectFilter,
    SearchFilter,
    SortOption,
    TagFilter,
    app_context,
)
from taskcli.cli.tasks import filter_query
from taskcli.errors import HandBack, InvalidInput

FORMAT_NAMES = ("json", "ndjson", "csv", "todotxt", "taskwarrior")
# The longest line an import reads (a JSON array written on one line included):
# a longer one is refused before it fills the memory.
LINE_MAX = 32 * 1024 * 1024
# The module of taskcli.formats that reads each format.
_MODULES = {
    "json": "ours",
    "ndjson": "ours",
    "csv": "csvfile",
    "todotxt": "todotxt",
    "taskwarrior": "taskwarrior",
}
# How much of the input `--format auto` looks at.
_SAMPLE = 64 * 1024


def _format_option(choices: tuple[str, ...], default: str) -> Any:
    def parse(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(choices)}")
        return value

    return typer.Option(
        "--format",
        "-f",
        parser=parse,
        metavar="FORMAT",
        help=f"One of: {', '.join(choices)} (default: {default}).",
    )


@app.command(cls=TasksCommand)
def export(
    ctx: typer.Context,
    format_: Annotated[str, _format_option(FORMAT_NAMES, "json")] = "json",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to FILE (replaced whole, only once complete; mode 0600), not stdout.",
            metavar="FILE",
        ),
    ] = None,
    pending: Annotated[bool, typer.Option("--pending", help="Only pending tasks.")] = False,
    done: Annotated[bool, typer.Option("--done", help="Only completed tasks.")] = False,
    tag: TagFilter = None,
    no_tag: NoTagFilter = None,
    project: ProjectFilter = None,
    priority: PriorityFilter = None,
    overdue: OverdueFilter = False,
    due_before: DueBeforeFilter = None,
    due_after: DueAfterFilter = None,
    no_due: NoDueFilter = False,
    search: SearchFilter = None,
    sort: SortOption = None,
    limit: LimitOption = None,
    offset: OffsetOption = None,
) -> None:
    """Write every task (or those the filters of `list` select) as JSON (what `list
    --all --json` prints), NDJSON, CSV, todo.txt or Taskwarrior's import format.

    Example: tasks export --format taskwarrior | task import
    """
    from taskcli.domain.query import Status

    if pending and done:
        raise InvalidInput("--pending and --done cannot be used together")
    if overdue and done:
        raise InvalidInput("--overdue selects pending tasks: it cannot be used with --done")
    status = Status.PENDING if pending or overdue else Status.DONE if done else Status.ALL
    query = filter_query(
        ctx, status, tag, no_tag, project, priority, overdue, due_before, due_after, no_due,
        search, sort, limit, offset,
    )  # fmt: skip
    context = app_context(ctx)
    rows = context.service.list_tasks(query)
    chunks = render.export_chunks(format_, rows, context.local_zone())
    if output is None:
        render.write_chunks(chunks)
        return
    protected = []
    if context.service.store.dialect == "sqlite":
        database = Path(context.service.path)
        protected = [
            database,
            *(Path(f"{database}{suffix}") for suffix in ("-wal", "-shm", "-journal")),
        ]
    try:
        render.write_file(output, chunks, protected)
    except BaseException as error:
        number = render.stopped_by_signal(error)
        if number is None:
            raise
        # The temporary file is gone: now end as the signal would have.
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        raise


@app.command("import", cls=TasksCommand)
def import_(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="The file to import, or - for standard input (the default).", metavar="[FILE|-]"
        ),
    ] = "-",
    format_: Annotated[str, _format_option(("auto", *FORMAT_NAMES), "auto")] = "auto",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Say what would change; change nothing.")
    ] = False,
    keep_ids: Annotated[
        bool,
        typer.Option(
            "--keep-ids",
            help="Restore a backup made by `tasks export` into a new store: ids, uuids and "
            "times exactly as they were.",
        ),
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Import tasks from a file: Taskwarrior's export, todo.txt, CSV or taskcli's own
    JSON/NDJSON. Everything is checked first, then written in one transaction (one
    `tasks undo` takes it back). A task already here (same uuid) is updated only if
    the file's copy was modified later; importing a file twice changes nothing.

    Example: task export | tasks import -
    """
    from importlib import import_module

    if keep_ids and format_ not in ("auto", "json", "ndjson"):
        raise InvalidInput("--keep-ids restores taskcli's own JSON or NDJSON only")
    # One short-lived command making 100,000 records and their containers: the
    # cyclic garbage collector would only rescan them (a fifth of the time).
    gc.disable()
    context = app_context(ctx)
    if context.in_server and _is_descriptor(source):
        # /dev/fd/63 from `tasks import <(task export)` is one of the caller's own
        # descriptors, which the server's process does not have: run in the caller's.
        raise HandBack
    stream = _open(source)
    with render.progress("Importing tasks") as update:
        try:
            lines = _lines(stream, update)
            detected = format_ == "auto"
            if detected:
                lines, format_ = _detect(lines)
            if keep_ids and format_ not in ("json", "ndjson"):
                raise InvalidInput(
                    f"--keep-ids restores taskcli's own JSON or NDJSON, not {format_}"
                )
            reader = import_module(f"taskcli.formats.{_MODULES[format_]}").read
            zone = context.local_zone()
            try:
                summary = context.service.import_records(
                    reader(lines, zone),
                    format_,
                    zone,
                    keep_ids=keep_ids,
                    dry_run=dry_run,
                    progress=update,
                )
            except InvalidInput as error:
                if not detected:
                    raise
                # Say what the file was taken for: it may be the wrong guess.
                raise InvalidInput(f"{error} (read as {format_}; --format chooses)") from None
        finally:
            if stream is not sys.stdin and stream is not getattr(sys.stdin, "buffer", None):
                stream.close()
    render.import_summary(summary, _name(source), dry_run, json_, detected)


def _is_descriptor(source: str) -> bool:
    """Whether a path names an open descriptor of the process that opens it."""
    path = os.path.abspath(source)
    return path in ("/dev/stdin", "/dev/stdout", "/dev/stderr") or path.startswith(
        ("/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/")
    )


def _name(source: str) -> str:
    return "standard input" if source == "-" else source


def _open(source: str) -> BinaryIO:
    if source == "-":
        if sys.stdin is None:
            raise InvalidInput("standard input is closed: there is nothing to import")
        if render.is_terminal(sys.stdin):
            raise InvalidInput(
                "standard input is a terminal: give a FILE, or pipe the file in "
                "(task export | tasks import -)"
            )
        return getattr(sys.stdin, "buffer", sys.stdin)
    path = Path(source)
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        raise InvalidInput(f"{source}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{source} is a folder, not a file") from None
    except OSError as error:
        raise InvalidInput(f"cannot read {source}: {error.strerror or error}") from None
    return stream


def _lines(stream: BinaryIO, progress: render.Progress) -> Iterator[tuple[int, str]]:
    """(number, text) of each line, without its line ending; invalid UTF-8 and an
    over-long line are refused naming the line. `progress(lines read, None)` is
    called every few thousand lines."""
    number = 0
    while True:
        if number % 5000 == 0:
            progress(number, None)
        try:
            raw = stream.readline(LINE_MAX + 1)
        except OSError as error:
            raise InvalidInput(f"cannot read the input: {error.strerror or error}") from None
        if not raw:
            return
        number += 1
        if len(raw) > LINE_MAX:
            raise InvalidInput(f"line {number} is longer than {LINE_MAX // 1024 // 1024} MiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidInput(
                f"line {number} is not valid UTF-8 (byte {error.start + 1} of the line)"
            ) from None
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]  # a byte order mark, as some editors write
        if text.endswith("\n"):
            text = text[:-2] if text.endswith("\r\n") else text[:-1]
        yield number, text


def _detect(lines: Iterator[tuple[int, str]]) -> tuple[Iterator[tuple[int, str]], str]:
    """The format of the input, from its beginning; and the lines, none consumed."""
    from itertools import chain

    from taskcli.formats.detect import detect

    sample: list[tuple[int, str]] = []
    size = 0
    for line in lines:
        sample.append(line)
        size += len(line[1]) + 1
        if size >= _SAMPLE:
            break
    return chain(sample, lines), detect("\n".join(text for _number, text in sample))
