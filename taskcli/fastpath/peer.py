"""What the command server knows of the process it would run a command for.

A command run through the server must be able to do exactly what it could do in
the caller's own process, never more and never less. The server's forked child
reads the caller's security context from /proc (the caller is the peer of the
connected socket), compares it with its own, and either adopts what a process
may change about itself (resource limits, nice value, scheduling policy, CPU
affinity, OOM score, a cgroup v2 it may join) or refuses, so that the caller
runs the command itself. Standard library only; Linux only (the server is).
"""

from __future__ import annotations

import os
import resource
from typing import Any

# Lines of /proc/PID/status that decide what a process may touch: every user and
# group id (real, effective, saved, file system), supplementary groups, every
# capability set, no_new_privs and seccomp.
STATUS_FIELDS = (
    "Uid",
    "Gid",
    "Groups",
    "CapInh",
    "CapPrm",
    "CapEff",
    "CapBnd",
    "CapAmb",
    "NoNewPrivs",
    "Seccomp",
    "Seccomp_filters",
)
# Files whose whole text must match: the security module's label (SELinux,
# AppArmor, Smack) and the execution domain.
LABEL_FILES = ("attr/current", "attr/apparmor/current", "attr/smack/current", "personality")
# SO_PEERPIDFD (Linux 6.5): a pidfd of the process that connected, so that a
# recycled pid is noticed.
SO_PEERPIDFD = 77


class Refused(Exception):
    """The caller's context differs in a way this process cannot adopt."""


def _status(pid: int | str) -> dict[str, str]:
    fields: dict[str, str] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name == "Groups":
                fields[name] = " ".join(sorted(value.split()))
            elif name in STATUS_FIELDS:
                fields[name] = value.strip()
    return fields


def _read(path: str) -> tuple[str, bytes | int]:
    try:
        with open(path, "rb") as file:
            return "text", file.read()
    except OSError as error:
        return "error", error.errno or 0


def _identity(path: str) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino


def _cgroups(pid: int | str) -> str:
    with open(f"/proc/{pid}/cgroup") as cgroups:
        return cgroups.read()


def check_and_adopt(pid: int, mine: dict[str, object] | None = None) -> None:
    """Make this process's rights those of process `pid`, or raise Refused.

    Checked: one thread only, user and group ids, supplementary groups,
    capabilities, no_new_privs, seccomp (any filter at all is refused: filters
    cannot be compared), every namespace, the root folder and the mounts seen
    from it, the security label, the execution domain, and limits on memory.
    Adopted, if allowed: other resource limits, nice value, I/O priority,
    scheduling policy, CPU affinity, OOM score adjustment and a cgroup v2.
    Any error reading the caller (it may have exited, or hide itself from
    this process) is a refusal.
    """
    try:
        _check(pid, mine)
        _adopt(pid)
    except Refused:
        raise
    except (OSError, ValueError) as error:
        raise Refused(f"cannot compare with process {pid}: {error}") from error


def own_context() -> dict[str, object]:
    """What _check compares of this process, read ahead (a server's child reads it
    before it accepts a connection, so a caller does not wait for it)."""
    return {
        "status": _status("self"),
        "namespaces": {
            name: _identity(f"/proc/self/ns/{name}") for name in sorted(os.listdir("/proc/self/ns"))
        },
        "root": _identity("/proc/self/root"),
        "mounts": _read("/proc/self/mountinfo"),
        "labels": {name: _read(f"/proc/self/{name}") for name in LABEL_FILES},
    }


def _check(pid: int, mine: dict[str, object] | None = None) -> None:
    mine = mine or own_context()
    # Capabilities, seccomp, no_new_privs and Landlock can differ between the
    # threads of one process, and /proc/PID/status shows the first only: the
    # client has one thread, and a caller with more is refused.
    if len(os.listdir(f"/proc/{pid}/task")) != 1:
        raise Refused("the caller has several threads")
    theirs, own_status = _status(pid), mine["status"]
    for name in STATUS_FIELDS:
        if theirs.get(name) != own_status.get(name):  # type: ignore[union-attr]
            raise Refused(f"{name} differs")
    if own_status.get("Seccomp", "0") != "0":  # type: ignore[union-attr]
        raise Refused("seccomp filters cannot be compared")
    for name, identity in mine["namespaces"].items():  # type: ignore[union-attr]
        if _identity(f"/proc/{pid}/ns/{name}") != identity:
            raise Refused(f"{name} namespace differs")
    if _identity(f"/proc/{pid}/root") != mine["root"]:
        raise Refused("root folder differs")
    # The same inode can be reached through another mount (a read-only bind mount
    # of / as a chroot): the mount table as each process sees it tells them apart.
    if _read(f"/proc/{pid}/mountinfo") != mine["mounts"]:
        raise Refused("mounts differ")
    for name, label in mine["labels"].items():  # type: ignore[union-attr]
        if _read(f"/proc/{pid}/{name}") != label:
            raise Refused(f"{name} differs")


