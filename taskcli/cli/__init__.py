"""The `tasks` command line: parse arguments, call the service, hand results to render.

app       the Typer app, its help, the one error edge, running a command
params    parameters shared by the commands
tasks     add, list, show, done, reopen, edit, rm, path
organize  next, tags, projects
history   undo, redo, history [show]
transfer  export, import
server    tasks server status | stop
serve     tasks serve: the HTTP API (taskcli[api], imported only when it runs)
"""

# The commands register on app in import order, which is their order in --help.
import taskcli.cli.tasks  # noqa: F401  (add, list, ... first)
from taskcli.cli import history, organize, serve, server, transfer  # noqa: F401
from taskcli.cli.app import app, command, examples, run, run_guarded

__all__ = ["app", "command", "examples", "run", "run_guarded"]
