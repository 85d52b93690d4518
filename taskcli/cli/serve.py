"""`tasks serve`: the HTTP API over the same database (the extra taskcli[api])."""

from __future__ import annotations

import os
import re
import stat
from typing import TYPE_CHECKING, Annotated

import typer

from taskcli import render
from taskcli.cli.app import TasksCommand, app
from taskcli.cli.params import app_context
from taskcli.errors import ExitCode, HandBack, InvalidInput, NotInstalled, TaskCliError

if TYPE_CHECKING:
    import socket

    from taskcli.api.connections import Limits

TOKEN_ENV = "TASKS_API_TOKEN"
TOKEN_MIN = 16
# Defaults and bounds of --request-timeout (seconds) and --max-connections.
REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT = 30.0, 3600
DEFAULT_CONNECTIONS, MAX_CONNECTIONS = 1000, 100_000
INSTALL_HINT = "the HTTP API is not installed (pip install 'taskcli[api]')"


def _whole(value: str, low: int, high: int, what: str) -> int:
    """`value` as a whole number from low to high, else a usage error naming `what`."""
    text = value.strip()
    if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
        raise typer.BadParameter(f"{value!r} is not {what} ({low} to {high})")
    return int(text)


def _port(value: str | int) -> int:
    return value if isinstance(value, int) else _whole(value, 0, 65535, "a port")


def _seconds(value: str | float) -> float:
    if isinstance(value, float):  # the default
        return value
    text = value.strip()
    seconds = float(text) if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text) else -1.0
    if not 1 <= seconds <= MAX_REQUEST_TIMEOUT:
        raise typer.BadParameter(
            f"{value!r} is not a number of seconds (1 to {MAX_REQUEST_TIMEOUT})"
        )
    return seconds


def _count(value: str | int) -> int:
    if isinstance(value, int):  # the default
        return value
    return _whole(value, 1, MAX_CONNECTIONS, "a number of connections")


@app.command(cls=TasksCommand)
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on.", metavar="ADDRESS")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", parser=_port, help="Port to listen on (0: any free one).", metavar="PORT"
        ),
    ] = 8000,
    token_file: Annotated[
        str | None,
        typer.Option(
            "--token-file",
            help=f"File holding the token every request must carry (else ${TOKEN_ENV}); "
            "it must not be readable by group or others.",
            metavar="FILE",
        ),
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin", help="A web origin that may call the API (repeatable).", metavar="URL"
        ),
    ] = None,
    request_timeout: Annotated[
        float,
        typer.Option(
            "--request-timeout",
            parser=_seconds,
            help="Seconds a client has to send a request's headers, then its body "
            "(else 408), or to go on reading an answer; then its connection is closed.",
            metavar="SECONDS",
        ),
    ] = REQUEST_TIMEOUT,
    max_connections: Annotated[
        int | None,
        typer.Option(
            "--max-connections",
            parser=_count,
            help="Connections open at once; past it a new one gets a 503. "
            f"Default: {DEFAULT_CONNECTIONS}, or what the limit on open files allows.",
            metavar="N",
        ),
    ] = None,
) -> None:
    """Serve the tasks over HTTP, a JSON API, until Ctrl-C (one log line per request on stderr).

    It listens on 127.0.0.1 unless told otherwise; any other address needs a token
    ($TASKS_API_TOKEN or --token-file), and then every request must send
    'Authorization: Bearer TOKEN'. Docs at /docs. Needs taskcli\\[api].

    Example: tasks serve --port 8000
    """
    context = app_context(ctx)
    if context.in_server:
        # Long-running, and stopped with Ctrl-C: it runs in the caller's own process.
        raise HandBack
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise NotInstalled(INSTALL_HINT) from None
    token = _token(token_file)
    limits = _limits(request_timeout, max_connections)
    sock = _listen(host, port)
    try:
        address, bound_port = sock.getsockname()[:2]
        if token is None and not _is_loopback(address):
            raise InvalidInput(
                f"listening on {host} (not loopback) needs a token: set {TOKEN_ENV} or "
                "give --token-file"
            )
        # The database is opened (made if need be) before the first request, so a
        # database that cannot be used stops the server here, with exit 3.
        context.service.store.open(write=True)
        url = f"http://{_url_host(address)}:{bound_port}"
        render.serving(url, str(context.resolved_db_path()), token is not None)
        from taskcli.api.server import run

        try:
            # Without a token, only requests addressed to a loopback name (no DNS rebinding).
            hosts = None if token else _loopback_names(host, address)
            run(sock, context, token, list(cors_origin or ()), hosts, render.log_line, limits)
        except KeyboardInterrupt:
            render.log_line("Stopped.")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        render.log_line("Stopped.")  # by a signal this process ignores (SIGINT in a background job)
    finally:
        sock.close()


def _limits(request_timeout: float, max_connections: int | None) -> Limits:
    """The connection limits, the limit on open files raised to fit them; a
    --max-connections that cannot fit is refused."""
    from taskcli.api.connections import Limits, open_files_for

    wanted = Limits(request_timeout, max_connections or DEFAULT_CONNECTIONS)
    limits, room = open_files_for(wanted)
    if max_connections is not None and room is not None and room < max_connections:
        raise InvalidInput(
            f"--max-connections {max_connections} needs more open files than this "
            f"process may have (room for {max(room, 0)}; see ulimit -n)"
        )
    return limits


def _token(path: str | None) -> str | None:
    """The token from --token-file, else from the environment (set and not
    empty), else None."""
    if path is None:
        text = os.environ.get(TOKEN_ENV)
        if not text:
            return None
        source = TOKEN_ENV
    else:
        source = f"token file {path}"
        text = _read_token_file(path, source)
    token = text.strip()
    if len(token) < TOKEN_MIN or not token.isascii() or not token.isprintable() or " " in token:
        raise InvalidInput(
            f"{source}: a token is at least {TOKEN_MIN} printable ASCII characters without "
            "spaces (e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return token


def _read_token_file(path: str, source: str) -> str:
    try:
        # Without blocking: a FIFO would wait for a writer; it is refused below.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise InvalidInput(f"cannot read {source}: {error.strerror or error}") from None
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise InvalidInput(f"{source} is not a regular file")
        if status.st_mode & 0o077:
            mode = stat.S_IMODE(status.st_mode)
            raise InvalidInput(f"{source} may be read by others (mode {mode:04o}): chmod 600 it")
        try:
            raw = file.read(4096)
        except OSError as error:
            raise InvalidInput(f"cannot read {source}: {error.strerror or error}") from None
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidInput(f"{source}: a token is printable ASCII") from None


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (the first address the host has)."""
    import socket  # here: every other command would pay for importing it

    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as error:
        raise InvalidInput(f"cannot listen on {host!r}: {_reason(error)}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise TaskCliError(f"cannot listen on {host} port {port}: {_reason(error)}") from None
    return sock


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error)


def _is_loopback(address: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _loopback_names(host: str, address: str) -> list[str]:
    """The names a request to a loopback server may be addressed to."""
    return ["localhost", "127.0.0.1", "[::1]", _url_host(host), _url_host(address)]


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address
