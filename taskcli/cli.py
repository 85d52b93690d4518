"""The `tasks` command line: parse arguments, call the service, hand results to render."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from taskcli import __version__, render
from taskcli.context import AppContext
from taskcli.errors import (
    EXIT_CODE_SUMMARY,
    Aborted,
    ExitCode,
    HandBack,
    InvalidInput,
    OutputError,
    TaskCliError,
)

if TYPE_CHECKING:
    from taskcli.models import TaskCreate

MAX_ID = 2**63 - 1


class _HelpArgument(TyperArgument):
    """An argument as --help shows it: `ID`, `ID...`, `[ID]...` (Typer's own reads
    `{ID...}...` and adds a `<list[int]>` type column)."""

    @property
    def display_name_raw(self) -> str:
        return (self.metavar or self.name.upper()) + ("..." if self.nargs != 1 else "")

    def get_usage_pieces(self, ctx: typer.Context) -> list[str]:
        return [self.display_name_raw if self.required else f"[{self.display_name_raw}]"]

    def display_type_rich(self, ctx: typer.Context) -> str | None:
        return None


class _HelpOption(TyperOption):
    """An option as --help shows it: a flag alone, a value by its metavar (Typer's own
    shows `<bool>` beside every flag)."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:
        return None if self.is_flag else super().display_type_rich(ctx)


class _Help:
    """Clean help for a command or group: Typer gives no way to choose the class of
    its parameters (the --help option included), so they are given ours here."""

    def get_params(self, ctx: typer.Context) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if type(param) is TyperArgument:
                param.__class__ = _HelpArgument
            elif type(param) is TyperOption:
                param.__class__ = _HelpOption
        return params

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        # Parsing the command line runs --help, --version and the completion options,
        # the only output not written by render: a failed write is an output error.
        with render.writing():
            return super().make_context(*args, **kwargs)  # type: ignore[misc]


class TasksCommand(_Help, TyperCommand):
    """A command with clean help."""


