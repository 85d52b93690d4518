"""The commands that read and change tasks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from taskcli import render
from taskcli.cli.app import TasksCommand, app
from taskcli.cli.params import IdArgument, IdsArgument, JsonOption, app_context, count_parser
from taskcli.errors import Aborted, HandBack, InvalidInput

if TYPE_CHECKING:
    from taskcli.domain.models import TaskCreate


@app.command(cls=TasksCommand)
def add(
    ctx: typer.Context,
    title: Annotated[
        list[str],
        typer.Argument(
            help="Title words, joined with single spaces; '-' reads one title per line from stdin.",
            show_default=False,
            metavar="TITLE",
        ),
    ],
    description: Annotated[
        str | None,
        typer.Option("--description", "-d", help="Longer notes for the task.", metavar="TEXT"),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Add a task, or many from stdin with '-'.

    Example: tasks add buy milk -d "two litres"
    """
    from taskcli.domain.models import TaskCreate

    service = app_context(ctx).service
    if title == ["-"]:
        if description is not None:
            raise InvalidInput("--description cannot be used with '-' (one title per line)")
        _before_terminal_input(ctx)
        with render.progress("Adding tasks") as update:
            titles = _read_titles(_stdin_bytes(), TaskCreate, update)
            added = service.add_many(titles, progress=update)
        if json_:
            render.json_array(added)
        else:
            render.added_many(added)
        return
    task = service.add(TaskCreate(title=" ".join(title), description=description))
    if json_:
        render.json_object(task)
    else:
        render.confirmations([task], "Added")


def _before_terminal_input(ctx: typer.Context) -> None:
    """Call just before a command reads the terminal (a prompt, titles typed at
    the keyboard), with nothing printed or changed yet. Job control (Ctrl-Z and
    fg, a background job stopped when it reads) works only in the caller's own
    process, whose process group owns the terminal: in the command server this
    hands the command back to the client."""
    if app_context(ctx).in_server and render.is_terminal(sys.stdin):
        raise HandBack


def stdin_is_terminal() -> bool:
    return render.is_terminal(sys.stdin)


def _stdin_bytes() -> BinaryIO:
    if sys.stdin is None:
        raise InvalidInput("standard input is closed: there are no titles to read")
    return getattr(sys.stdin, "buffer", sys.stdin)


def _read_titles(
    lines: BinaryIO, model: type[TaskCreate], progress: render.Progress
) -> Iterator[TaskCreate]:
    """One validated task per non-blank line; an invalid line is named by its number.
    `progress(lines read, None)` is called every few thousand lines."""
    for number, raw in enumerate(lines, start=1):
        if number % 5000 == 0:
            progress(number, None)
        text = raw.decode("utf-8", "surrogateescape").rstrip("\n")
        if text.endswith("\r"):
            text = text[:-1]
        if not text.strip():
            continue
        try:
            yield model(title=text)
        except InvalidInput as error:
            raise InvalidInput(f"line {number}: {error}") from None


@app.command("list", cls=TasksCommand)
def list_(
    ctx: typer.Context,
    done: Annotated[bool, typer.Option("--done", help="Only completed tasks.")] = False,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Pending and completed tasks.")] = False,
    limit: Annotated[
        int | None,
        typer.Option(parser=count_parser(1), help="Show at most N tasks (N > 0).", metavar="N"),
    ] = None,
    offset: Annotated[
        int | None,
        typer.Option(parser=count_parser(0), help="Skip the first N tasks.", metavar="N"),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """List pending tasks (or --done, or --all), oldest first.

    Example: tasks list --all --json | jq '.[] | select(.done) | .title'
    """
    from taskcli.domain.query import Status

    if done and all_:
        raise InvalidInput("--done and --all cannot be used together")
    status = Status.ALL if all_ else Status.DONE if done else Status.PENDING
    service = app_context(ctx).service
    tasks = service.list_tasks(status, limit=limit, offset=offset or 0)
    if json_:
        render.json_array(tasks)
    else:
        empty = {Status.PENDING: "No pending tasks.", Status.DONE: "No completed tasks."}
        render.task_list(tasks, empty.get(status, "No tasks."))


@app.command(cls=TasksCommand)
def show(ctx: typer.Context, task_id: IdArgument, json_: JsonOption = False) -> None:
    """Show one task in full.

    Example: tasks show 3
    """
    task = app_context(ctx).service.get(task_id)
    if json_:
        render.json_object(task)
    else:
        render.task_detail(task)


@app.command(cls=TasksCommand)
def done(ctx: typer.Context, task_ids: IdsArgument, json_: JsonOption = False) -> None:
    """Mark tasks done (all or none: nothing changes if an id does not exist).

    Example: tasks done 3 4
    """
    _set_done(ctx, task_ids, True, json_)


@app.command(cls=TasksCommand)
def reopen(ctx: typer.Context, task_ids: IdsArgument, json_: JsonOption = False) -> None:
    """Mark tasks not done again.

    Example: tasks reopen 3
    """
    _set_done(ctx, task_ids, False, json_)


def _set_done(ctx: typer.Context, task_ids: list[int], value: bool, json_: bool) -> None:
    tasks = app_context(ctx).service.set_done(task_ids, value)
    if json_:
        render.json_array(tasks)
    else:
        render.confirmations(tasks, "Completed" if value else "Reopened")


@app.command(cls=TasksCommand)
def edit(
    ctx: typer.Context,
    task_id: IdArgument,
    title: Annotated[str | None, typer.Option("--title", help="New title.", metavar="TEXT")] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", "-d", help="New description ('' clears it).", metavar="TEXT"),
    ] = None,
    done: Annotated[bool, typer.Option("--done", help="Mark the task done.")] = False,
    not_done: Annotated[bool, typer.Option("--not-done", help="Mark the task not done.")] = False,
    json_: JsonOption = False,
) -> None:
    """Change a task's title, description or state; only the options given change.

    Example: tasks edit 3 --title "Ship v1.1" --description ""
    """
    from taskcli.domain.models import TaskUpdate

    if done and not_done:
        raise InvalidInput("--done and --not-done cannot be used together")
    state = True if done else False if not_done else None
    given = {"title": title, "description": description, "done": state}
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        raise InvalidInput("nothing to change: give --title, --description, --done or --not-done")
    task = app_context(ctx).service.update(task_id, TaskUpdate(**changes))
    if json_:
        render.json_object(task)
    else:
        render.confirmations([task], "Updated")


@app.command(cls=TasksCommand)
def rm(
    ctx: typer.Context,
    task_ids: IdsArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_: JsonOption = False,
) -> None:
    """Delete tasks for good (all or none); asks first unless --yes.

    Example: tasks rm 3 4 --yes
    """
    service = app_context(ctx).service
    if not yes:
        if not stdin_is_terminal():
            raise InvalidInput("refusing to delete without confirmation; pass --yes")
        tasks = service.get_many(task_ids)
        _before_terminal_input(ctx)
        if not render.confirm_delete(tasks):
            raise Aborted("nothing deleted")
    deleted = service.delete(task_ids)
    if json_:
        render.json_array(deleted)
    else:
        render.confirmations(deleted, "Deleted")


@app.command(cls=TasksCommand)
def path(ctx: typer.Context) -> None:
    """Print the absolute path of the database in use.

    Example: sqlite3 "$(tasks path)" .schema
    """
    render.line(str(app_context(ctx).resolved_db_path()))
