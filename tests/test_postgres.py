"""What only the PostgreSQL store has to prove: URLs and passwords, connection
problems, many clients at once, a server that goes away, the command server, the
schema, and search's casefolding in any locale. (The service and CLI suites run against it too:
see BOTH_STORES in conftest.py.)"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pg_server import PASSWORD, PASSWORD_ROLE, PgServer, find_bin
from server_env import TASKS, normal
from stores import sql

pytestmark = pytest.mark.postgres


@pytest.fixture
def url(pg_server) -> str:
    return pg_server.url(pg_server.new_database())


def tasks(*args: str, env: dict[str, str] | None = None, input: bytes | None = None):
    """The installed `tasks`, in-process (TASKS_NO_SERVER is set by conftest)."""
    return subprocess.run(
        [str(TASKS), *args],
        input=input,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def one_error(result, code: int = 3) -> str:
    stderr = result.stderr.decode()
    assert result.returncode == code, (result.returncode, result.stdout, stderr)
    assert stderr.startswith("Error: ") and stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr
    return stderr


# -- locations and passwords -------------------------------------------------------------


def test_a_url_in_tasks_db_or_db_is_a_postgresql_store(pg_server, url):
    assert tasks("--db", url, "add", "Ship v1").stdout == b"Added task 1: Ship v1\n"
    listed = json.loads(tasks("list", "--json", env={"TASKS_DB": url}).stdout)
    assert [task["title"] for task in listed] == ["Ship v1"]
    # Written spelled the ways the issue lists, all the same database.
    name = url.split("/")[3].split("?")[0]
    for other in (
        url.replace("postgresql://", "postgresql+psycopg://"),
        url.replace("postgresql://", "postgres://"),
        f"postgresql:///{name}?host={pg_server.socket_dir}&port={pg_server.port}"
        f"&user=taskcli_admin",
    ):
        assert json.loads(tasks("--db", other, "list", "--json").stdout) == listed


def test_path_and_history_never_show_the_password(pg_server):
    database = pg_server.new_database(owner=PASSWORD_ROLE)
    url = pg_server.tcp_url(database, PASSWORD_ROLE, PASSWORD)
    assert tasks("--db", url, "add", "x").returncode == 0
    shown = tasks("--db", url, "path").stdout.decode()
    assert shown == url.replace(PASSWORD, "***") + "\n"
    history = tasks("--db", url, "history", "--json").stdout.decode()
    assert PASSWORD not in history and "***" in history
    assert json.loads(history)[0]["db_user"] == PASSWORD_ROLE
    # A password given as a parameter is hidden too.
    parameter = f"postgresql://{PASSWORD_ROLE}@127.0.0.1:{pg_server.port}/{database}"
    parameter += f"?password={PASSWORD}"
    assert PASSWORD not in tasks("--db", parameter, "path").stdout.decode()


def test_a_password_from_pgpassword_or_pgpass_works(pg_server, tmp_path):
    database = pg_server.new_database(owner=PASSWORD_ROLE)
    url = pg_server.tcp_url(database, PASSWORD_ROLE, None)
    assert "asks for a password" in one_error(tasks("--db", url, "list"))
    assert tasks("--db", url, "add", "a", env={"PGPASSWORD": PASSWORD}).returncode == 0
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_server.port}:{database}:{PASSWORD_ROLE}:{PASSWORD}\n")
    pgpass.chmod(0o600)
    listed = tasks("--db", url, "list", "--json", env={"PGPASSFILE": str(pgpass)})
    assert [task["title"] for task in json.loads(listed.stdout)] == ["a"]


def test_a_wrong_password_is_exit_3_and_shows_no_password(pg_server):
    database = pg_server.new_database(owner=PASSWORD_ROLE)
    wrong = "not-the-Password-42"
    url = pg_server.tcp_url(database, PASSWORD_ROLE, wrong)
    for args in (["list"], ["add", "x"], ["list", "--json"]):
        result = tasks("--db", url, *args)
        error = one_error(result)
        assert "authentication failed" in error and PASSWORD_ROLE in error
        assert wrong.encode() not in result.stdout + result.stderr
    result = tasks("--db", pg_server.tcp_url(database, PASSWORD_ROLE, None),
                   "list", env={"PGPASSWORD": wrong})  # fmt: skip
    assert "authentication failed" in one_error(result)
    assert wrong.encode() not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("postgresql://nobody@127.0.0.1:1/tasks", "connection refused"),
        ("postgresql://nobody@host.invalid/tasks", "unknown host"),
        ("postgresql://nobody@/tasks?host=/nonexistent", "no server at that socket"),
    ],
)
def test_connection_problems_are_one_line_exit_3(where, message):
    assert message in one_error(tasks("--db", where, "list"))


def test_a_missing_database_is_one_line_exit_3(pg_server):
    missing = pg_server.url("no_such_database")
    assert "the database does not exist" in one_error(tasks("--db", missing, "add", "x"))
    nobody = pg_server.url("postgres", user="no_such_role")
    assert "the role 'no_such_role' does not exist" in one_error(tasks("--db", nobody, "list"))


def test_without_the_extra_a_url_is_exit_3_with_the_install_hint(url, tmp_path):
    code = (
        "import sys\n"
        "sys.modules['psycopg'] = None\n"  # as if the extra were not installed
        "from taskcli.cli import run\n"
        f"sys.exit(run(['--db', {url!r}, 'list']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert one_error(result) == (
        "Error: PostgreSQL support is not installed (pip install 'taskcli[postgres]')\n"
    )


def test_a_database_with_a_foreign_task_table_is_refused(pg_server, url):
    sql(url, "CREATE TABLE task (id int, name text)")
    assert "did not make" in one_error(tasks("--db", url, "add", "x"))
    assert sql(url, "SELECT count(*) FROM task") == [(0,)]


def test_a_database_from_a_newer_taskcli_is_refused(url):
    assert tasks("--db", url, "add", "x").returncode == 0
    sql(url, "UPDATE alembic_version SET version_num = '9999'")
    assert "newer version of taskcli" in one_error(tasks("--db", url, "list"))


def test_the_readmes_team_setup_works_with_minimal_grants(pg_server):
    """README "Sharing a list with a team": an owner role makes the schema, teammates
    in a role with only SELECT/INSERT/UPDATE/DELETE and sequence USAGE share it."""
    suffix = pg_server.new_database()  # a unique name for this test's roles
    owner, team, alice, bob = (f"{name}_{suffix}" for name in ("owner", "team", "alice", "bob"))
    pg_server.admin(f"CREATE ROLE {owner} LOGIN")
    pg_server.admin(f"CREATE ROLE {team} NOLOGIN")
    pg_server.admin(f"CREATE ROLE {alice} LOGIN IN ROLE {team}")
    pg_server.admin(f"CREATE ROLE {bob} LOGIN IN ROLE {team}")
    database = f"tasks_{suffix}"
    pg_server.admin(f"CREATE DATABASE {database} OWNER {owner}")
    as_owner = pg_server.url(database, user=owner)
    tables = "SELECT, INSERT, UPDATE, DELETE ON TABLES"
    sql(as_owner, f"ALTER DEFAULT PRIVILEGES GRANT {tables} TO {team}",
        f"ALTER DEFAULT PRIVILEGES GRANT USAGE ON SEQUENCES TO {team}")  # fmt: skip
    as_alice, as_bob = pg_server.url(database, user=alice), pg_server.url(database, user=bob)
    # Before the owner's first command, a teammate cannot make the schema.
    assert tasks("--db", as_alice, "list").stdout == b""
    assert "only its owner can make" in one_error(tasks("--db", as_alice, "add", "x"))
    assert tasks("--db", as_owner, "add", "Team list created").returncode == 0
    assert tasks("--db", as_alice, "add", "alice's").stdout == b"Added task 2: alice's\n"
    assert tasks("--db", as_bob, "done", "2").returncode == 0
    assert tasks("--db", as_bob, "undo").returncode == 0
    history = json.loads(tasks("--db", as_alice, "history", "--json").stdout)
    assert [(op["db_user"], op["undone"]) for op in history] == [
        (bob, True), (alice, False), (owner, False)
    ]  # fmt: skip
    # An upgrade needs the owner: a teammate gets one line saying so.
    sql(as_owner, "UPDATE alembic_version SET version_num = '0004'",
        "ALTER TABLE operation DROP COLUMN os_user, DROP COLUMN db_user")  # fmt: skip
    assert "needs an upgrade to schema" in one_error(tasks("--db", as_alice, "list"))
    assert tasks("--db", as_owner, "list").returncode == 0
    assert len(json.loads(tasks("--db", as_alice, "list", "--all", "--json").stdout)) == 2


# -- the schema -----------------------------------------------------------------------------


def test_migrations_build_exactly_the_model_schema_on_postgresql(url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    import taskcli.domain.log  # noqa: F401 (the log's tables are in the metadata)
    from taskcli.store.sqlite import HEAD

    assert tasks("--db", url, "add", "x").returncode == 0
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert version.scalar() == HEAD
    finally:
        engine.dispose()
    assert diff == []
    # Ids are BIGINT: a restored backup may bring ids up to 2**53.
    column = "SELECT data_type FROM information_schema.columns WHERE table_name = 'task' "
    assert sql(url, column + "AND column_name = 'id'") == [("bigint",)]


def test_ids_are_never_reused_and_may_be_as_large_as_on_sqlite(pg_server, url):
    tasks("--db", url, "add", "-", input=b"a\nb\nc\n")
    assert tasks("--db", url, "rm", "-y", "3").returncode == 0
    assert tasks("--db", url, "add", "d").stdout == b"Added task 4: d\n"
    assert "new store" in one_error(tasks("--db", url, "import", "--keep-ids", "-", input=b"[]"), 2)
    fresh = pg_server.url(pg_server.new_database())
    far = json.dumps([{"id": 2**53, "title": "far"}]).encode()
    assert tasks("--db", fresh, "import", "--keep-ids", "-", input=far).returncode == 0
    assert json.loads(tasks("--db", fresh, "list", "--json").stdout)[0]["id"] == 2**53


def test_keep_ids_restores_a_backup_and_moves_the_sequence_past_it(pg_server):
    first = pg_server.url(pg_server.new_database())
    second = pg_server.url(pg_server.new_database())
    tasks("--db", first, "add", "-", input=b"a\nb\nc\n")
    tasks("--db", first, "rm", "-y", "2")
    backup = tasks("--db", first, "export").stdout
    assert tasks("--db", second, "import", "--keep-ids", "-", input=backup).returncode == 0
    assert tasks("--db", second, "export").stdout == backup
    assert tasks("--db", second, "add", "next").stdout == b"Added task 4: next\n"


# -- many clients at once --------------------------------------------------------------------


def test_eight_processes_adding_fifty_each_lose_nothing(url):
    """Eight OS processes (each running `tasks add` 50 times, in-process) on one new
    database: its schema made once, ids distinct and consecutive, nothing lost."""
    from test_concurrency import _adder

    with multiprocessing.get_context("spawn").Pool(8) as pool:
        outcomes = pool.starmap(_adder, [(url, worker, 50) for worker in range(8)])
    assert [err for outcome in outcomes for code, _, err in outcome if code != 0] == []
    results = [[task_id for _, task_id, _ in outcome] for outcome in outcomes]
    ids = [task_id for worker in results for task_id in worker]
    assert sorted(ids) == list(range(1, 401))
    for worker in results:
        assert worker == sorted(worker)
    listed = json.loads(tasks("--db", url, "list", "--json").stdout)
    assert sorted(task["title"] for task in listed) == sorted(
        f"w{worker} n{n}" for worker in range(8) for n in range(50)
    )
    assert sql(url, "SELECT count(*) FROM operation") == [(400,)]
    assert sql(url, "SELECT count(*) FROM task WHERE updated_at < created_at") == [(0,)]


def test_two_concurrent_edits_of_one_task_are_both_recorded(url):
    tasks("--db", url, "add", "shared")
    for _ in range(5):
        with ThreadPoolExecutor(2) as pool:
            edits = list(
                pool.map(
                    lambda title: tasks("--db", url, "edit", "1", "--title", title),
                    ["by alice", "by bob"],
                )
            )
        assert [edit.returncode for edit in edits] == [0, 0]
        (task,) = json.loads(tasks("--db", url, "list", "--json").stdout)
        history = json.loads(tasks("--db", url, "history", "--json", "--limit", "2").stdout)
        # Both changes are in the log; the task is as the later one left it.
        assert sorted(op["command"].rpartition("--title ")[2] for op in history) == [
            "'by alice'",
            "'by bob'",
        ]
        last = history[0]["command"].rpartition("--title ")[2].strip("'")
        assert task["title"] == last
        assert task["updated_at"] == history[0]["at"] >= history[1]["at"]
        # Each undo gives back exactly what the other left.
        tasks("--db", url, "undo")
        (undone,) = json.loads(tasks("--db", url, "list", "--json").stdout)
        assert undone["title"] == history[1]["command"].rpartition("--title ")[2].strip("'")
        tasks("--db", url, "redo")


def test_times_come_from_the_servers_clock_in_commit_order(url):
    before = sql(url, "SELECT clock_timestamp()")[0][0]
    tasks("--db", url, "add", "-", input=b"a\nb\n")
    tasks("--db", url, "done", "1")
    after = sql(url, "SELECT clock_timestamp()")[0][0]
    rows = sql(url, "SELECT created_at, updated_at FROM task ORDER BY id")
    assert all(before <= created <= updated <= after for created, updated in rows)
    assert rows[0][1] > rows[1][1]  # the done came after the add


def test_the_stress_script_holds_its_invariants_on_postgresql(pg_server):
    script = Path(__file__).parents[1] / "scripts" / "stress.py"
    for extra in ([], ["--undo"]):
        database = pg_server.url(pg_server.new_database())
        result = subprocess.run(
            [sys.executable, str(script), "--seconds", "4", "--workers", "4", "--db", database,
             *extra],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("stress ok")


# -- a server that goes away -----------------------------------------------------------------


@pytest.fixture
def own_server():
    """A PostgreSQL server of the test's own, to stop and start."""
    bindir = find_bin()
    assert bindir is not None  # the session's server started, so this exists
    server = PgServer(bindir).start()
    yield server
    server.cleanup()