class TasksGroup(_Help, TyperGroup):
    """Runs a command and turns every failure into one `Error:` line and an exit code."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        render.tolerate_unencodable_output()
        code = run_guarded(
            lambda: super(TasksGroup, self).main(
                args, prog_name, complete_var, standalone_mode=False, **extra
            )
        )
        if standalone_mode:
            sys.exit(code)
        return code

    def _main_shell_completion(self, *args: Any, **kwargs: Any) -> None:
        with render.writing():
            super()._main_shell_completion(*args, **kwargs)


def run_guarded(invoke: Any) -> int:
    """Call `invoke` (Click's main without standalone mode) and return the exit code."""
    try:
        result = invoke()
        # Without standalone mode, Click returns the code of a typer.Exit it caught.
        return result if isinstance(result, int) else 0
    except OutputError as error:
        render.error(str(error))
        _discard_output()  # or the final flush would fail, and be reported, again
        return int(error.exit_code)
    except TaskCliError as error:
        render.error(str(error))
        return int(error.exit_code)
    except typer.Abort:
        render.error("aborted")
        return int(ExitCode.FAILED)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from
        # complaining when it flushes stdout at exit.
        _discard_output()
        return int(ExitCode.FAILED)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except Exception as error:
        # Click's own errors (usage errors among them) carry an exit code and a message.
        if hasattr(error, "exit_code") and hasattr(error, "format_message"):
            message = error.format_message() or "invalid usage"
            ctx = getattr(error, "ctx", None)
            if ctx is not None and error.exit_code == 2:
                message = f"{message} (see {ctx.command_path} --help)"
            render.error(message)
            return error.exit_code
        if os.environ.get("TASKS_DEBUG"):
            raise
        render.error(f"internal error ({type(error).__name__}: {error}); please report it")
        return int(ExitCode.INTERNAL)


def _discard_output() -> None:
    """Send what is still buffered for stdout, and anything after, to /dev/null."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


app = typer.Typer(
    name="tasks",
    cls=TasksGroup,
    help="A task manager for the terminal and for shell scripts.",
    epilog="Exit codes: "
    + ", ".join(f"{int(code)} {summary}" for code, summary in EXIT_CODE_SUMMARY.items())
    + ".",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        render.line(f"taskcli {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database file to use (default: $TASKS_DB, else tasks.db in the user data dir).",
            show_default=False,
            metavar="PATH",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """A task manager for the terminal and for shell scripts.

    Run without a command to list pending tasks.
    """
    # A plain string, not a typer Path: problems with the file are storage errors (exit 3).
    db_path = Path(db) if db else None
    if ctx.obj is None:
        ctx.obj = AppContext(db_path=db_path)
    elif db_path is not None:
        ctx.obj.db_path = db_path
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_, ctx=ctx)


def _app_context(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj


def parse_id(value: str) -> int:
    """A task id: a positive integer that fits in 64 bits."""
    text = value.strip()
    if not text.isdigit() or not text.isascii() or not 0 < int(text) <= MAX_ID:
        raise typer.BadParameter(f"{value!r} is not a task id (a positive whole number)")
    return int(text)


JsonOption = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]


def _count(minimum: int) -> Any:
    """A parser for a count of tasks: a whole number from `minimum` up to what SQLite
    can take (beyond it SQLite would overflow)."""

    def parse(value: str) -> int:
        text = value.strip()
        if not (text.isascii() and text.isdigit() and minimum <= int(text) <= MAX_ID):
            raise typer.BadParameter(f"{value!r} is not a whole number from {minimum} to {MAX_ID}")
        return int(text)

    return parse


IdArgument = Annotated[int, typer.Argument(parser=parse_id, metavar="ID", show_default=False)]
IdsArgument = Annotated[
    list[int], typer.Argument(parser=parse_id, metavar="ID", show_default=False)
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
    json_: JsonOption = False,
) -> None:
    """Add a task, or many from stdin with '-'.

    Example: tasks add buy milk -d "two litres"
    """
    from taskcli.models import TaskCreate

    service = _app_context(ctx).service
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
    if _app_context(ctx).in_server and os.isatty(0):
        raise HandBack


def stdin_is_terminal() -> bool:
    isatty = getattr(sys.stdin, "isatty", None)
    return bool(isatty and isatty())


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
        typer.Option(parser=_count(1), help="Show at most N tasks (N > 0).", metavar="N"),
    ] = None,
    offset: Annotated[
        int | None, typer.Option(parser=_count(0), help="Skip the first N tasks.", metavar="N")
    ] = None,
    json_: JsonOption = False,
) -> None:
    """List pending tasks (or --done, or --all), oldest first.

    Example: tasks list --all --json | jq '.[] | select(.done) | .title'
    """
    from taskcli.service import Status

    if done and all_:
        raise InvalidInput("--done and --all cannot be used together")
    status = Status.ALL if all_ else Status.DONE if done else Status.PENDING
    service = _app_context(ctx).service
    tasks = service.list_tasks(status, limit=limit, offset=offset or 0)
    if json_:
        render.json_array(tasks)
    else:
        empty = {Status.PENDING: "No pending tasks.", Status.DONE: "No completed tasks."}
        render.task_list(tasks, empty.get(status, "No tasks."), service.highest_id())


@app.command(cls=TasksCommand)
def show(ctx: typer.Context, task_id: IdArgument, json_: JsonOption = False) -> None:
    """Show one task in full.

    Example: tasks show 3
    """
    task = _app_context(ctx).service.get(task_id)
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
    tasks = _app_context(ctx).service.set_done(task_ids, value)
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
    from taskcli.models import TaskUpdate

    if done and not_done:
        raise InvalidInput("--done and --not-done cannot be used together")
    state = True if done else False if not_done else None
    given = {"title": title, "description": description, "done": state}
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        raise InvalidInput("nothing to change: give --title, --description, --done or --not-done")
    task = _app_context(ctx).service.update(task_id, TaskUpdate(**changes))
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
    service = _app_context(ctx).service
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
    render.line(str(_app_context(ctx).resolved_db_path()))


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


@server_app.command("stop", cls=TasksCommand)
def server_stop() -> None:
    """Stop the command server (the next command starts a new one).

    Example: tasks server stop
    """
    from taskcli.fastpath import control

    render.servers_stopped(control.stop_servers())


@functools.cache
def command() -> TasksGroup:
    """The click command Typer builds from `app`: built once per process (the
    command server builds it before it forks)."""
    return typer.main.get_command(app)


def examples() -> list[list[str]]:
    """The arguments of every command's documented example (the `Example: tasks
    ...` line of its help), in the order the commands are declared; the server's
    own commands excepted. The command server warms up by running them, and the
    tests run them with the server and without it, so a new command is covered
    by both once its help shows an example."""
    import re
    import shlex

    found = []
    for name, sub in command().commands.items():
        if name == "server":
            continue
        match = re.search(r"Example: .*?\btasks ([^|)]*)", sub.help or "")
        if match is None:
            raise LookupError(f"the help of `tasks {name}` shows no example")
        found.append(shlex.split(match.group(1)))
    return found


def run(args: Sequence[str] | None = None, obj: AppContext | None = None) -> int:
    """Run one command (sys.argv by default) and return its exit code; `obj` is
    the context to run it with (tests inject one; the default is made from the
    options and the environment)."""
    try:
        return command().main(args=args, standalone_mode=False, obj=obj)
    except SystemExit as exit_:
        # Shell completion ends the process itself, whatever the mode.
        return exit_.code if isinstance(exit_.code, int) else 0
