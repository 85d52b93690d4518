"""Where a command server lives: a private folder, its socket and lock file.

Every path goes through a descriptor of the checked folder
(/proc/self/fd/N/...), so nobody can swap the folder after the check.
"""

import os
import sys

NO_SERVER_ENV = "TASKS_NO_SERVER"
# The descriptor of the socket folder in a server the client starts.
SERVER_FOLDER_FD = 3


def socket_folder() -> tuple[int, str] | None:
    """A descriptor and the path of a folder only this user can use:
    $XDG_RUNTIME_DIR/taskcli, else taskcli-<uid> in the temp dir, created 0700 if
    missing. None unless it is a real folder (not a symlink) owned by this user
    and closed to everyone else, as checked on the open descriptor."""
    uid = os.geteuid()
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        folder = os.path.join(runtime, "taskcli")
    else:
        temp = os.environ.get("TMPDIR", "")
        if not os.path.isabs(temp):
            temp = "/tmp"
        folder = os.path.join(temp, f"taskcli-{uid}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    if is_private_folder(fd):
        return fd, folder
    os.close(fd)
    return None


def is_private_folder(fd: int) -> bool:
    """Whether `fd` is a folder of this user's that nobody else may use, reachable
    through /proc/self/fd (which every other path here relies on)."""
    try:
        info = os.fstat(fd)
        return (
            (info.st_mode & 0o170000) == 0o040000  # S_ISDIR
            and info.st_uid == os.geteuid()
            and not info.st_mode & 0o077
            and os.path.isdir(f"/proc/self/fd/{fd}")
        )
    except OSError:
        return False


def code_fingerprint() -> str:
    """Changes whenever the code a server would run might have: taskcli's files,
    the interpreter and its flags (UTF-8 mode follows the locale), the import
    path, and installs into site-packages."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # sys.path[0] is the script's folder (or the working directory): it differs
    # between the client and the server, which imports taskcli from `package`.
    search_path = sys.path[1:]
    parts = [sys.executable, sys.version, repr(tuple(sys.flags)), package, *search_path]
    # The first half names the installation (interpreter, options, where taskcli
    # and its libraries live): a server whose second half differs runs older code
    # of the same installation (see daemon._stop_outdated).
    installation = "\0".join(parts).encode("utf-8", "surrogateescape")
    # Every module's path, modification time and size (the client computes this
    # for every command: one scandir per folder, one stat per file).
    # A folder that is a symbolic link is read, but not what it holds in turn.
    files = []
    folders = [(package, True)]
    while folders:
        folder, descend = folders.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.name.endswith(".py"):
                    info = entry.stat()
                    files.append(f"{entry.path}:{info.st_mtime_ns}:{info.st_size}")
                elif descend and entry.name != "__pycache__" and entry.is_dir():
                    folders.append((entry.path, not entry.is_symlink()))
    files.sort()
    parts += files
    for entry in search_path:
        if entry.endswith("site-packages"):
            try:
                parts.append(f"{entry}:{os.stat(entry).st_mtime_ns}")
            except OSError:
                pass
    data = "\0".join(parts).encode("utf-8", "surrogateescape")
    return f"{_digest(installation, _PRIME_32):08x}{_digest(data, _PRIME_64):016x}"


# The largest primes below 2**32 and 2**64.
_PRIME_32, _PRIME_64 = 2**32 - 5, 2**64 - 59


def _digest(data: bytes, prime: int) -> int:
    """The bytes read as one number, modulo a prime: a checksum that any one
    changed byte alters (and any other change almost surely), computed in C
    without loading zlib (a shared library: a quarter of a millisecond of every
    command's start)."""
    return int.from_bytes(data, "big") % prime


class Place:
    """Where the server for this user and this code lives: a descriptor of its
    checked folder, the folder's path (for people) and the server's file stem."""

    def __init__(self, folder_fd: int, folder: str, stem: str) -> None:
        self.folder_fd, self.folder, self.stem = folder_fd, folder, stem

    def via(self, name: str) -> str:
        """A path to `name` in the folder that goes through the checked descriptor."""
        return f"/proc/self/fd/{self.folder_fd}/{name}"

    @property
    def socket(self) -> str:
        return self.via(self.stem + ".sock")

    @property
    def shown_socket(self) -> str:
        """The socket's path as people know it."""
        return os.path.join(self.folder, self.stem + ".sock")


def server_place() -> Place | None:
    """Where the server for this user and this code lives, or None if nowhere."""
    found = socket_folder()
    if found is None:
        return None
    return Place(found[0], found[1], f"server-{code_fingerprint()}")


def take_lock(folder_fd: int, name: str, create: bool = True) -> int | None:
    """An exclusive flock on lock file `name` in the folder, taken without
    waiting: its descriptor, or None if another process holds it (or it cannot
    be opened)."""
    import fcntl

    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        lock = os.open(name, flags, 0o600, dir_fd=folder_fd)
    except OSError:
        return None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock)
        return None
    return lock