def test_a_server_killed_during_a_bulk_add_saves_nothing(own_server, tmp_path):
    url = own_server.url(own_server.new_database())
    tasks("--db", url, "add", "before")
    lines = tmp_path / "lines"
    lines.write_bytes(b"".join(b"task %d\n" % n for n in range(200_000)))
    # The lines are read in full before the write begins: kill the server while
    # the COPY runs (as soon as the command holds the write lock).
    with lines.open("rb") as source:
        adding = subprocess.Popen(
            [str(TASKS), "--db", url, "add", "-"],
            stdin=source,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=os.environ,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        locks = sql(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        if locks[0][0]:
            break
        time.sleep(0.005)
    else:
        pytest.fail("the bulk add never took the write lock")
    own_server.stop("immediate")
    out, err = adding.communicate(timeout=60)
    assert adding.returncode == 3, (out, err)
    assert err.startswith(b"Error: ") and err.count(b"\n") == 1 and b"Traceback" not in err
    own_server.restart()
    listed = json.loads(tasks("--db", url, "list", "--json").stdout)
    assert [task["title"] for task in listed] == ["before"]
    assert sql(url, "SELECT count(*) FROM operation") == [(1,)]
    added = json.loads(tasks("--db", url, "add", "after", "--json").stdout)
    assert added["id"] > 1  # never an id the lost add may have handed out before
    assert [t["title"] for t in json.loads(tasks("--db", url, "list", "--json").stdout)] == [
        "before",
        "after",
    ]


# -- the command server ----------------------------------------------------------------------


def test_the_command_server_gives_the_same_output_as_in_process(make_env, pg_server):
    warm, cold = make_env("warm", server=True), make_env("cold", server=False)
    for env in (warm, cold):
        env.vars["TASKS_DB"] = pg_server.url(pg_server.new_database())
    warm.warm()
    script = [
        ("add", "Ship v1", "-t", "work", "--due", "2030-01-02", "-p", "H"),
        ("add", "second", "-P", "home"),
        ("done", "1"),
        ("list", "--all"),
        ("list", "--all", "--json"),
        ("list", "--search", "SHIP", "--all", "--json"),
        ("tags",),
        ("projects",),
        ("history",),
        ("undo",),
        ("export", "--format", "ndjson"),
        ("path",),
    ]
    for args in script:
        results = [env.run(*args) for env in (warm, cold)]
        assert results[0].returncode == results[1].returncode == 0, results
        outputs = [normal(result.stdout) for result in results]
        if args == ("path",):
            assert outputs[0] == warm.vars["TASKS_DB"].encode() + b"\n"
            continue
        if args == ("history",):  # each store is its own database
            outputs = [out.replace(env.vars["TASKS_DB"].encode(), b"<db>")
                       for out, env in zip(outputs, (warm, cold), strict=True)]  # fmt: skip
        assert outputs[0] == outputs[1], args
    assert warm.status()["running"]


# -- search ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", ["C.UTF-8", "C"])
def test_search_on_postgresql_casefolds_like_python(pg_server, ctype):
    """Whatever the database's locale (whose lower() may know ASCII letters only)."""
    name = pg_server.new_database()
    pg_server.admin(f"DROP DATABASE {name}")
    pg_server.admin(f"CREATE DATABASE {name} TEMPLATE template0 LC_CTYPE '{ctype}'")
    url = pg_server.url(name)
    titles = ["Straße fegen", "STRASSE", "ﬁle report", "ΣΊΣΥΦΟΣ", "plain", "İstanbul",
              "ÉCOLE d'été", "Important"]  # fmt: skip
    tasks("--db", url, "add", "-", input="\n".join(titles).encode() + b"\n")
    for needle in ("strasse", "straße", "STRASSE", "file", "σίσυφος", "ς", "ain", "İ",
                   "istanbul", "école", "i"):  # fmt: skip
        listed = json.loads(tasks("--db", url, "list", "--search", needle, "--json").stdout)
        assert [task["title"] for task in listed] == [
            title for title in titles if needle.casefold() in title.casefold()
        ], needle
    found = [title for title in titles if "e" in title.casefold()]
    page = tasks("--db", url, "list", "--search", "E", "--offset", "1", "--limit", "2", "--json")
    assert [task["title"] for task in json.loads(page.stdout)] == found[1:3]


# -- what an attack found ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "spelling"),
    [
        ("pa/ss?x#y", "postgresql://{role}:{secret}@127.0.0.1:{port}/{db}"),
        ("Sec@ret99", "postgresql://{role}:{secret}@127.0.0.1:{port}/{db}"),
        ("AzureSecret99", "postgresql://{role}@corp:{secret}@127.0.0.1:{port}/{db}"),
        ("hunter-22", "postgresql://{role}@127.0.0.1:{port}/{db}?%70assword={secret}"),
        ("hunter-33", "postgresql://{role}@127.0.0.1:{port}/{db}?sslpassword={secret}"),
        ("database", "postgresql://{role}:{secret}@127.0.0.1:{port}/nosuch"),
    ],
)
def test_no_spelling_of_a_password_shows_it(pg_server, secret, spelling):
    database = pg_server.new_database(owner=PASSWORD_ROLE)
    url = spelling.format(role=PASSWORD_ROLE, secret=secret, port=pg_server.port, db=database)
    outputs = b""
    for args in (["path"], ["add", "x"], ["history", "--json"], ["history"], ["list"]):
        for form in (["--db", url], [f"--db={url}"]):
            result = tasks(*form, *args)
            outputs += result.stdout + result.stderr
            assert b"Traceback" not in result.stderr
    assert secret.encode() not in outputs
    assert b"***" in outputs


@pytest.mark.parametrize(
    "location",
    ["postgresql+psycopg2://u:s3cret@127.0.0.1/d", "postgresql:/u:s3cret@h/d", "mysql://u@h/d"],
)
def test_a_url_of_another_kind_is_refused_not_made_a_file(tmp_path, location):
    result = subprocess.run([str(TASKS), "--db", location, "add", "x"], capture_output=True,
                            cwd=tmp_path, timeout=60)  # fmt: skip
    error = one_error(result, 2)
    assert "not a database URL taskcli can use" in error and "s3cret" not in error
    assert list(tmp_path.iterdir()) == []


def test_a_url_that_is_not_utf8_is_refused():
    location = os.fsencode("postgresql://u:") + b"\xff@/d?host=/tmp"
    result = subprocess.run([TASKS, b"--db", location, b"list"], capture_output=True, timeout=60)
    assert "not valid UTF-8" in one_error(result, 2)


def test_a_teammate_with_a_schema_of_their_own_sees_the_shared_tables(pg_server, url):
    """PostgreSQL's per-user schema pattern: the search path is "$user", public."""
    tasks("--db", url, "add", "shared")
    suffix = url.split("/")[3].split("?")[0]
    user = f"carol_{suffix}"
    pg_server.admin(f"CREATE ROLE {user} LOGIN")
    sql(url, f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {user}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {user}",
        f"CREATE SCHEMA AUTHORIZATION {user}")  # fmt: skip
    as_carol = pg_server.url(url.split("/")[3].split("?")[0], user=user)
    assert [t["title"] for t in json.loads(tasks("--db", as_carol, "list", "--json").stdout)] == [
        "shared"
    ]
    assert tasks("--db", as_carol, "done", "1").returncode == 0


def test_a_schema_without_its_version_is_refused(url):
    tasks("--db", url, "add", "x")
    sql(url, "DELETE FROM alembic_version")
    assert "no schema version" in one_error(tasks("--db", url, "list"))


def test_server_and_client_settings_do_not_change_what_taskcli_reads(pg_server, url):
    name = url.split("/")[3].split("?")[0]
    pg_server.admin(f"ALTER DATABASE {name} SET DateStyle = 'German, DMY'")
    pg_server.admin(f"ALTER DATABASE {name} SET idle_in_transaction_session_timeout = '1s'")
    env = {"PGCLIENTENCODING": "LATIN1", "PGDATESTYLE": "SQL, DMY"}
    assert tasks("--db", url, "add", "日本語 über", env=env).returncode == 0
    tasks("--db", url, "add", "-", input=b"".join(b"t %d\n" % n for n in range(20_000)), env=env)
    assert tasks("--db", url, "show", "1", env=env).returncode == 0
    assert (
        json.loads(tasks("--db", url, "list", "-s", "ÜBER", "--json", env=env).stdout)[0]["title"]
        == "日本語 über"
    )
    # A slow reader (a pager) keeps its transaction idle for longer than the limit.
    with subprocess.Popen([str(TASKS), "--db", url, "list", "--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as reader:  # fmt: skip
        first = reader.stdout.read(1000)
        time.sleep(2.5)
        rest, err = reader.stdout.read(), reader.stderr.read()
        assert reader.wait(timeout=60) == 0, err
    assert len(json.loads(first + rest)) == 20_001


def test_pgoptions_is_honoured(pg_server, url):
    sql(url, "CREATE SCHEMA elsewhere")
    tasks("--db", url, "add", "x", env={"PGOPTIONS": "-c search_path=elsewhere"})
    assert sql(url, "SELECT to_regclass('elsewhere.task') IS NOT NULL") == [(True,)]


def test_a_database_that_is_not_utf8_is_refused(pg_server):
    name = pg_server.new_database()
    pg_server.admin(f"DROP DATABASE {name}")
    pg_server.admin(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'SQL_ASCII' "
                    "LC_COLLATE 'C' LC_CTYPE 'C'")  # fmt: skip
    error = one_error(tasks("--db", pg_server.url(name), "add", "x"))
    assert "needs a UTF8 database" in error


def test_a_column_whose_type_was_changed_is_no_internal_error(url):
    tasks("--db", url, "add", "x", "-t", "a")
    sql(url, "ALTER TABLE task ALTER tags DROP DEFAULT, ALTER tags TYPE jsonb USING tags::jsonb")
    for args in (["list"], ["tags"], ["list", "--sort", "title", "--json"]):
        result = tasks("--db", url, *args)
        assert result.returncode in (0, 3) and b"internal error" not in result.stderr, args


# -- what a second attack found ------------------------------------------------------------


def test_odd_urls_are_one_line_errors_or_work(pg_server, url, tmp_path):
    assert "host name is not valid" in one_error(tasks("--db", "postgresql://u:pw@a..b/t", "list"))
    assert "several hosts" in one_error(tasks("--db", "postgresql://u@h1:1,h2:2/d", "list"), 2)
    for typo in ("postgres:u:s3cret@h/d", "postgresql//u:s3cret@h/d"):
        result = subprocess.run([str(TASKS), "--db", typo, "add", "x"], capture_output=True,
                                cwd=tmp_path, timeout=60)  # fmt: skip
        assert "s3cret" not in one_error(result, 2)
        assert list(tmp_path.iterdir()) == []
    assert tasks("--db", f"  {url} ", "add", "spaced").returncode == 0
    shown = tasks("--db", "postgresql://u:s3cret@[::1]:1/d", "path").stdout
    assert shown == b"postgresql://u:***@[::1]:1/d\n"


def test_a_view_named_task_or_an_empty_search_path_is_refused(pg_server, url):
    tasks("--db", url, "add", "real")
    sql(url, "CREATE SCHEMA shadow", "CREATE VIEW shadow.task AS SELECT * FROM public.task "
             "WHERE title LIKE 'zzz%'")  # fmt: skip
    shadowed = url + "&options=-c%20search_path%3Dshadow,public"
    assert "did not make" in one_error(tasks("--db", shadowed, "list"))
    empty = url + "&options=-c%20search_path%3D"
    assert "search path names no schema" in one_error(tasks("--db", empty, "list"))
