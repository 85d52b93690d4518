"""`tasks server`: the command server's status, and stopping it."""

from __future__ import annotations

import typer

from taskcli import errors, render
from taskcli.cli.app import TasksCommand, TasksGroup, app
from taskcli.cli.params import JsonOption

server_app = typer.Typer(
    cls=TasksGroup,
    help="The command server that keeps taskcli loaded between commands "
    "(without a command: its status).",
    invoke_without_command=True,
)
app.add_typer(server_app, name="server")


@server_app.callback()
def server_callback(ctx: typer.Context) -> None:
    """Without a command, `tasks server` is `tasks server status`."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(server_status)


@server_app.command("status", cls=TasksCommand)
def server_status(json_: JsonOption = False) -> None:
    """Show whether commands go through a command server, and its state.

    Example: tasks server status
    """
    from taskcli.fastpath import control

    status = control.server_status()
    if json_:
        render.json_value(status)
    else:
        render.server_status(status)


@server_app.command("start", cls=TasksCommand)
def server_start(json_: JsonOption = False) -> None:
    """Start the command server now, so that the first command is warm (for a
    login script); nothing happens if it runs already.

    Example: tasks server start
    """
    from taskcli.fastpath import control

    status = control.start_server()
    if status["enabled"] and not status["running"]:
        raise errors.ServerNotStarted()
    if json_:
        render.json_value(status)
    else:
        render.server_started(status)


@server_app.command("stop", cls=TasksCommand)
def server_stop() -> None:
    """Stop the command server (the next command starts a new one).

    Example: tasks server stop
    """
    from taskcli.fastpath import control

    render.servers_stopped(control.stop_servers())
