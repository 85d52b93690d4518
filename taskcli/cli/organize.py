"""The commands that help choose what to do: next, tags, projects."""

from __future__ import annotations

from typing import Annotated

import typer

from taskcli import render
from taskcli.cli.app import TasksCommand, app
from taskcli.cli.params import JsonOption, app_context, count_parser


@app.command("next", cls=TasksCommand)
def next_(
    ctx: typer.Context,
    limit: Annotated[
        int,
        typer.Option(parser=count_parser(1), help="Show at most N tasks.", metavar="N"),
    ] = 10,
    json_: JsonOption = False,
) -> None:
    """What to do now: pending tasks, soonest due first (so overdue first), then
    priority H, M, L, none, then oldest first.

    Example: tasks next --limit 5
    """
    from taskcli.cli.tasks import _show_list

    tasks = app_context(ctx).service.next_tasks(limit)
    if json_:
        render.json_array(tasks)
    else:
        _show_list(ctx, tasks, "No pending tasks.")


@app.command(cls=TasksCommand)
def tags(ctx: typer.Context, json_: JsonOption = False) -> None:
    """Every tag in use, with how many pending tasks have it.

    Example: tasks tags --json
    """
    _counts(app_context(ctx).service.tag_counts(), json_, "No tags.")


@app.command(cls=TasksCommand)
def projects(ctx: typer.Context, json_: JsonOption = False) -> None:
    """Every project, with how many pending tasks it and its sub-projects hold.

    Example: tasks projects
    """
    _counts(app_context(ctx).service.project_counts(), json_, "No projects.")


def _counts(counts: list[tuple[str, int]], json_: bool, empty_message: str) -> None:
    if json_:
        render.json_value([{"name": name, "pending": pending} for name, pending in counts])
    else:
        render.name_counts(counts, empty_message)
