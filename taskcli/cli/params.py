"""Parameters shared by the commands, and the context they run in."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from taskcli.cli.context import AppContext

MAX_ID = 2**63 - 1


def app_context(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj


def parse_id(value: str) -> int:
    """A task id: a positive integer that fits in 64 bits."""
    text = value.strip()
    if not text.isdigit() or not text.isascii() or not 0 < int(text) <= MAX_ID:
        raise typer.BadParameter(f"{value!r} is not a task id (a positive whole number)")
    return int(text)


JsonOption = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]


def count_parser(minimum: int) -> Any:
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
