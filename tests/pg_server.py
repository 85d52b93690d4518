"""A throwaway PostgreSQL server for the tests: `initdb` and `pg_ctl` in a temporary
folder, listening on a Unix socket there and on a free loopback port, run as an
unprivileged account (PostgreSQL refuses to run as root), stopped at the end.

Local (socket) connections are trusted; loopback TCP ones need a password
(scram-sha-256), so the tests can try a wrong one."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# Where Debian keeps the server's programs; PATH is searched first.
_DEBIAN_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
SUPERUSER = "taskcli_admin"
# A role with a password, for the tests of authentication over TCP.
PASSWORD_ROLE, PASSWORD = "taskcli_pw", "s3cret-Hunter2-pw"


def find_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, or None where PostgreSQL is not installed."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    for folder in _DEBIAN_BINS:
        if (folder / "pg_ctl").exists() and (folder / "initdb").exists():
            return folder
    return None


def _account() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as, when the tests run as root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("no unprivileged account (postgres, nobody) to run PostgreSQL as")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgServer:
    """One running server: `url(dbname)` for a database on its socket."""

    def __init__(self, bindir: Path, durable: bool = False) -> None:
        """`durable`: PostgreSQL's default settings (fsync on), for benchmarks; else
        fsync off, for fast tests."""
        self.bindir = bindir
        self.durable = durable
        self.account = _account()
        # Short: a Unix socket's path must fit in about 100 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="tpg-", dir="/tmp"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.port = _free_port()
        self.log = self.root / "server.log"
        self._made = 0
        if self.account is not None:
            os.chown(self.root, self.account.pw_uid, self.account.pw_gid)
        os.chmod(self.root, 0o755)

    def _as_owner(self, *command: str | Path) -> list[str]:
        args = [str(part) for part in command]
        if self.account is None:
            return args
        return [
            "setpriv",
            f"--reuid={self.account.pw_uid}",
            f"--regid={self.account.pw_gid}",
            "--init-groups",
            *args,
        ]

    def start(self) -> PgServer:
        password_file = self.root / "pw"
        password_file.write_text("unused-superuser-password\n")
        if self.account is not None:
            os.chown(password_file, self.account.pw_uid, self.account.pw_gid)
        subprocess.run(
            self._as_owner(
                self.bindir / "initdb",
                "-D",
                self.data,
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={password_file}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
            cwd=self.root,
        )
        self._pg_ctl_start()
        self.admin(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}' CREATEDB")
        return self

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            self._as_owner(self.bindir / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"),
            capture_output=True,
            cwd=self.root,
        )

    def restart(self) -> None:
        self._pg_ctl_start()

    def _pg_ctl_start(self) -> None:
        options = f"-k {self.socket_dir} -p {self.port} -c listen_addresses=127.0.0.1 "
        options += "-c max_connections=200 -c shared_buffers=64MB"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        start = [self.bindir / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options]
        subprocess.run(
            self._as_owner(*start, "-w", "start"), check=True, capture_output=True, cwd=self.root
        )

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def admin(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname=dbname,
            autocommit=True,
        ) as connection:  # fmt: skip
            connection.execute(sql)

    def new_database(self, owner: str = SUPERUSER) -> str:
        """A new empty database (its name)."""
        self._made += 1
        name = f"t{os.getpid()}_{self._made}_{int(time.monotonic() * 1000) % 100000}"
        self.admin(f"CREATE DATABASE {name} OWNER {owner}")
        return name

    def url(self, dbname: str, user: str = SUPERUSER) -> str:
        """A URL for `dbname` over the server's Unix socket."""
        return f"postgresql://{user}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def tcp_url(self, dbname: str, user: str, password: str | None) -> str:
        who = user if password is None else f"{user}:{password}"
        return f"postgresql://{who}@127.0.0.1:{self.port}/{dbname}"
