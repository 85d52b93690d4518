"""The API's edges, as plain ASGI middleware: one log line per request and no
traceback for anyone (Edge), the names it answers to without a token
(LoopbackHost), the bearer token (BearerToken), the body limit (BodyLimit), and
what a storage error becomes (storage_response).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from taskcli.errors import DamagedTask, StorageError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# Request bodies larger than this are refused (413), whether their size is
# announced (Content-Length) or not (chunked): counted while reading.
BODY_LIMIT = 1024 * 1024
# A request body must arrive within this many seconds (408 otherwise).
BODY_TIMEOUT = 30.0
# How much of a request's target a log line shows.
_LOGGED_TARGET = 200


async def _reply(
    send: Send, status: int, detail: Any, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    fields = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    fields += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": fields})
    await send({"type": "http.response.body", "body": body})


class Edge:
    """Outermost: writes one line per request to `log` (client, method, target,
    status, time) and turns any error that escaped the routes into a 500 with a
    one-line JSON detail, logged as one line: never a traceback."""

    def __init__(self, app: App, log: Callable[[str], None] | None = None) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        state = {"status": 0}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            name = type(error).__name__
            self._write(f"Error: internal error ({name}: {error}); please report it")
            if not state["status"]:
                state["status"] = 500
                await _reply(send, 500, "internal error")
        finally:
            self._request_line(scope, state["status"], time.perf_counter() - began)

    def _write(self, line: str) -> None:
        if self.log is not None:
            self.log(line)

    def _request_line(self, scope: Scope, status: int, seconds: float) -> None:
        if self.log is None:
            return
        client = scope.get("client")
        who = f"{client[0]}:{client[1]}" if client else "-"
        target = scope.get("raw_path") or scope.get("path", "").encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        shown = target.decode("ascii", "backslashreplace")
        if len(shown) > _LOGGED_TARGET:
            shown = shown[:_LOGGED_TARGET] + "..."
        outcome = str(status) if status else "-"  # the client went away first
        self.log(f'{who} "{scope["method"]} {shown}" {outcome} {seconds * 1000:.1f} ms')


class LoopbackHost:
    """Without a token the API trusts whoever can reach loopback, so it answers
    only requests addressed to one of `hosts` (by the Host header, port aside):
    a web page on an attacker's name that their DNS then points at 127.0.0.1 (DNS
    rebinding) gets 400, never the tasks. Browsers always send Host; a request
    without one (HTTP/1.0) cannot come from such a page and is let through."""

    def __init__(self, app: App, hosts: Iterable[str]) -> None:
        self.app, self.hosts = app, {host.lower() for host in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = next((v for k, v in scope["headers"] if k == b"host"), None)
            if header is not None and _host_name(header) not in self.hosts:
                await _reply(send, 400, "Invalid host header")
                return
        await self.app(scope, receive, send)


def _host_name(header: bytes) -> str:
    """The name in a Host header, without its port ('[::1]' for IPv6)."""
    text = header.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text.partition("]")[0] + "]"
    return text.partition(":")[0]


class BearerToken:
    """Every request must carry `Authorization: Bearer <token>` (401 otherwise,
    with `WWW-Authenticate: Bearer`). The comparison takes the same time whatever
    was sent: digests of equal length, compared by hmac.compare_digest."""

    def __init__(self, app: App, token: str) -> None:
        self.app = app
        self._digest = hashlib.sha256(token.encode()).digest()

    def allows(self, header: bytes | None) -> bool:
        scheme, _, credentials = (header or b"").partition(b" ")
        given = hashlib.sha256(credentials.strip()).digest()
        # Compared whatever the scheme, so a wrong scheme takes no less time.
        same = hmac.compare_digest(given, self._digest)
        return same and scheme.lower() == b"bearer"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
            if not self.allows(header):
                await _reply(send, 401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Reads the request body before the routes do, at most BODY_LIMIT bytes
    within BODY_TIMEOUT seconds: 413 for more (announced or counted, chunked
    bodies included), 408 for too slow, 422 for a body that is not UTF-8 (so not
    JSON); the routes get the body read."""

    def __init__(self, app: App, limit: int = BODY_LIMIT, timeout: float = BODY_TIMEOUT) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await _reply(send, 413, f"request body is larger than {self.limit} bytes")
                return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return  # the client went away: nobody to answer
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.limit:
                        await _reply(send, 413, f"request body is larger than {self.limit} bytes")
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _reply(send, 408, "the request body did not arrive in time")
            return
        body = b"".join(chunks)
        if body and not _utf8(body):
            # JSON is UTF-8 (RFC 8259): anything else is malformed JSON, a 422 in
            # FastAPI's shape, as for any other JSON that cannot be read.
            error = {"type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error"}
            error["input"], error["ctx"] = {}, {"error": "the body is not UTF-8"}
            await _reply(send, 422, [error])
            return
        whole: list[Message] = [{"type": "http.request", "body": body}]

        async def replay() -> Message:
            return whole.pop() if whole else await receive()

        await self.app(scope, replay, send)


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_locked(error: BaseException) -> bool:
    """Whether a storage error is another process holding the database's lock."""
    cause = error.__cause__
    cause = getattr(cause, "orig", None) or cause
    if getattr(cause, "sqlstate", None) == "55P03":  # PostgreSQL: the write lock's wait ran out
        return True
    code = getattr(cause, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return isinstance(cause, OSError) and cause.errno in (errno.EAGAIN, errno.EACCES)


def storage_response(request: Request, error: StorageError) -> JSONResponse:
    """A storage error for a client: 503 (try again) when the database is locked
    or cannot be used now, 500 for a task damaged by another program. The detail
    is one line and never names the server's files; the server's log has it all."""
    log = getattr(request.app.state, "log", None)
    if log is not None:
        log(f"Error: {' '.join(str(error).split())}")
    if isinstance(error, DamagedTask):
        detail = f"task {error.task_id} is damaged in the database (its {error.field})"
        return JSONResponse({"detail": detail}, status_code=500)
    if _is_locked(error):
        detail = "the database is locked by another process; try again"
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "1"})
    detail = "the database cannot be used now; the server's log says why"
    return JSONResponse({"detail": detail}, status_code=503)
