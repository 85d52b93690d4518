"""The commands that read and change tasks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from taskcli import render
from taskcli.cli.app import TasksCommand, app
from taskcli.cli.params import (
    DueAfterFilter,
    DueBeforeFilter,
    IdArgument,
    IdsArgument,
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
    check_search,
    due_bound,
    is_none,
    parse_due,
    parse_priority,
    project_option,
    tag_option,
)
from taskcli.errors import Aborted, HandBack, InvalidInput

if TYPE_CHECKING:
    pass

DUE_HELP = (
    "When it is due: 2026-12-01, '2026-12-01 17:00' (local; or with Z/+01:00), today, "
    "tomorrow, yesterday, mon..sun (the next one after today), eow, eom, eoy, +3d, +2w, "
    "+1m, +1y, +4h, +30min, or a day with a time: 'tomorrow 17:00', 'fri 9:30', "
    "'2026-12-01 9am'. A day alone is due by its end."
)
PriorityOption = Annotated[
    str | None,
    typer.Option("--priority", "-p", help="H, M or L (or high, medium, low).", metavar="P"),
]


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
    due: Annotated[str | None, typer.Option("--due", help=DUE_HELP, metavar="WHEN")] = None,
    priority: PriorityOption = None,
    tag: Annotated[list[str] | None, tag_option("A tag (repeat for more).")] = None,
    project: Annotated[
        str | None, project_option("Project: dot-separated parts, e.g. work.web.")
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Add a task, or many from stdin with '-' (the options apply to each).

    The title is stored as typed: attributes are given only by options.

    Example: tasks add buy milk -d "two litres" --due tomorrow -p H -t shop
    """

    from taskcli.domain.models import TaskCreate

    attributes = {
        "due": None if due is None else parse_due(ctx, due),
        "priority": None if priority is None else parse_priority(priority),
        "tags": tag or [],
        "project": None if project is None or is_none(project) else project,
    }
    service = app_context(ctx).service
    if title == ["-"]:
        if description is not None:
            raise InvalidInput("--description cannot be used with '-' (one title per line)")
        # The options are checked once, before any input is read; each line then
        # needs only its title checked.
        shared = TaskCreate(title="-", **attributes)
        _before_terminal_input(ctx)
        with render.progress("Adding tasks") as update:
            titles = _read_titles(_stdin_bytes(), update)
            added = service.add_titles(titles, shared, progress=update)
        if json_:
            render.json_array(added)
        else:
            render.added_many(added)
        return
    task = service.add(TaskCreate(title=" ".join(title), description=description, **attributes))
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


def _read_titles(lines: BinaryIO, progress: render.Progress) -> Iterator[str]:
    """One clean title per non-blank line; an invalid line is named by its number.
    `progress(lines read, None)` is called every few thousand lines."""
    from taskcli.domain.validation import clean_title

    for number, raw in enumerate(lines, start=1):
        if number % 5000 == 0:
            progress(number, None)
        text = raw.decode("utf-8", "surrogateescape").rstrip("\n")
        if text.endswith("\r"):
            text = text[:-1]
        if not text.strip():
            continue
        try:
            yield clean_title(text)
        except InvalidInput as error:
            raise InvalidInput(f"line {number}: {error}") from None


@app.command("list", cls=TasksCommand)
def list_(
    ctx: typer.Context,
    done: Annotated[bool, typer.Option("--done", help="Only completed tasks.")] = False,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Pending and completed tasks.")] = False,
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
    json_: JsonOption = False,
) -> None:
    """List pending tasks (or --done, or --all), oldest first; filters combine (all must hold).

    Example: tasks list --all --json | jq '.[] | select(.done) | .title'
    """
    from taskcli.domain.query import Status, TaskQuery

    if done and all_:
        raise InvalidInput("--done and --all cannot be used together")
    if overdue and (done or all_):
        raise InvalidInput("--overdue lists pending tasks: it cannot be used with --done or --all")
    status = Status.ALL if all_ else Status.DONE if done else Status.PENDING
    query = filter_query(
        ctx, status, tag, no_tag, project, priority, overdue, due_before, due_after, no_due,
        search, sort, limit, offset,
    )  # fmt: skip
    filtered = query != TaskQuery(status=status, sort=query.sort, limit=limit, offset=offset or 0)
    tasks = app_context(ctx).service.list_tasks(query)
    if json_:
        render.json_array(tasks)
    else:
        empty = {Status.PENDING: "No pending tasks.", Status.DONE: "No completed tasks."}
        message = "No tasks match." if filtered else empty.get(status, "No tasks.")
        _show_list(ctx, tasks, message)


