"""Running the API: one uvicorn worker on a socket `tasks serve` has bound."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from taskcli.api.app import create_app
from taskcli.api.connections import Limits, Tally, loop_errors, protocol_class
from taskcli.cli.context import AppContext

# Seconds a stopping server lets the requests under way finish.
GRACE = 5
# Connections waiting to be accepted.
BACKLOG = 64


def run(
    sock: socket.socket,
    context: AppContext,
    token: str | None,
    cors_origins: list[str],
    hosts: list[str] | None,
    log: Callable[[str], None],
    limits: Limits,
) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn finishes the requests under way, then
    raises the signal again (SIGINT: KeyboardInterrupt, for the caller to end on).
    `limits` must come from open_files_for (the limit on open files fits them)."""
    import uvicorn

    tally = Tally(log, time.monotonic)
    server_class = _server_class(tally)
    app = create_app(
        context,
        token=token,
        cors_origins=cors_origins,
        hosts=hosts,
        log=log,
        body_within=limits.request_within,
    )
    config = uvicorn.Config(
        app,
        http=protocol_class(limits, tally),
        # Also how many connections asyncio accepts in one go before it runs
        # anything else (closing the ones refused): well under the open files
        # kept free beyond max_connections (connections.RESERVED_FILES).
        backlog=BACKLOG,
        lifespan="off",
        access_log=False,  # the API writes its own line per request (guard.Edge)
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=GRACE,
    )
    server_class(config).run(sockets=[sock])


def _server_class(tally: Tally) -> type:
    import asyncio

    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            # What the loop reports (an accept that failed: out of descriptors) is
            # a line on the log, not a traceback per retry.
            asyncio.get_running_loop().set_exception_handler(loop_errors(tally))
            await super().startup(sockets=sockets)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            try:
                await super().shutdown(sockets=sockets)
            finally:
                # A SIGTERM is raised again once this returns, with its default
                # action: the process ends before the command's own close_all. The
                # connection the store keeps is closed here, so that the last one
                # out checkpoints the WAL and removes the -wal and -shm files.
                from taskcli.store import close_all

                tally.flush()
                close_all()

    return Server
