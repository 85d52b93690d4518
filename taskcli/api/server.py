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

    server_class = _server_class()
    app = create_app(context, token=token, cors_origins=cors_origins, hosts=hosts, log=log)
    config = uvicorn.Config(
        app,
        lifespan="off",
        access_log=False,  # the API writes its own line per request (guard.Edge)
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=GRACE,
    )
    server_class(config).run(sockets=[sock])


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            try:
                await super().shutdown(sockets=sockets)
            finally:
                # A SIGTERM is raised again once this returns, with its default
                # action: the process ends before the command's own close_all. The
                # connection the store keeps is closed here, so that the last one
                # out checkpoints the WAL and removes the -wal and -shm files.
                from taskcli.store import close_all

                close_all()

    return Server
