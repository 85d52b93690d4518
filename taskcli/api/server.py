"""Running the API: one uvicorn worker on a socket `tasks serve` has bound."""

from __future__ import annotations

import socket
from collections.abc import Callable

from taskcli.api.app import create_app
from taskcli.cli.context import AppContext

# Seconds a stopping server lets the requests under way finish.
GRACE = 5


def run(
    sock: socket.socket,
    context: AppContext,
    token: str | None,
    cors_origins: list[str],
    hosts: list[str] | None,
    log: Callable[[str], None],
) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn finishes the requests under way, then
    raises the signal again (SIGINT: KeyboardInterrupt, for the caller to end on)."""
    import uvicorn

    app = create_app(context, token=token, cors_origins=cors_origins, hosts=hosts, log=log)
    config = uvicorn.Config(
        app,
        lifespan="off",
        access_log=False,  # the API writes its own line per request (guard.Edge)
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=GRACE,
    )
    uvicorn.Server(config).run(sockets=[sock])
