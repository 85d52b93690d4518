"""The HTTP connections `tasks serve` holds: each has a deadline, and there are
at most so many at once.

Left to itself, uvicorn keeps a connection that sends nothing, or half a
request, or never reads its answer, for as long as the client likes. A thousand
such connections took every file descriptor the process could open: from then
on every new client hung, and asyncio logged a traceback for each accept it
retried, millions of lines a minute. Here:

- a request's head must arrive within `request_within` seconds of the
  connection or of its first byte (408, or just closed if nothing came), and its
  body within as long (the routes answer 408: guard.BodyLimit); a client that
  stops reading its answer for as long is cut off. Waiting between requests on a
  kept-alive connection is uvicorn's own keep-alive timeout (5 s);
- past `max_connections` open at once, a new connection gets a 503 and is
  closed; the limit on open files is raised to fit them where it can be;
- what the event loop reports (an accept that failed) is one line on the log,
  not a traceback, at most once every LOG_EVERY seconds for the same thing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# Seconds between two log lines about the same kind of event (a flood of them
# must not flood the log).
LOG_EVERY = 10.0
# Open files kept for what is not a held connection: those accepted in a burst
# before the ones refused are closed (up to twice server.BACKLOG), the database
# connections of the worker threads (40, each with its -wal and -shm), the
# listening socket and the interpreter's own.
RESERVED_FILES = 320
# Seconds a body nobody reads may take beyond the request's limit (one the routes
# read is answered 408 at the limit).
BODY_GRACE = 1.0


@dataclass(frozen=True)
class Limits:
    request_within: float
    max_connections: int


def _json_response(status: int, reason: str, detail: str) -> bytes:
    body = json.dumps({"detail": detail}, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


_BUSY = _json_response(503, "Service Unavailable", "too many connections; try again later")
_TOO_SLOW = _json_response(408, "Request Timeout", "the request did not arrive in time")


class Tally:
    """Counts an event and logs it at once, then at most every LOG_EVERY seconds
    (with how many happened meanwhile)."""

    def __init__(self, log: Callable[[str], None], clock: Callable[[], float]) -> None:
        self.log, self.clock = log, clock
        self.counts: dict[str, int] = {}
        self.next_at: dict[str, float] = {}

    def add(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        now = self.clock()
        if now >= self.next_at.get(what, 0.0):
            count = self.counts.pop(what)
            self.log(what if count == 1 else f"{what} ({count} since the last such line)")
            self.next_at[what] = now + LOG_EVERY

    def flush(self) -> None:
        """Log what was counted and not yet said (when the server stops)."""
        for what, count in self.counts.items():
            self.log(f"{what} ({count} since the last such line)")
        self.counts.clear()


def protocol_class(limits: Limits, tally: Tally) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, with the deadlines and the limit above."""
    closed = f"Closed connections that took over {limits.request_within:g} s"
    refused = f"Refused connections: more than {limits.max_connections} open"

    class Connection(H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.deadline: asyncio.TimerHandle | None = None
            self.owed = ""  # what the deadline is for: head, body
            # An answer waiting for the client to read it: checked every
            # request_within seconds, and cut off if none of it was read meanwhile.
            self.reading: asyncio.TimerHandle | None = None
            self.unread = 0
            self.drained = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                tally.add(refused)
                transport.write(_BUSY)
                transport.close()
                return
            self._arm("head")  # also a connection that never sends anything

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._follow()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._follow()

        def pause_writing(self) -> None:
            super().pause_writing()
            self._watch_reading()

        def resume_writing(self) -> None:
            super().resume_writing()
            self.drained = True
            self._follow()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self.reading is not None:
                self.reading.cancel()
                self.reading = None
            super().connection_lost(exc)

        def _watch_reading(self) -> None:
            """The client must go on reading what is buffered for it, also once the
            connection is closing (which waits for the buffer to drain)."""
            unread = self.transport.get_write_buffer_size()
            if self.reading is None and unread:
                self.unread, self.drained = unread, False
                self.reading = self.loop.call_later(limits.request_within, self._check_reading)

        def _check_reading(self) -> None:
            self.reading = None
            unread = self.transport.get_write_buffer_size()
            if not unread:
                return  # all read (or handed to the kernel)
            if unread < self.unread or self.drained:
                self._watch_reading()  # it reads, however slowly: watched on
                return
            tally.add(closed)
            self.transport.abort()  # what is buffered for it is dropped with it

        def _follow(self) -> None:
            """Keep the deadline of what the client owes now, none if it owes nothing."""
            self._watch_reading()
            if self.transport.is_closing() or self.flow.write_paused:
                self._disarm()  # all it owes now is reading (_watch_reading)
            elif self.conn.their_state is h11.SEND_BODY:
                self._arm("body")
            elif self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
                self._arm("head")  # from the request's first byte, not from each chunk
            else:
                # Nothing under way (kept alive: uvicorn's own timeout), or the
                # request is whole and the answer is being made.
                self._disarm()

        def _arm(self, owed: str) -> None:
            if self.deadline is not None and self.owed == owed:
                return
            self._disarm()
            # The routes read a body under the same limit and answer 408
            # (guard.BodyLimit): this one is for a body nobody reads (after a 401).
            delay = limits.request_within + (BODY_GRACE if owed == "body" else 0.0)
            self.owed, self.deadline = owed, self.loop.call_later(delay, self._expired)

        def _disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def _expired(self) -> None:
            self.deadline = None
            if self.transport.is_closing():
                return
            tally.add(closed)
            if (
                self.owed == "head"
                and self.conn.trailing_data[0]
                and self.conn.our_state is h11.IDLE
            ):
                # Half a request head: say why before closing.
                self.transport.write(_TOO_SLOW)
                self.transport.close()
            else:
                # Nothing sent, or a body that stalls.
                self.transport.abort()

    return Connection


def open_files_for(limits: Limits) -> tuple[Limits, int | None]:
    """`limits`, with the process's limit on open files raised (where it can be)
    to fit max_connections, else max_connections lowered to what fits (at least
    1); and how many connections fit (None: no limit known)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not a POSIX system
        return limits, None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.max_connections + RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return limits, None
    room = soft - RESERVED_FILES
    return Limits(limits.request_within, max(1, min(limits.max_connections, room))), room


def loop_errors(tally: Tally) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """An event-loop exception handler: one line per kind of trouble, no traceback."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "event loop error")
        error = context.get("exception")
        if error is not None:
            message = f"{message}: {' '.join(str(error).split()) or type(error).__name__}"
        tally.add(f"Error: {message}")

    return handle
