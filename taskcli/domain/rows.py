"""Checks of listing rows (TaskRow) before anything shows them: every value must
be one taskcli writes. A block of rows is checked at a time, mostly by C-level
passes, so that checking costs a few percent of writing 100,000 rows; a row that
fails is then checked alone, to name the task and the field (DamagedTask)."""

from __future__ import annotations

import re
from functools import partial
from itertools import repeat
from operator import is_not, itemgetter
from typing import Any

from taskcli.domain.models import FIELDS, PUBLIC_FIELDS
from taskcli.domain.validation import (
    DUE_TEXT,
    LISTED_TIME,
    PRIORITY_TEXT,
    PROJECT_TEXT,
    TAGS_TEXT,
    check_stored,
    extra_ok,
    is_listed_time,
    is_project,
    tags_ok,
    tags_sorted,
)


def _columns(*kinds: str) -> list[Any]:
    return [itemgetter(index) for index, (_, kind) in enumerate(FIELDS) if kind in kinds]


_TIMES, _OPTIONAL_TIMES = _columns("time"), _columns("optional time")
# The attributes' columns: the form of a block of their values joined by newlines
# (ASCII names: the fast check), and the check of one value (any name).
_FORMS = [
    (
        itemgetter(PUBLIC_FIELDS.index(name)),
        re.compile(f"(?:(?:{form.pattern})\n)*(?:{form.pattern})"),
        check,
    )
    for name, form, check in [
        ("due", DUE_TEXT, DUE_TEXT.fullmatch),
        ("priority", PRIORITY_TEXT, PRIORITY_TEXT.fullmatch),
        ("project", PROJECT_TEXT, is_project),
        ("tags", TAGS_TEXT, tags_ok),
    ]
]
_UUID = itemgetter(PUBLIC_FIELDS.index("uuid"))
_UUID_CHARACTERS = re.compile(r"[0-9a-f\n-]*")
_TAGS = itemgetter(PUBLIC_FIELDS.index("tags"))
_EXTRA = itemgetter(PUBLIC_FIELDS.index("extra"))
# Text columns without a form of their own (the attributes' forms check theirs).
_FORMED = ("uuid", "due", "priority", "project")
_TEXTS, _OPTIONAL_TEXTS = (
    [
        itemgetter(index)
        for index, (name, kind) in enumerate(FIELDS)
        if kind == wanted and name not in _FORMED
    ]
    for wanted in ("text", "optional text")
)
_DONE = itemgetter(PUBLIC_FIELDS.index("done"))
_COMPLETED = itemgetter(PUBLIC_FIELDS.index("completed_at"))
_LISTED_TIMES = re.compile(f"(?:{LISTED_TIME.pattern}\n)*{LISTED_TIME.pattern}")
_LISTED_TIME_LENGTH = len("2026-11-26T17:02:27.356578Z")
_is_set = partial(is_not, None)


def check_rows(rows: list[Any]) -> None:
    """Raise DamagedTask unless every listing row holds only what taskcli stores.

    Times are written into the output as they were read, so each must be one
    taskcli wrote. They are checked a block at a time, joined by newlines, with one
    match and a length (well-formed times have one length and no newline, so the
    block has exactly as many as it should); the rest are C-level passes. All of it
    costs a few percent of writing the rows."""
    if not isinstance(rows[0], tuple):
        return  # Task objects, checked as they were loaded
    optional = [value for column in _OPTIONAL_TIMES for value in filter(_is_set, map(column, rows))]
    count = len(_TIMES) * len(rows) + len(optional)
    try:
        times = "\n".join([value for column in _TIMES for value in map(column, rows)] + optional)
    except TypeError:  # a time that is not text
        times = ""
    if not (
        len(times) == count * (_LISTED_TIME_LENGTH + 1) - 1
        and _LISTED_TIMES.fullmatch(times)
        and all(all(map(isinstance, map(column, rows), repeat(str))) for column in _TEXTS)
        and all(
            all(map(isinstance, map(column, rows), repeat((str, type(None)))))
            for column in _OPTIONAL_TEXTS
        )
        and set(map(_DONE, rows)) <= {0, 1}
        and list(map(bool, map(_DONE, rows))) == list(map(_is_set, map(_COMPLETED, rows)))
        and all(_all_match(column, form, check, rows) for column, form, check in _FORMS)
        and all(tags_sorted(tags) for tags in set(map(_TAGS, rows)) if ", " in tags)
        and _uuids_ok(list(map(_UUID, rows)))
        and all(map(extra_ok, set(map(_EXTRA, rows)) - {"{}"}))
    ):
        for row in rows:
            check_stored(row, is_listed_time)


def _all_match(column: Any, form: re.Pattern[str], check: Any, rows: list[Any]) -> bool:
    """Whether every value set in a column has its form: one match over its distinct
    values (few: dues, priorities, projects, tags repeat), joined by newlines (no
    form allows a newline, so the count of lines must agree); where that fails (a
    name in another script), each distinct value is checked."""
    values = set(map(column, rows))
    values.discard(None)
    if not values:
        return True
    if not all(map(isinstance, values, repeat(str))):
        return False
    joined = "\n".join(values)
    if joined.count("\n") == len(values) - 1 and form.fullmatch(joined) is not None:
        return True
    return all(check(value) for value in values)


def _uuids_ok(uuids: list[Any]) -> bool:
    """Whether each is a uuid in its text form: lowercase hex digits in groups of
    8-4-4-4-12. Checked by position over the block (each value 36 characters,
    dashes where they belong, nothing but hex digits besides) rather than by a
    pattern per value: a listing has one per row."""
    count = len(uuids)
    try:
        joined = "\n".join(uuids)
    except TypeError:
        return False
    return (
        len(joined) == 37 * count - 1
        and joined.count("\n") == count - 1
        and joined.count("-") == 4 * count
        and _UUID_CHARACTERS.fullmatch(joined) is not None
        and joined[36::37] == "\n" * (count - 1)
        and all(joined[dash::37] == "-" * count for dash in (8, 13, 18, 23))
    )
