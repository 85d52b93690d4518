"""`tasks server status`, `start` and `stop`: asking a running server, starting one."""

from __future__ import annotations

import os

from taskcli.fastpath import protocol
from taskcli.fastpath.paths import NO_SERVER_ENV, server_place


def ask(path: str, kind: str) -> dict | None:
    """Send a `kind` request to the server on `path`; its answer, or None."""
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(5)
        sock.connect(path)
        if protocol.server_is_ours(sock) is None or sock.recv(1) != protocol.READY:
            return None
        sock.sendall(protocol.frame({"protocol": protocol.VERSION, "kind": kind}))
        reply, _fds = protocol.read_frame(sock)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    finally:
        sock.close()
    return reply


def server_status() -> dict:
    """Whether a server would be used, and its state."""
    status: dict = {"enabled": True, "running": False}
    if not protocol.SUPPORTED:
        return {**status, "enabled": False, "reason": "this platform cannot pass file descriptors"}
    if os.environ.get(NO_SERVER_ENV):
        status.update(enabled=False, reason=f"{NO_SERVER_ENV} is set")
    place = server_place()
    if place is None:
        reason = "no private folder for its socket (wrong owner or permissions)"
        return {**status, "enabled": False, "reason": reason}
    status["socket"] = place.shown_socket
    answer = ask(place.socket, "status")
    if answer is not None:
        status.update(answer, running=True)
    return status


def start_server(wait: float = 60.0) -> dict:
    """Start this user's server for this code unless it runs, and wait until it
    answers (a login script warms it ahead of the first command). Its status,
    with "started": True if this call started it; not "running" if it is
    turned off or did not answer within `wait` seconds."""
    import time

    status = server_status()
    if not status["enabled"] or status["running"]:
        return status
    place = server_place()
    if place is None:
        return status
    from taskcli.fastpath.spawn import start_server as spawn

    spawn(place)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        answer = ask(place.socket, "status")
        if answer is not None:
            return {**status, **answer, "running": True, "started_now": True}
        time.sleep(0.05)
    return status


def stop_servers() -> list[int]:
    """Stop every command server of this user (any version); the pids stopped.

    The caller signals each server itself, so it stops only a server it could
    kill anyway: a sandboxed process cannot stop a server it may not signal."""
    import signal
    import socket

    place = server_place() if protocol.SUPPORTED else None
    if place is None:
        return []
    stopped = []
    for name in sorted(os.listdir(place.folder_fd)):
        if not (name.startswith("server-") and name.endswith(".sock")):
            continue
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(5)
            sock.connect(place.via(name))
            pid = protocol.server_is_ours(sock)
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
                stopped.append(pid)
        except OSError:
            pass
        finally:
            sock.close()
    return stopped
