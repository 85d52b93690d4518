"""The current time, as something to inject: the service takes a clock, and
tests pass one that returns a fixed time instead of patching a module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

# Returns the current time as an aware datetime (the store keeps UTC).
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time in UTC, from the system."""
    return datetime.now(timezone.utc)


def fixed_clock(at: datetime) -> Clock:
    """A clock that always says `at` (for tests and reproducible runs)."""
    if at.tzinfo is None:
        raise ValueError("a clock's time must carry its time zone")
    return lambda: at
