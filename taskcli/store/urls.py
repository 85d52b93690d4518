"""Database URLs as taskcli shows them: never with the password.

A URL is read by the same parser the connection uses (SQLAlchemy's make_url), and
shown rebuilt from its parts, with the password, any `password`/`sslpassword`
parameter and anything a parser could mistake for a host after a second `@` as
***. A URL the parser cannot read is shown as its scheme alone.
"""

from __future__ import annotations

import re
from typing import Any

# Anything that starts like a URL (`scheme:/`, a scheme of two characters or more:
# `C:/` is a Windows path), or like a PostgreSQL URL mistyped (`postgres:user:…`,
# `postgresql//…`).
_LOOKS_LIKE_URL = re.compile(
    r"\s*(?:([A-Za-z][A-Za-z0-9+.-]+):/|((?i:postgres)[A-Za-z0-9+.-]*)(?::|//|:\\\\))"
)
# Query parameters libpq reads as secrets.
_SECRET_PARAMETERS = {"password", "sslpassword"}
HIDDEN = "***"


def looks_like_url(value: object) -> bool:
    return isinstance(value, str) and _LOOKS_LIKE_URL.match(value) is not None


def parse(url: str) -> Any:
    """The URL as the connection reads it (SQLAlchemy's URL), None if it cannot."""
    if "://" not in url:
        return None
    scheme, rest = url.split("://", 1)
    try:
        from sqlalchemy.engine import make_url

        return make_url(f"{scheme.strip().lower()}://{rest}")
    except Exception:  # ArgumentError, ValueError: not a URL it can read
        return None


def display_url(url: str) -> str:
    """The URL with every secret in it replaced by ***."""
    from urllib.parse import quote, urlencode

    match = _LOOKS_LIKE_URL.match(url)
    scheme = (match.group(1) or match.group(2)) if match else "?"
    parsed = parse(url)
    if parsed is None:
        return f"{scheme}://{HIDDEN}"
    user = "" if parsed.username is None else quote(parsed.username, safe="")
    if parsed.password is not None:
        user += ":" + HIDDEN
    host = parsed.host or ""
    if "@" in host:  # `user:pa@ss@host`: the parser took part of the password for the host
        host = HIDDEN + "@" + host.rpartition("@")[2]
    if ":" in host:  # IPv6
        host = f"[{host}]"
    shown = f"{scheme}://" + (f"{user}@" if user else "") + host
    if parsed.port is not None:
        shown += f":{parsed.port}"
    shown += "/" + (parsed.database or "")
    if parsed.query:
        pairs = []
        for key, values in parsed.query.items():
            for value in values if isinstance(values, tuple) else (values,):
                secret = key.lower() in _SECRET_PARAMETERS
                pairs.append((key, HIDDEN if secret else value))
        shown += "?" + urlencode(pairs, safe="/*")
    return shown


def shown(location: object) -> str:
    """A database location as taskcli shows it: a path as it is, a URL (or anything
    that starts like one) without its secrets."""
    return display_url(location) if looks_like_url(location) else str(location)  # type: ignore[arg-type]


def hide_passwords(arguments: tuple[str, ...]) -> tuple[str, ...]:
    """A command line with every database URL in it (`--db URL`, `--db=URL`) shown
    without its secrets, as the history records it."""
    hidden = []
    for argument in arguments:
        if looks_like_url(argument):
            argument = display_url(argument)
        elif argument.startswith("--db=") and looks_like_url(argument[5:]):
            argument = "--db=" + display_url(argument[5:])
        hidden.append(argument)
    return tuple(hidden)


def secrets(url: str) -> list[str]:
    """The secrets a URL holds (its password, secret parameters): what errors must
    never show."""
    parsed = parse(url)
    if parsed is None:
        return []
    found = [parsed.password] if parsed.password else []
    host = parsed.host or ""
    if "@" in host:
        found.append(host.rpartition("@")[0])
    for key, values in parsed.query.items():
        if key.lower() in _SECRET_PARAMETERS:
            found += [value for value in (values if isinstance(values, tuple) else (values,))]
    return [secret for secret in found if secret]