# Limits on memory are not adopted: the server's child has the whole stack
# loaded and warmed already, so the same limit would not bind it the same way.
_MEMORY_LIMITS = ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_RSS", "RLIMIT_MEMLOCK")


def _adopt(pid: int) -> None:
    for name in dir(resource):
        if name.startswith("RLIMIT_"):
            limit = getattr(resource, name)
            wanted = resource.prlimit(pid, limit)
            if resource.getrlimit(limit) != wanted and name in _MEMORY_LIMITS:
                raise Refused(f"{name} differs")
            if resource.getrlimit(limit) != wanted:
                try:
                    resource.setrlimit(limit, wanted)
                except (OSError, ValueError) as error:
                    raise Refused(f"cannot adopt {name}") from error
    _set(
        "nice value",
        os.getpriority(os.PRIO_PROCESS, pid),
        os.getpriority(os.PRIO_PROCESS, 0),
        lambda value: os.setpriority(os.PRIO_PROCESS, 0, value),
    )
    ioprio = _ioprio_calls()
    if ioprio is not None:
        get, put = ioprio
        _set("I/O priority", get(pid), get(0), put)
    _set(
        "scheduling policy",
        (os.sched_getscheduler(pid), os.sched_getparam(pid).sched_priority),
        (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority),
        lambda value: os.sched_setscheduler(0, value[0], os.sched_param(value[1])),
    )
    _set(
        "CPU affinity",
        os.sched_getaffinity(pid),
        os.sched_getaffinity(0),
        lambda value: os.sched_setaffinity(0, value),
    )
    _set(
        "OOM score adjustment",
        _read(f"/proc/{pid}/oom_score_adj"),
        _read("/proc/self/oom_score_adj"),
        lambda value: _write("/proc/self/oom_score_adj", value[1]),
    )
    theirs = _cgroups(pid)
    if theirs != _cgroups("self"):
        _join_cgroup(theirs, _cgroups("self"))
        if _cgroups("self") != theirs:
            raise Refused("cgroup differs")


# ioprio_set and ioprio_get (IOPRIO_WHO_PROCESS), by machine: Python has no call
# for them.
_IOPRIO_SYSCALLS = {"x86_64": (251, 252), "aarch64": (30, 31)}
_LIBC = None  # loaded once (the server does it before it forks)


def _ioprio_calls() -> tuple[Any, Any] | None:
    """(get(pid), set(value)) for the I/O priority, or None where unknown."""
    numbers = _IOPRIO_SYSCALLS.get(os.uname().machine)
    if numbers is None:
        return None
    import ctypes

    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    libc = _LIBC

    def get(pid: int) -> int:
        value = libc.syscall(numbers[1], 1, pid)
        if value < 0:
            raise OSError(ctypes.get_errno(), "ioprio_get")
        return value

    def put(value: int) -> None:
        if libc.syscall(numbers[0], 1, 0, value) < 0:
            raise OSError(ctypes.get_errno(), "ioprio_set")

    return get, put


def _set(what: str, theirs: object, mine: object, change: object) -> None:
    if theirs == mine:
        return
    try:
        change(theirs)  # type: ignore[operator]
    except (OSError, ValueError, TypeError) as error:
        raise Refused(f"cannot adopt the {what}") from error


def _write(path: str, data: bytes) -> None:
    with open(path, "wb", buffering=0) as file:
        file.write(data)


def _join_cgroup(theirs: str, mine: str) -> None:
    """Move this process into the caller's cgroup v2 (the unified hierarchy
    only: the v1 hierarchies each have their own rules, so a difference there
    is a refusal)."""
    different = set(theirs.splitlines()) ^ set(mine.splitlines())
    target = [line[3:] for line in theirs.splitlines() if line.startswith("0::")]
    if not target or any(not line.startswith("0::") for line in different):
        raise Refused("cgroup differs")
    with open("/proc/self/mounts") as mounts:
        roots = [line.split()[1] for line in mounts if line.split()[2:3] == ["cgroup2"]]
    for root in roots:
        try:
            _write(os.path.join(root + target[0], "cgroup.procs"), str(os.getpid()).encode())
            return
        except OSError:
            continue
    raise Refused("cannot join the caller's cgroup")


def peer_pidfd(sock: object) -> int | None:
    """A pidfd for the process that connected `sock`, where the kernel offers one."""
    import socket

    try:
        return sock.getsockopt(socket.SOL_SOCKET, SO_PEERPIDFD)  # type: ignore[attr-defined]
    except OSError:
        return None


def still_same_process(pidfd: int | None, pid: int) -> bool:
    """Whether the pidfd still names the live process `pid` (so the context read
    from /proc/PID was the caller's, not that of a process that reused its pid)."""
    if pidfd is None:
        return True  # kernels before 6.5: nothing more to check with
    try:
        with open(f"/proc/self/fdinfo/{pidfd}") as info:
            for line in info:
                if line.startswith("Pid:"):
                    return int(line.split()[1]) == pid
    except (OSError, ValueError):
        return False
    return False
