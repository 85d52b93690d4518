"""Input rules for task text, shared by the input models and the bulk-add path.

Pure functions with no third-party imports: they are cheap to call once per
line of a 100,000-line `tasks add -`. They raise InvalidInput, which pydantic lets
through its validators unchanged, so the input models raise it too.

The rules for what taskcli itself stores are here too: output checks every task it
reads against them, so a file changed behind taskcli's back cannot make the output
break its contract.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

from taskcli.errors import DamagedTask, InvalidInput

TITLE_MAX = 500
DESCRIPTION_MAX = 65_536

# Lone surrogates are what Python makes of invalid UTF-8 in argv (surrogateescape).
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_TITLE_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_TITLE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DESCRIPTION_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _check_text(value: str, field: str, control: re.Pattern[str]) -> None:
    if _SURROGATE.search(value):
        raise InvalidInput(f"{field} is not valid UTF-8")
    bad = control.search(value)
    if bad:
        raise InvalidInput(f"{field} contains a control character (U+{ord(bad.group()):04X})")


def clean_title(value: str) -> str:
    """Return the title with surrounding whitespace stripped, or raise InvalidInput."""
    title = value.strip()
    if not title:
        raise InvalidInput("title must not be empty")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"title is longer than {TITLE_MAX} characters ({len(title)})")
    if title.isprintable():
        # No line break, control character or lone surrogate (nearly every title):
        # decided without the patterns below, which a 100,000-line add would run
        # 300,000 times.
        return title
    if _TITLE_LINE_BREAK.search(title):
        raise InvalidInput("title must be a single line")
    _check_text(title, "title", _TITLE_CONTROL)
    return title


def clean_description(value: str | None) -> str | None:
    """Return the description unchanged (an empty one becomes None), or raise InvalidInput."""
    if value is None or value == "":
        return None
    if len(value) > DESCRIPTION_MAX:
        raise InvalidInput(
            f"description is longer than {DESCRIPTION_MAX} characters ({len(value)})"
        )
    _check_text(value, "description", _DESCRIPTION_CONTROL)
    return value


# -- what taskcli itself stores -----------------------------------------------------
# A stored time is what taskcli writes: UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' (or with
# ISO's 'T', which listings cannot tell apart: they read the time as RFC 3339 text,
# 'YYYY-MM-DDTHH:MM:SS.ffffffZ'). The patterns accept only real dates, leap days
# included, so a value they pass always parses, and cost one match per value.
_LEAP_YEAR = r"(?:[0-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DATE = (
    r"(?:(?!0000)[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    f"|{_LEAP_YEAR}-02-29)"
)
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}"
STORED_TIME = re.compile(f"{_DATE}[ T]{_CLOCK}")
LISTED_TIME = re.compile(f"{_DATE}T{_CLOCK}Z")


# Public forms of the attributes, as stored and listed (see domain.models).
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DUE_TEXT = re.compile(f"{_DATE}(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z)?")
PRIORITY_TEXT = re.compile("[HML]")
# Tags as stored: their JSON array, sorted, exactly as json.dumps writes it (the
# pattern: ASCII tags only, the fast check; tags_ok checks any).
TAGS_TEXT = re.compile(r'\[\]|\["[A-Za-z0-9_.-]{1,64}"(?:, "[A-Za-z0-9_.-]{1,64}")*\]')
# What each attribute's value must look like (a value that is set).
ATTRIBUTE_FORMS = {"uuid": UUID_TEXT, "due": DUE_TEXT, "priority": PRIORITY_TEXT}


# Characters of a task's kept fields (`extra`, as stored): what other tools wrote
# that taskcli has no field for, kept so that export can write it back.
EXTRA_MAX = 1_000_000
# How deeply arrays and objects may nest in them (Taskwarrior's own are 3 deep).
EXTRA_DEPTH = 64


def extra_text(extra: Mapping[str, Any] | None) -> str:
    """The stored (and JSON) form of a task's kept fields: a JSON object."""
    return json.dumps(extra, ensure_ascii=False, allow_nan=False) if extra else "{}"


def extra_ok(value: Any) -> bool:
    """Whether stored kept fields (their text, or the object it holds) are a JSON
    object in exactly the form taskcli writes."""
    if isinstance(value, dict):
        return True
    if not isinstance(value, str) or len(value) > EXTRA_MAX:
        return False
    if value == "{}":
        return True
    try:
        loaded = json.loads(value)
        return (
            isinstance(loaded, dict)
            and bool(loaded)
            and json_depth(loaded) <= EXTRA_DEPTH
            and extra_text(loaded) == value
        )
    except (ValueError, RecursionError):
        return False


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a JSON value (counted without recursion,
    and no further than one level past EXTRA_DEPTH)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= EXTRA_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, depth + 1) for child in children)
    return deepest


def tags_text(tags: Iterable[str]) -> str:
    """The stored (and JSON) form of a set of tags: a JSON array sorted by code point."""
    tags = sorted(set(tags))
    return '["' + '", "'.join(tags) + '"]' if tags else "[]"


def tags_ok(value: Any) -> bool:
    """Whether stored tags (their text, or the list it holds) are a sorted set of tags
    in exactly the form taskcli writes."""
    if isinstance(value, str):
        return tags_text(names := stored_tags(value)) == value and tags_ok(names)
    return isinstance(value, list) and all(map(is_tag, value)) and _sorted_once(value)


def stored_tags(text: str) -> list[str]:
    """The names in stored tags text (well-formed or not: tags_ok tells)."""
    if text == "[]" or not (text.startswith('["') and text.endswith('"]')):
        return []
    return text[2:-2].split('", "')


