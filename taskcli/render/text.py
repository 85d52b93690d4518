"""Text as taskcli shows it: data made inert for a terminal, times, ages."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Protocol

# Characters a terminal would act on or hide rather than show: C0/C1 controls (ESC
# starts ANSI and OSC sequences), DEL, line separators, lone surrogates, and every
# format character (Unicode category Cf, as of Unicode 15): bidi overrides and
# isolates, zero-width spaces and joiners, the byte-order mark, soft hyphen, tags.
# Descriptions keep their newlines and tabs.
_FORMAT = (
    "\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
_UNSAFE_BEYOND_C0 = f"\x7f-\x9f\u2028\u2029\ud800-\udfff{_FORMAT}"
_UNSAFE_IN_LINE = re.compile(f"[\x00-\x1f{_UNSAFE_BEYOND_C0}]")
_UNSAFE_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f{_UNSAFE_BEYOND_C0}]")


# Times come as aware datetimes (Task) or as RFC 3339 UTC text (listing rows).
Time = datetime | str


class TaskLike(Protocol):
    """A Task or a TaskRow: the public fields as attributes (see domain.models)."""

    id: Any
    title: str
    description: str | None
    done: bool
    created_at: Time
    updated_at: Time
    completed_at: Time | None
    uuid: str
    due: str | None
    priority: str | None
    tags: Any  # a list (Task) or its stored JSON text (a listing row)
    project: str | None


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def literal(text: str, multiline: bool = False) -> str:
    """Text with every character a terminal would interpret shown as a visible escape."""
    if text.isprintable():
        # No control, format (bidi), separator or surrogate characters: the common
        # case, decided without the regular expression.
        return text
    pattern = _UNSAFE_IN_TEXT if multiline else _UNSAFE_IN_LINE
    return pattern.sub(_escape, text)


def timestamp(value: Time | None) -> str | None:
    """RFC 3339 in UTC ending in Z, with microseconds."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    # Not strftime: its %Y writes the year 1 as '1', not '0001'.
    return value.isoformat(timespec="microseconds") + "Z"


def age(value: Time, now: datetime | None = None) -> str:
    """How long ago, compactly: 'now', '5m', '3h', '2d', '6w', '1y'."""
    now = now or datetime.now(timezone.utc)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    seconds = (now - value).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)}d"
    if seconds < 365 * 86400:
        return f"{int(seconds // (7 * 86400))}w"
    return f"{int(seconds // (365 * 86400))}y"
