"""Database URLs as taskcli shows them: never with the password."""

from __future__ import annotations

import re
from urllib.parse import unquote

# The password of a URL's user part (`scheme://user:password@host`), and the value
# of a `password=` parameter.
_USER_PASSWORD = re.compile(r"(://[^/@:?#]*:)([^/@?#]*)@")
_PARAMETER = re.compile(r"(?i)([?&]password=)([^&#]*)")


def display_url(url: str) -> str:
    """The URL with its password (in the user part or a `password=` parameter)
    replaced by ***."""
    shown = _USER_PASSWORD.sub(r"\1***@", url, count=1)
    return _PARAMETER.sub(r"\1***", shown)


def shown(location: object) -> str:
    """A database location as taskcli shows it: a path as it is, a URL without its
    password."""
    from taskcli.store import is_url

    return display_url(location) if is_url(location) else str(location)


def hide_passwords(arguments: tuple[str, ...]) -> tuple[str, ...]:
    """A command line with the password of every database URL in it (`--db URL`,
    `--db=URL`) hidden, as the history records it."""
    from taskcli.store import is_url

    return tuple(
        display_url(argument)
        if is_url(argument) or (argument.startswith("--db=") and is_url(argument[5:]))
        else argument
        for argument in arguments
    )


def password(url: str) -> str | None:
    match = _USER_PASSWORD.search(url)
    found = match.group(2) if match else None
    parameter = _PARAMETER.search(url)
    if parameter:
        found = found or parameter.group(2)
    if found:
        return unquote(found) or None
    return None
