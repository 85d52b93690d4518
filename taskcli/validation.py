"""Input rules for task text, shared by the input models and the bulk-add path.

Pure functions with no third-party imports: they are cheap to call once per
line of a 100,000-line `tasks add -`. They raise InvalidInput, which pydantic lets
through its validators unchanged, so the input models raise it too.
"""

from __future__ import annotations

import re

from taskcli.errors import InvalidInput

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
