from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from taskcli.cli import app
from taskcli.cli.context import AppContext
from taskcli.service import TaskService


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test may reach the real user data dir, even one that forgets to inject a path."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("TASKS_DB", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    # Processes the tests start run in-process unless a test asks for the server.
    monkeypatch.setenv("TASKS_NO_SERVER", "1")
    return home


# The test modules whose tests of the service and the CLI run against both stores:
# SQLite, and a real PostgreSQL server the session starts (tests/pg_server.py).
BOTH_STORES = {
    "test_service",
    "test_cli",
    "test_organize",
    "test_history",
    "test_import_export",
    "test_contract",
    "test_api",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rpartition(".")[2]
    uses_store = {"cli", "service", "db_path"} & set(metafunc.fixturenames)
    if (
        module in BOTH_STORES
        and uses_store
        and metafunc.definition.get_closest_marker("sqlite_only") is None
    ):
        metafunc.parametrize(
            "store_kind",
            ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
            indirect=True,
        )


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store the test's database is: 'sqlite' unless parametrized."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server for the session, started on first use."""
    import pg_server as servers

    bindir = servers.find_bin()
    if bindir is None:
        reason = "PostgreSQL is not installed here (no pg_ctl; apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the PostgreSQL tests (.ci/run installs it)")
        pytest.skip(reason)
    server = servers.PgServer(bindir).start()
    yield server
    server.cleanup()


@pytest.fixture
def db_path(tmp_path: Path, store_kind: str, request: pytest.FixtureRequest) -> Path | str:
    """The test's database: a SQLite file's path, or a new PostgreSQL database's URL."""
    if store_kind == "postgres":
        server = request.getfixturevalue("pg_server")
        return server.url(server.new_database())
    return tmp_path / "data" / "tasks.db"


@pytest.fixture
def service(db_path: Path | str) -> TaskService:
    from taskcli.store import open_store

    made = TaskService(open_store(db_path, busy_timeout=2.0))
    yield made
    made.store.close()


class Cli:
    """Runs `tasks` in-process against one temporary database."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.runner = CliRunner()
        # What each command is told the time and the user's time zone are (None:
        # the real ones); tests set them to run at a known moment in a known place.
        self.clock: Any = None
        self.zone: Any = None

    def at(self, moment: str, zone: str = "UTC") -> Cli:
        """Run the next commands at `moment` (ISO, local to `zone`) in `zone`."""
        from datetime import datetime, timezone
        from zoneinfo import ZoneInfo

        from taskcli.domain.clock import fixed_clock

        self.zone = ZoneInfo(zone)
        local = datetime.fromisoformat(moment).replace(tzinfo=self.zone)
        self.clock = fixed_clock(local.astimezone(timezone.utc))
        return self

    def __call__(self, *args: str, input: str | bytes | None = None, **kwargs: Any) -> Result:
        obj = AppContext(db_path=self.db_path, busy_timeout=2.0, zone=self.zone)
        if self.clock is not None:
            obj.clock = self.clock
        return self.runner.invoke(app, list(args), input=input, obj=obj, **kwargs)

    def ok(self, *args: str, input: str | bytes | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        assert result.stderr == ""
        return result

    def json(self, *args: str, input: str | bytes | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", input=input).stdout)

    def fails(self, code: int, *args: str, input: str | bytes | None = None) -> str:
        """Run a command that must fail with `code`; return its one-line error."""
        result = self(*args, input=input)
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        assert result.stdout == ""
        assert result.stderr.startswith("Error: ")
        assert result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
        return result.stderr


@pytest.fixture
def cli(db_path: Path) -> Cli:
    return Cli(db_path)


@pytest.fixture
def make_env(tmp_path):
    """Makes users of the command server (server_env.Env); stops their servers after."""
    import shutil

    from server_env import Env

    made: list[Env] = []

    def make(name: str, server: bool) -> Env:
        made.append(Env(tmp_path, name, server))
        return made[-1]

    yield make
    for env in made:
        env.stop()
        shutil.rmtree(env.runtime, ignore_errors=True)


@pytest.fixture
def pair(make_env):
    """The same user twice: with the command server, and without it."""
    return make_env("warm", server=True), make_env("cold", server=False)
