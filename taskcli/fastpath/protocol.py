"""The wire protocol between the client and the command server, written once.

A request is one frame: a 4-byte big-endian length and a marshal-encoded dict,
sent with the client's file descriptors (SCM_RIGHTS) for a command. The server
answers a command with single-letter messages (below); a status or stop request
with one frame.
"""

import marshal
import os
import sys

# _socket and _signal are the C modules behind socket and signal; the public
# modules import enum and selectors, which would cost the client more than a
# whole command run through the server.
try:
    import _socket

    SUPPORTED = all(
        hasattr(module, name)
        for module, name in (
            (_socket, "AF_UNIX"),
            (_socket, "SCM_RIGHTS"),
            (_socket, "SO_PEERCRED"),
            (_socket.socket, "sendmsg"),
            (os, "fork"),
        )
    )
except ImportError:  # pragma: no cover - platforms without Unix sockets
    SUPPORTED = False

VERSION = 5
# Messages from the server: STARTED + pid (8 bytes), once the command is about
# to run; EXITED + code (4 bytes) at its end; FALLBACK when it cannot run this
# command faithfully (the client runs it, nothing has happened); HAND_BACK when
# the command reached a point where it would read the terminal (a prompt):
# nothing was changed or printed, and the client runs it itself.
STARTED, EXITED, FALLBACK, HAND_BACK = b"P", b"X", b"F", b"H"
# READY, the first byte on every connection: a child of the server has accepted
# it. The client sends its request (and with it its descriptors) only then, so a
# connection nobody accepts (a stopped server) holds none of them.
READY = b"R"
# GO, from the client after STARTED: the signals it held are passed on; the
# command may start.
GO = b"G"
# CHALLENGE + the server child's pid (8 bytes) + a descriptor number (4 bytes):
# the client answers with the NONCE_SIZE bytes it reads from /proc/PID/fd/N,
# which only a process allowed to inspect the server's child can open (a sandbox
# such as Landlock forbids it, and leaves no other trace the server could see).
# The command does not start before the answer, and the client knows its pid
# from the challenge: a Ctrl-Z that stopped the client first holds the command too.
CHALLENGE = b"C"
NONCE_SIZE = 16
MAX_FRAME = 16 * 2**20


def frame(message: dict) -> bytes:
    """One message as bytes on the wire."""
    body = marshal.dumps(message)
    return len(body).to_bytes(4, "big") + body


def read_frame(sock: object, max_fds: int = 0) -> tuple[dict, list[int]]:
    """Read one frame (and up to `max_fds` descriptors sent with its first bytes).

    Raises ValueError for anything that is not a well-formed frame, EOFError if
    the peer closes before the end of it."""
    ancillary = _socket.CMSG_LEN(max_fds * 4) if max_fds else 0
    data, control, _flags, _address = sock.recvmsg(65536, ancillary)
    fds = []
    for level, kind, payload in control:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds += [
                int.from_bytes(payload[i : i + 4], sys.byteorder, signed=True)
                for i in range(0, usable, 4)
            ]
    try:
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
            if len(data) >= 4 and int.from_bytes(data[:4], "big") > MAX_FRAME:
                raise ValueError("message too large")
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("incomplete message")
            data += chunk
        message = marshal.loads(data[4 : 4 + int.from_bytes(data[:4], "big")])
        if not isinstance(message, dict):
            raise ValueError("not a message")
    except BaseException:
        for fd in fds:
            _close(fd)
        raise
    return message, fds


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def peer_credentials(sock: object) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a Unix socket, as the
    kernel recorded them when it connected (or, for a server, called listen())."""
    raw = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    return tuple(  # type: ignore[return-value]
        int.from_bytes(raw[i : i + 4], sys.byteorder, signed=True) for i in (0, 4, 8)
    )


def server_is_ours(sock: object) -> int | None:
    """The pid of the process listening on `sock` if it runs as this user and
    this process can see it exactly as itself (same namespaces; a sandbox such as
    Landlock hides it), else None. Checked before anything is sent."""
    try:
        pid, uid, _gid = peer_credentials(sock)
        if uid != os.geteuid() or pid <= 0:
            return None
        for name in os.listdir("/proc/self/ns"):
            if os.readlink(f"/proc/{pid}/ns/{name}") != os.readlink(f"/proc/self/ns/{name}"):
                return None
    except (OSError, ValueError):
        return None
    return pid


def answer_challenge(sock: object, message: bytes) -> None:
    """Answer a CHALLENGE message (the bytes after its letter) with what the
    server's child left readable through /proc; zeros if that cannot be read."""
    pid = int.from_bytes(message[0:8], "big")
    fd = int.from_bytes(message[8:12], "big")
    nonce = b""
    try:
        readable = os.open(f"/proc/{pid}/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            nonce = os.read(readable, NONCE_SIZE)
        finally:
            os.close(readable)
    except OSError:
        pass
    try:
        sock.sendall(nonce.ljust(NONCE_SIZE, b"\0")[:NONCE_SIZE])
    except OSError:
        pass  # the server has gone: the next read tells what happened