def filter_query(
    ctx: typer.Context,
    status: Any,
    tag: list[str] | None,
    no_tag: list[str] | None,
    project: str | None,
    priority: str | None,
    overdue: bool,
    due_before: str | None,
    due_after: str | None,
    no_due: bool,
    search: str | None,
    sort: str | None,
    limit: int | None,
    offset: int | None,
) -> Any:
    """The TaskQuery of the filter options `list` and `export` share."""
    from taskcli.domain.query import NO_PRIORITY, TaskQuery, parse_sort
    from taskcli.domain.validation import clean_project, clean_tag

    if search is not None:
        check_search(search)
    if no_due and (overdue or due_before is not None or due_after is not None):
        raise InvalidInput("--no-due cannot be used with --overdue, --due-before or --due-after")
    if priority is not None:
        priority = NO_PRIORITY if is_none(priority) else parse_priority(priority)
    return TaskQuery(
        status=status,
        tags=tuple(map(clean_tag, tag or ())),
        without_tags=tuple(map(clean_tag, no_tag or ())),
        project=None if project is None else clean_project(project),
        priority=priority,
        overdue=overdue,
        due_before=None if due_before is None else due_bound(ctx, due_before, after=False),
        due_after=None if due_after is None else due_bound(ctx, due_after, after=True),
        no_due=no_due,
        search=search or None,
        sort=() if sort is None else parse_sort(sort),
        limit=limit,
        offset=offset or 0,
    )


def _show_list(ctx: typer.Context, tasks: Any, empty_message: str) -> None:
    context = app_context(ctx)
    render.task_list(tasks, empty_message, now=context.now(), zone=context.local_zone())


@app.command(cls=TasksCommand)
def show(ctx: typer.Context, task_id: IdArgument, json_: JsonOption = False) -> None:
    """Show one task in full.

    Example: tasks show 3
    """
    task = app_context(ctx).service.get(task_id)
    if json_:
        render.json_object(task)
    else:
        render.task_detail(task, zone=app_context(ctx).local_zone())


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
    task_ids: IdsArgument,
    title: Annotated[str | None, typer.Option("--title", help="New title.", metavar="TEXT")] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", "-d", help="New description ('' clears it).", metavar="TEXT"),
    ] = None,
    due: Annotated[
        str | None,
        typer.Option("--due", help="New due (see tasks add --help), or none.", metavar="WHEN"),
    ] = None,
    priority: Annotated[
        str | None, typer.Option("--priority", "-p", help="H, M, L, or none.", metavar="P")
    ] = None,
    tag: Annotated[list[str] | None, tag_option("Add a tag (repeatable).")] = None,
    untag: Annotated[list[str] | None, tag_option("Remove a tag (repeatable).", "--untag")] = None,
    project: Annotated[str | None, project_option("New project, or none.")] = None,
    done: Annotated[bool, typer.Option("--done", help="Mark the tasks done.")] = False,
    not_done: Annotated[bool, typer.Option("--not-done", help="Mark the tasks not done.")] = False,
    json_: JsonOption = False,
) -> None:
    """Change tasks (all or none); only the options given change.

    Several ids take every option but --title and --description.

    Example: tasks edit 3 --title "Ship v1.1" --due fri -t release
    """
    from taskcli.domain.models import TaskUpdate

    if done and not_done:
        raise InvalidInput("--done and --not-done cannot be used together")
    if len(set(task_ids)) > 1 and (title is not None or description is not None):
        raise InvalidInput("--title and --description change one task at a time")
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = title
    if description is not None:
        changes["description"] = description
    if due is not None:
        changes["due"] = None if is_none(due) else parse_due(ctx, due)
    if priority is not None:
        changes["priority"] = parse_priority(priority)
    if project is not None:
        changes["project"] = None if is_none(project) else project
    if tag:
        changes["tags"] = tag
    if untag:
        changes["untag"] = untag
    if done or not_done:
        changes["done"] = done
    if not changes:
        raise InvalidInput(
            "nothing to change: give --title, --description, --due, --priority, --tag, "
            "--untag, --project, --done or --not-done"
        )
    tasks = app_context(ctx).service.update(task_ids, TaskUpdate(**changes))
    if json_:
        if len(set(task_ids)) == 1:
            render.json_object(tasks[0])
        else:
            render.json_array(tasks)
    else:
        render.confirmations(tasks, "Updated")


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
    """Print the absolute path of the database in use (or its URL, password hidden).

    Example: sqlite3 "$(tasks path)" .schema
    """
    from taskcli.store.urls import shown

    render.line(shown(app_context(ctx).resolved_db_path()))
