"""Parameters shared by the commands, and the context they run in."""

from __future__ import annotations

from datetime import datetime, time, timezone
from typing import TYPE_CHECKING, Annotated, Any

import typer

from taskcli.cli.context import AppContext, db_location

if TYPE_CHECKING:
    from taskcli.domain.dates import Due

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

    def parse(value: str | int) -> int:
        if isinstance(value, int):  # a default
            return value
        text = value.strip()
        if not (text.isascii() and text.isdigit() and minimum <= int(text) <= MAX_ID):
            raise typer.BadParameter(f"{value!r} is not a whole number from {minimum} to {MAX_ID}")
        return int(text)

    return parse


# -- attributes -------------------------------------------------------------------------


def parse_due(ctx: typer.Context, text: str) -> Due:
    """A due date or time in plain words, read at the context's time and zone."""
    from taskcli.domain.dates import parse_due as parse

    context = app_context(ctx)
    return parse(text, context.now(), context.local_zone())


def due_bound(ctx: typer.Context, text: str, after: bool) -> datetime:
    """The instant a --due-before/--due-after WHEN stands for: for a day, its start
    (before) or its end (after), so both bounds leave that day out."""
    from taskcli.errors import InvalidInput

    due = parse_due(ctx, text)
    if due.day is None or after:
        return due.at
    zone = app_context(ctx).local_zone()
    try:
        return datetime.combine(due.day, time(0), tzinfo=zone).astimezone(timezone.utc)
    except OverflowError:
        raise InvalidInput(
            f"{text!r} is out of range: dates must be in the years 1 to 9999"
        ) from None


def check_search(text: str) -> None:
    """Search text must be text: invalid UTF-8 in argv arrives as lone surrogates."""
    from taskcli.errors import InvalidInput

    if any("\ud800" <= character <= "\udfff" for character in text):
        raise InvalidInput("search text is not valid UTF-8")


def parse_priority(text: str) -> str | None:
    from taskcli.domain.validation import clean_priority

    return clean_priority(text)


def is_none(text: str | None) -> bool:
    """Whether an option's value is the word that clears it."""
    return text is not None and text.strip().lower() == "none"


# -- shell completion ---------------------------------------------------------------------


# How long a completion waits for a locked database (seconds): a Tab key that
# hangs for the usual busy timeout would feel broken.
COMPLETION_BUSY_TIMEOUT = 0.5


def _completing_service(ctx: typer.Context) -> Any:
    """The service for completing a value. The main callback has not run, so --db
    (or the environment) is read here as it would be; the context may exist already
    (the command server makes one), and then --db still wins."""
    root = ctx.find_root()
    db = root.params.get("db")
    if root.obj is None:
        root.obj = AppContext()
    if db:
        root.obj.db_path = db_location(db)
    root.obj.busy_timeout = COMPLETION_BUSY_TIMEOUT
    return root.obj.service


def _complete(names: Any, incomplete: str) -> list[Any]:
    from taskcli.errors import TaskCliError

    try:
        return [item for item in names() if str(item[0]).startswith(incomplete)]
    except TaskCliError:
        return []


def complete_tag(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    return _complete(
        lambda: [
            (name, f"{pending} pending") for name, pending in _completing_service(ctx).tag_counts()
        ],
        incomplete,
    )


def complete_project(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    return _complete(
        lambda: [
            (name, f"{pending} pending")
            for name, pending in _completing_service(ctx).project_counts()
        ],
        incomplete,
    )


# Ids offered at most when completing one (the oldest pending ones that fit).
COMPLETION_IDS = 200


def complete_id(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Pending tasks' ids that start with what was typed, with their titles as help."""
    from taskcli.domain.query import TaskQuery

    if incomplete and not (incomplete.isascii() and incomplete.isdigit()):
        return []
    query = TaskQuery(id_prefix=incomplete or None, limit=COMPLETION_IDS)

    def ids() -> list[tuple[str, str]]:
        from taskcli.render import literal
        from taskcli.render.json_output import check_rows

        rows = list(_completing_service(ctx).list_tasks(query))
        if rows:
            check_rows(rows)  # a damaged task: no completion rather than its bytes
        return [(str(task.id), literal(task.title)) for task in rows]

    return _complete(ids, incomplete)


IdArgument = Annotated[
    int,
    typer.Argument(parser=parse_id, metavar="ID", show_default=False, autocompletion=complete_id),
]
IdsArgument = Annotated[
    list[int],
    typer.Argument(parser=parse_id, metavar="ID", show_default=False, autocompletion=complete_id),
]


def tag_option(help: str, *names: str) -> Any:
    """An option that takes tags (repeatable), completing the names in use."""
    return typer.Option(
        *(names or ("--tag", "-t")), help=help, metavar="TAG", autocompletion=complete_tag
    )


def project_option(help: str) -> Any:
    """The --project/-P option, completing the projects in use."""
    return typer.Option(
        "--project", "-P", help=help, metavar="NAME", autocompletion=complete_project
    )


# -- the filters `list` and `export` share ------------------------------------------

TagFilter = Annotated[
    list[str] | None, tag_option("Only tasks with this tag (repeat: with all of them).")
]
NoTagFilter = Annotated[
    list[str] | None, tag_option("Only tasks without this tag (repeatable).", "--no-tag")
]
ProjectFilter = Annotated[
    str | None,
    project_option("Only tasks in this project or below it (work: work, work.web; not workshop)."),
]
PriorityFilter = Annotated[
    str | None,
    typer.Option("--priority", "-p", help="Only this priority: H, M, L, or none.", metavar="P"),
]
OverdueFilter = Annotated[bool, typer.Option("--overdue", help="Only overdue tasks.")]
DueBeforeFilter = Annotated[
    str | None,
    typer.Option(
        "--due-before",
        help="Only tasks due before WHEN (a day: before it starts).",
        metavar="WHEN",
    ),
]
DueAfterFilter = Annotated[
    str | None,
    typer.Option(
        "--due-after", help="Only tasks due after WHEN (a day: after it ends).", metavar="WHEN"
    ),
]
NoDueFilter = Annotated[bool, typer.Option("--no-due", help="Only tasks without a due date.")]
SearchFilter = Annotated[
    str | None,
    typer.Option(
        "--search",
        "-s",
        help="Only tasks whose title or description contains TEXT (any case).",
        metavar="TEXT",
    ),
]
SortOption = Annotated[
    str | None,
    typer.Option(
        "--sort",
        help="Order by KEYS, comma-separated: id, created, updated, due, priority, title, "
        "project; '-key' reverses one. Tasks without the value come last; ties by id.",
        metavar="KEYS",
    ),
]
LimitOption = Annotated[
    int | None,
    typer.Option(parser=count_parser(1), help="Show at most N tasks (N > 0).", metavar="N"),
]
OffsetOption = Annotated[
    int | None,
    typer.Option(parser=count_parser(0), help="Skip the first N tasks.", metavar="N"),
]
