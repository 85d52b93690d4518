"""`tasks undo`, `tasks redo` and `tasks history`: the operations log."""

from __future__ import annotations

from typing import Annotated

import typer

from taskcli import render
from taskcli.cli.app import TasksCommand, TasksGroup, app
from taskcli.cli.params import JsonOption, app_context, count_parser


@app.command(cls=TasksCommand)
def undo(ctx: typer.Context, json_: JsonOption = False) -> None:
    """Revert the last change not yet undone (run again to go further back).

    Example: tasks undo
    """
    render.undone(app_context(ctx).service.undo(), undo=True, json_=json_)


@app.command(cls=TasksCommand)
def redo(ctx: typer.Context, json_: JsonOption = False) -> None:
    """Re-apply the change undone last (any new change ends what can be redone).

    Example: tasks redo --json
    """
    render.undone(app_context(ctx).service.redo(), undo=False, json_=json_)


history_app = typer.Typer(
    cls=TasksGroup,
    help="The changes recorded for undo, newest first (without a command: the list).\n\n"
    "Example: tasks history --limit 5",
    invoke_without_command=True,
)
app.add_typer(history_app, name="history")


@history_app.callback()
def history(
    ctx: typer.Context,
    limit: Annotated[
        int | None,
        typer.Option(parser=count_parser(1), help="Show at most N changes.", metavar="N"),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """The changes recorded for undo, newest first: number, age, tasks, whether undone
    and the command.

    Example: tasks history --limit 5
    """
    if ctx.invoked_subcommand is None:
        render.history_list(app_context(ctx).service.history(limit), json_=json_)


@history_app.command("show", cls=TasksCommand)
def history_show(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(parser=count_parser(1), metavar="N", show_default=False)],
    json_: JsonOption = False,
) -> None:
    """One recorded change: each task it touched, before and after.

    Example: tasks history show 1
    """
    operation, tasks = app_context(ctx).service.operation(seq)
    render.operation_detail(operation, tasks, json_=json_)
