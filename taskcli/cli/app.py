"""The Typer app: its help, its one error edge, the global options, and running it.

Commands live in the modules beside this one and register on `app` when the
package is imported (taskcli.cli imports them all).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from taskcli import __version__, render
from taskcli.cli.context import AppContext, db_location
from taskcli.errors import (
    EXIT_CODE_SUMMARY,
    ExitCode,
    OutputError,
    TaskCliError,
)


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
        from taskcli.cli.context import COMMAND_LINE

        # As the history will show it: never with a database password.
        line = tuple(sys.argv[1:] if args is None else args)
        if any(":" in arg or "//" in arg for arg in line):
            from taskcli.store.urls import hide_passwords

            line = hide_passwords(line)
        COMMAND_LINE.set(line)
        try:
            code = run_guarded(
                lambda: super(TasksGroup, self).main(
                    args, prog_name, complete_var, standalone_mode=False, **extra
                )
            )
        finally:
            from taskcli.store import close_all

            close_all()
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
            if ctx is not None and error.exit_code == ExitCode.USAGE:
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
    db_path = db_location(db) if db else None
    if ctx.obj is None:
        ctx.obj = AppContext(db_path=db_path)
    elif db_path is not None:
        ctx.obj.db_path = db_path
    if ctx.invoked_subcommand is None:
        from taskcli.cli.tasks import list_

        ctx.invoke(list_, ctx=ctx)


# Commands the server never runs as a warm-up (nor the tests as an example).
NOT_WARMED = ("server", "serve")


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
    by both once its help shows an example. The commands of NOT_WARMED are left
    out: the server's own, and `serve`, which runs until stopped."""
    import re
    import shlex

    found = []
    for name, sub in command().commands.items():
        if name in NOT_WARMED:
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