def tags_sorted(text: str) -> bool:
    """Whether stored tags (TAGS_TEXT) are sorted with no duplicates."""
    return _sorted_once(text[2:-2].split('", "'))


def _sorted_once(tags: list[str]) -> bool:
    return all(a < b for a, b in pairwise(tags))


def check_stored(row: Sequence[Any], is_time: Callable[[Any], Any]) -> None:
    """Raise DamagedTask naming the first field of a stored task that taskcli would
    never have written. `row` holds the public fields in their order (FIELDS);
    `is_time(value)` tells whether a value is a well-formed time as read."""
    from taskcli.domain.models import FIELDS

    task_id = row[0]
    for (name, kind), value in zip(FIELDS, row, strict=True):
        optional = kind.startswith("optional ")
        if optional and value is None:
            continue
        if kind.endswith("text") and not isinstance(value, str):
            expected = "text or null" if optional else "text"
            raise DamagedTask(task_id, name, value, expected)
        if kind == "flag" and (type(value) not in (int, bool) or value not in (0, 1)):
            raise DamagedTask(task_id, name, value, "true or false")
        if kind.endswith("time") and not is_time(value):
            raise DamagedTask(task_id, name, value, "a time as taskcli writes it")
        if name in ATTRIBUTE_FORMS and not ATTRIBUTE_FORMS[name].fullmatch(value):
            raise DamagedTask(task_id, name, value, f"a {name} as taskcli writes it")
        if name == "project" and not is_project(value):
            raise DamagedTask(task_id, name, value, "a project name")
        if kind == "tags" and not tags_ok(value):
            raise DamagedTask(task_id, name, value, "a sorted set of tags")
        if kind == "object" and not extra_ok(value):
            raise DamagedTask(task_id, name, value, "a JSON object as taskcli writes it")
    values = dict(zip((name for name, _kind in FIELDS), row, strict=True))
    if values["done"] and values["completed_at"] is None:
        raise DamagedTask(task_id, "completed_at", None, "the time a done task was done")
    if not values["done"] and values["completed_at"] is not None:
        raise DamagedTask(
            task_id, "completed_at", values["completed_at"], "null (the task is not done)"
        )


def is_listed_time(value: Any) -> bool:
    """Whether `value` is a time as listings read it (RFC 3339 text)."""
    return isinstance(value, str) and LISTED_TIME.fullmatch(value) is not None


# -- attributes ---------------------------------------------------------------------
TAG_MAX = 64
PROJECT_MAX = 200
PRIORITIES = ("H", "M", "L")
_PRIORITY_WORDS = {"h": "H", "high": "H", "m": "M", "medium": "M", "l": "L", "low": "L"}
# Fast patterns for the common case, ASCII names; others are checked a character
# at a time (_name_ok). A project is dot-separated parts of the same characters.
_ASCII_TAG = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ASCII_SEGMENT = r"[A-Za-z0-9_-]+"
_ASCII_PROJECT = re.compile(rf"{_ASCII_SEGMENT}(?:\.{_ASCII_SEGMENT})*")
# A project name as stored, ASCII (the length is checked apart); others: is_project.
PROJECT_TEXT = re.compile(rf"(?=[^\n]{{1,{PROJECT_MAX}}}(?:\n|$)){_ASCII_PROJECT.pattern}")
TAG_CHARACTERS = "letters, digits, '_', '-' and '.'"


def _name_ok(value: str, punctuation: str) -> bool:
    """Letters of any script (with their combining marks, never first), decimal
    digits, and `punctuation`."""
    for character in value:
        if character in punctuation:
            continue
        category = unicodedata.category(character)
        if category[0] not in "LM" and category != "Nd":
            return False
    return not unicodedata.category(value[0]).startswith("M")


def clean_priority(value: str) -> str | None:
    """'H', 'M' or 'L' from any case of h/m/l/high/medium/low; None for 'none'."""
    word = value.strip().lower()
    if word == "none":
        return None
    if word not in _PRIORITY_WORDS:
        raise InvalidInput(f"{value!r} is not a priority (use H, M, L, high, medium, low or none)")
    return _PRIORITY_WORDS[word]


def clean_tag(value: str) -> str:
    """A tag exactly as given, or InvalidInput: 1 to 64 of TAG_CHARACTERS."""
    if not is_tag(value):
        raise InvalidInput(
            f"{value!r} is not a tag: use 1 to {TAG_MAX} {TAG_CHARACTERS} (no spaces)"
        )
    return value


def clean_tags(values: Iterable[str]) -> list[str]:
    """Tags as a set: each checked, duplicates dropped, sorted by code point."""
    return sorted({clean_tag(value) for value in values})


def clean_project(value: str) -> str:
    """A project name: dot-separated segments of tag characters, at most 200 characters."""
    if len(value) > PROJECT_MAX:
        raise InvalidInput(f"project name is longer than {PROJECT_MAX} characters ({len(value)})")
    if not is_project(value):
        raise InvalidInput(
            f"{value!r} is not a project name: use dot-separated parts of letters, digits, "
            "'_' and '-' (e.g. work.web)"
        )
    return value


def is_tag(value: Any) -> bool:
    """Whether `value` is a tag: 1 to 64 of TAG_CHARACTERS."""
    if not isinstance(value, str) or not 0 < len(value) <= TAG_MAX:
        return False
    if value.isascii():
        return _ASCII_TAG.fullmatch(value) is not None
    return _name_ok(value, "_.-")


def is_project(value: Any) -> bool:
    """Whether `value` is a project name (see clean_project)."""
    if not isinstance(value, str) or not 0 < len(value) <= PROJECT_MAX:
        return False
    if value.isascii():
        return _ASCII_PROJECT.fullmatch(value) is not None
    return all(part and _name_ok(part, "_-") for part in value.split("."))
