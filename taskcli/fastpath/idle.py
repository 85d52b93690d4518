"""When an idle command server shrinks and when it exits, and the clock it reads.

Kept apart from the server's loop so that a test or a benchmark can drive the
policy, and the loop itself, with a clock of its own (SimulatedClock) instead of
waiting for real hours.

After SPARES_IDLE seconds without a command the server retires its spares (its
forked children waiting for a connection): what it holds shrinks to one
process, and the next command is served by a child forked when it connects.
After EXIT_IDLE seconds without a command it exits. Both count from the last
command the server ran (or its start); a status request is not a use.
"""

from __future__ import annotations

import os
import select
import time

# Seconds: spares retired after 10 idle minutes, the server gone after 3 idle
# hours (see README, "Command server": a day's pauses are shorter).
SPARES_IDLE = 600.0
EXIT_IDLE = 3 * 3600.0
# The longest the server sleeps: it then checks that its socket is still its own
# and that the code it would run has not changed. Never more often than this
# while idle, so an idle server costs no CPU.
CHECK_EVERY = 60.0
SPARES_IDLE_ENV = "TASKS_SERVER_SPARES_IDLE"
EXIT_IDLE_ENV = "TASKS_SERVER_IDLE"


def seconds_from(environ: dict[str, str] | os._Environ, name: str, default: float) -> float:
    """A positive number of seconds from environment variable `name`, else `default`."""
    try:
        value = float(environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 and value == value and value != float("inf") else default


class IdlePolicy:
    """How many spares an idle server keeps, and when it exits."""

    def __init__(self, now: float, spares: int, spares_idle: float, exit_idle: float) -> None:
        self.spares, self.spares_idle, self.exit_idle = spares, spares_idle, exit_idle
        self.last = now
        self.uses = 0

    @classmethod
    def from_environment(cls, now: float, spares: int) -> IdlePolicy:
        exit_idle = seconds_from(os.environ, EXIT_IDLE_ENV, EXIT_IDLE)
        spares_idle = seconds_from(os.environ, SPARES_IDLE_ENV, SPARES_IDLE)
        return cls(now, spares, spares_idle, exit_idle)

    def used(self, now: float) -> None:
        """A command ran: the server is in use again."""
        self.last = max(self.last, now)
        self.uses += 1

    def idle(self, now: float) -> float:
        return max(0.0, now - self.last)

    def spares_wanted(self, now: float) -> int:
        return self.spares if self.idle(now) < self.spares_idle else 0

    def should_exit(self, now: float) -> bool:
        return self.idle(now) >= self.exit_idle

    def next_change(self, now: float) -> float:
        """Seconds from `now` until the policy's answer changes (spares retired,
        or time to exit)."""
        idle = self.idle(now)
        if idle < self.spares_idle:
            return min(self.spares_idle, self.exit_idle) - idle
        return max(0.0, self.exit_idle - idle)


class Clock:
    """The real clock: time that goes on while the machine sleeps (CLOCK_BOOTTIME,
    immune to changes of the wall clock), and waiting on descriptors."""

    wakeups = 0

    def now(self) -> float:
        try:
            return time.clock_gettime(time.CLOCK_BOOTTIME)
        except (AttributeError, OSError):
            return time.monotonic()

    def wait(self, fds: list[int], timeout: float) -> list[int]:
        """The descriptors of `fds` that are readable within `timeout` seconds."""
        self.wakeups += 1
        return select.select(fds, [], [], max(0.0, timeout))[0]


class SimulatedClock(Clock):
    """A clock that jumps: waiting for nothing advances it by the whole timeout at
    once (after a real look at the descriptors), so a test can run a server's
    loop through idle hours in milliseconds and count how often it woke up."""

    def __init__(self, start: float = 0.0) -> None:
        self.time = start
        self.wakeups = 0

    def now(self) -> float:
        return self.time

    def wait(self, fds: list[int], timeout: float) -> list[int]:
        self.wakeups += 1
        ready = select.select(fds, [], [], 0)[0]
        if not ready:
            self.time += max(0.0, timeout)
        return ready
