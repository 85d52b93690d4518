"""SQL that differs between SQLite and PostgreSQL, written once for both.

The service builds its queries from these constructs; each compiles to what its
dialect does best (SQLite's forms are the ones taskcli has always used). Raw SQL
text the log and the imports run goes through `run`, which adapts SQLite's
spelling (`?` marks, `a IS b` for null-safe equality) to PostgreSQL's.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from sqlalchemy import Boolean, Integer, LargeBinary, String, and_, cast, func, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

# The SQL function `taskcli_contains(text, folded_needle)` SQLite's search uses: its
# own case-insensitive matching (LIKE, lower()) knows ASCII letters only.
SEARCH_FUNCTION = "taskcli_contains"
# Bytes of search text LIKE is used for: SQLite refuses patterns over 50,000 bytes
# (SQLITE_LIMIT_LIKE_PATTERN_LENGTH), and escaping may double the text.
_LIKE_LIMIT = 20_000
_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def contains_folded(text: str | None, folded: str) -> bool:
    """Whether `folded` (already casefolded) occurs in `text`, ignoring case."""
    return text is not None and folded in text.casefold()


def _function(name: str, type_: Any, doc: str, sqlite: str, postgresql: str) -> Any:
    """A SQL function of taskcli's that compiles to `sqlite` or `postgresql`, each a
    template whose {} is the function's arguments, compiled."""
    made = type(name, (FunctionElement,), {"type": type_, "inherit_cache": True,
                                              "name": name, "__doc__": doc})  # fmt: skip
    for dialect, template in (("sqlite", sqlite), ("postgresql", postgresql)):

        def compile_(element: Any, compiler: Any, template: str = template, **kw: Any) -> str:
            return template.format(compiler.process(element.clauses, **kw))

        compiles(made, dialect)(compile_)
    return made


# SQLAlchemy stores times on SQLite as 'YYYY-MM-DD HH:MM:SS.ffffff' (always six digits).
listed_time = _function(
    "listed_time",
    String(),
    "A stored time as listings show it: RFC 3339 UTC text with six digits of "
    "fraction ('2026-11-26T17:02:27.356578Z'), made by the database.",
    "(replace({}, ' ', 'T') || 'Z')",
    """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
)
stored_time_text = _function(
    "stored_time_text",
    String(),
    "A stored time in SQLite's stored form ('YYYY-MM-DD HH:MM:SS.ffffff', UTC), the "
    "form records of an import compare with.",
    "{}",
    "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
)
as_text = _function(
    "as_text",
    String(),
    "A text column as text, even where someone changed its type (jsonb).",
    "{}",
    "CAST({} AS TEXT)",
)
position = _function(
    "position",
    Integer(),
    "Where text `b` starts in text `a` (1-based), 0 if it does not occur.",
    "instr({})",
    "strpos({})",
)
id_text = _function(
    "id_text",
    String(),
    "An integer column as its decimal text.",
    "{}",  # substr() reads an integer as its text
    "CAST({} AS TEXT)",
)
nocase = _function(
    "nocase",
    String(),
    "Text for sorting with ASCII letters' case ignored and everything else by code "
    "point: SQLite's NOCASE collation, and the same order on PostgreSQL.",
    "{} COLLATE NOCASE",
    f"translate({{}}, '{_ASCII_UPPER}', '{_ASCII_UPPER.lower()}') COLLATE \"C\"",
)
any_true = _function(
    "any_true",
    Boolean(),
    "Whether a condition holds for some row of a group (an aggregate).",
    "max({})",
    "bool_or({})",
)
not_text = _function(
    "not_text",
    Boolean(),
    "Whether a stored value is not text (SQLite's columns hold any type; a "
    "PostgreSQL column only its own).",
    "typeof({}) != 'text'",
    "false",
)


def listed(column: Any) -> Any:
    """A column as listings select it: a stored time as RFC 3339 text, made by the
    database. Turning 300,000 stored times into datetimes only to format them again
    would cost more than all the rest of a 100,000-task listing."""
    from sqlmodel.sql.sqltypes import UTCDateTime

    if isinstance(column.type, UTCDateTime):
        return listed_time(column).label(column.name)
    if column.name in ("tags", "extra"):  # their stored JSON text, whatever the column holds
        return as_text(column).label(column.name)
    return column


def contains_search(column: Any, needle: str, dialect: str) -> Any:
    """Whether `column` contains `needle`, ignoring case.

    On SQLite, ASCII text (nearly all) is matched by its own LIKE, whose
    case-insensitivity is casefolding for ASCII; any other text by Python's casefold,
    which SQLite lacks. LIKE's wildcards in the text are escaped: it is matched
    literally.

    On PostgreSQL (whose lower() depends on the database's locale) this is a
    superset: ASCII text matched exactly (its ASCII letters lowered), and every
    text that is not ASCII, for the caller to decide with casefold
    (`matches_search`)."""
    folded = needle.casefold()
    if dialect == "postgresql":
        ascii_only = func.octet_length(column) == func.char_length(column)
        if not folded.isascii():  # ASCII text casefolds to ASCII: it cannot match
            return ~ascii_only
        lowered = func.translate(column, _ASCII_UPPER, _ASCII_UPPER.lower())
        return or_(and_(ascii_only, position(lowered, literal(folded, String)) > 0), ~ascii_only)
    by_python = getattr(func, SEARCH_FUNCTION)(column, folded)
    if len(folded.encode("utf-8", "surrogatepass")) > _LIKE_LIMIT:
        return by_python  # longer than SQLite allows a LIKE pattern to be
    ascii_only = func.length(column) == func.length(cast(column, LargeBinary))
    by_like = and_(ascii_only, column.contains(folded, autoescape=True))
    return or_(by_like, and_(~ascii_only, by_python))


def matches_search(needle: str, *texts: str | None) -> bool:
    """Whether any of the texts contains `needle`, ignoring case (casefold)."""
    folded = needle.casefold()
    return any(contains_folded(text, folded) for text in texts)


# -- raw SQL ---------------------------------------------------------------------------

# `a IS b` (null-safe equality in SQLite) where b is not a keyword.
_NULL_SAFE = re.compile(r"\bIS\s+(?!NULL\b|NOT\b|TRUE\b|FALSE\b)")


def dialect_of(session: Session) -> str:
    return session.connection().dialect.name


@lru_cache(maxsize=512)
def _adapt(sql: str) -> str:
    return _NULL_SAFE.sub("IS NOT DISTINCT FROM ", sql.replace("%", "%%").replace("?", "%s"))


def run(session: Session, sql: str, parameters: tuple[Any, ...] = ()) -> Any:
    """Run raw SQL written in SQLite's spelling on the session's connection."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sql = _adapt(sql)
    return connection.exec_driver_sql(sql, parameters)


def high_water(dialect: str) -> str:
    """SQL for the highest task id ever handed out (0 if none)."""
    if dialect == "postgresql":
        # A function, not the sequence's row: it needs only USAGE, as nextval does.
        return "coalesce(pg_sequence_last_value('task_id_seq'), 0)"
    return "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'task'), 0)"
