"""Every command through CliRunner: exit code, stdout and stderr checked separately."""

from __future__ import annotations

import json

import pytest
from stores import is_postgres, made

from taskcli.cli import app
from taskcli.cli.context import AppContext


def test_add_then_list(cli):
    result = cli.ok("add", "Ship", "v1")
    assert result.stdout == "Added task 1: Ship v1\n"
    tasks = cli.json("list")
    assert [(t["id"], t["title"], t["done"]) for t in tasks] == [(1, "Ship v1", False)]


def test_add_json_returns_the_task(cli):
    task = cli.json("add", "  padded title  ", "-d", "line one\nline two\tend")
    assert task["id"] == 1
    assert task["title"] == "padded title"
    assert task["description"] == "line one\nline two\tend"
    assert task["done"] is False
    assert task["completed_at"] is None
    assert task["created_at"] == task["updated_at"]
    assert cli.json("show", "1") == task


def test_mark_done(cli):
    cli.ok("add", "one")
    cli.ok("add", "two")
    changed = cli.json("done", "1")
    assert [t["id"] for t in changed] == [1]
    assert changed[0]["done"] is True
    assert changed[0]["completed_at"] is not None
    assert [t["id"] for t in cli.json("list")] == [2]
    assert [t["id"] for t in cli.json("list", "--done")] == [1]
    assert [t["id"] for t in cli.json("list", "--all")] == [1, 2]


def test_done_twice_keeps_the_first_completion(cli):
    cli.ok("add", "one")
    first = cli.json("done", "1")[0]
    again = cli.json("done", "1")[0]
    assert again == first


def test_reopen_clears_completion(cli):
    cli.ok("add", "one")
    cli.ok("done", "1")
    reopened = cli.json("reopen", "1")
    assert reopened[0]["done"] is False
    assert reopened[0]["completed_at"] is None
    assert cli.ok("reopen", "1").stdout == "Reopened task 1: one\n"


def test_delete_then_show_is_not_found(cli):
    cli.ok("add", "doomed")
    deleted = cli.json("rm", "1", "--yes")
    assert [t["title"] for t in deleted] == ["doomed"]
    assert cli.fails(1, "show", "1") == "Error: task 1 not found\n"


def test_multi_id_commands_are_all_or_nothing(cli):
    cli.ok("add", "a")
    cli.ok("add", "b")
    error = cli.fails(1, "done", "1", "7", "2", "9")
    assert error == "Error: tasks 7, 9 not found\n"
    assert all(not t["done"] for t in cli.json("list", "--all"))
    cli.fails(1, "rm", "--yes", "2", "8")
    assert [t["id"] for t in cli.json("list")] == [1, 2]
    cli.ok("done", "1", "2")
    cli.fails(1, "reopen", "1", "3")
    assert all(t["done"] for t in cli.json("list", "--all"))


def test_repeated_ids_count_once(cli):
    cli.ok("add", "a")
    assert [t["id"] for t in cli.json("done", "1", "1")] == [1]


def test_ids_are_never_reused(cli):
    cli.ok("add", "a")
    cli.ok("add", "b")
    cli.ok("rm", "2", "--yes")
    assert cli.json("add", "c")["id"] == 3


def test_list_pagination_and_order(cli):
    cli.ok("add", "-", input="".join(f"task {n}\n" for n in range(1, 11)))
    assert [t["id"] for t in cli.json("list", "--limit", "3")] == [1, 2, 3]
    assert [t["id"] for t in cli.json("list", "--limit", "3", "--offset", "8")] == [9, 10]
    assert cli.json("list", "--offset", "10") == []


def test_empty_list_is_not_an_error(cli, db_path):
    assert cli.ok("list", "--json").stdout == "[]\n"
    assert cli.ok("list").stdout == ""
    assert not made(db_path), "a read-only command must not create the database"
    assert is_postgres(db_path) or not db_path.parent.exists()


def test_list_piped_is_plain_tab_separated(cli):
    cli.ok("add", "first")
    cli.ok("add", "[red]second[/red]")
    cli.ok("done", "2")
    lines = cli.ok("list", "--all").stdout.splitlines()
    assert [line.split("\t")[:3] for line in lines] == [
        ["1", "pending", "first"],
        ["2", "done", "[red]second[/red]"],
    ]
    assert "\x1b" not in cli.ok("list", "--all").stdout


def test_no_command_lists_pending_tasks(cli):
    cli.ok("add", "first")
    assert cli.ok().stdout.split("\t")[:2] == ["1", "pending"]


def test_show_detail_view(cli):
    cli.ok("add", "Ship v1", "-d", "notes\nmore")
    out = cli.ok("show", "1").stdout
    assert "Title:       Ship v1" in out
    assert "Status:      pending" in out
    assert "notes\n             more" in out


def test_edit_changes_only_given_fields(cli):
    original = cli.json("add", "old", "-d", "keep me")
    edited = cli.json("edit", "1", "--title", "new")
    assert edited["title"] == "new"
    assert edited["description"] == "keep me"
    assert edited["created_at"] == original["created_at"]
    assert edited["updated_at"] > original["updated_at"]
    cleared = cli.json("edit", "1", "--description", "")
    assert cleared["description"] is None
    assert cleared["title"] == "new"
    done = cli.json("edit", "1", "--done")
    assert done["done"] is True and done["completed_at"] is not None
    undone = cli.json("edit", "1", "--not-done")
    assert undone["done"] is False and undone["completed_at"] is None


def test_edit_without_options_is_a_usage_error(cli):
    cli.ok("add", "a")
    assert "nothing to change" in cli.fails(2, "edit", "1")


def test_edit_missing_task(cli):
    assert cli.fails(1, "edit", "5", "--title", "x") == "Error: task 5 not found\n"


def test_edit_rejects_an_empty_title(cli):
    cli.ok("add", "a")
    assert "title must not be empty" in cli.fails(2, "edit", "1", "--title", "  ")
    assert cli.json("show", "1")["title"] == "a"


def test_add_from_stdin_in_one_go(cli):
    added = cli.json("add", "-", input="alpha\n\n  \nbeta\r\ngamma")
    assert [t["title"] for t in added] == ["alpha", "beta", "gamma"]
    assert [t["id"] for t in added] == [1, 2, 3]
    assert cli.ok("add", "-", input="delta\nepsilon\n").stdout == "Added 2 tasks: 4-5\n"


def test_add_from_stdin_names_the_bad_line_and_adds_nothing(cli):
    error = cli.fails(2, "add", "-", input="fine\n\nalso fine\n" + "x" * 501 + "\n")
    assert error.startswith("Error: line 4: title is longer than 500 characters")
    assert cli.json("list", "--all") == []


def test_add_from_stdin_rejects_invalid_utf8(cli):
    error = cli.fails(2, "add", "-", input=b"ok\n\xff\xfe\n")
    assert error == "Error: line 2: title is not valid UTF-8\n"
    assert cli.json("list") == []


def test_add_from_empty_stdin(cli):
    assert cli.json("add", "-", input="\n\n") == []


def test_add_from_stdin_refuses_a_description(cli):
    assert "--description" in cli.fails(2, "add", "-", "-d", "x", input="a\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", ""], "title must not be empty"),
        (["add", "   "], "title must not be empty"),
        (["add", "x" * 501], "title is longer than 500 characters"),
        (["add", "two\nlines"], "title must be a single line"),
        (["add", "bell\x07"], "control character (U+0007)"),
        (["add", "esc\x1b[31m"], "control character (U+001B)"),
        (["add", "ok", "-d", "bad\x00"], "control character (U+0000)"),
        (["add", "ok", "-d", "x" * 65537], "description is longer than 65536 characters"),
    ],
)
def test_invalid_text_is_refused(cli, args, message):
    assert message in cli.fails(2, *args)
    assert cli.json("list", "--all") == []


def test_title_at_the_limits_is_accepted(cli):
    assert cli.json("add", "x" * 500, "-d", "y" * 65536)["title"] == "x" * 500


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "1.5", "9223372036854775808", "", "٣"])
@pytest.mark.parametrize("command", ["show", "done", "reopen", "rm", "edit"])
def test_bad_ids_are_usage_errors(cli, command, bad):
    cli.ok("add", "a")
    args = [command, "--", bad]
    if command == "edit":
        args += ["--title", "x"]
    error = cli.fails(2, *args)
    assert f"(see tasks {command} --help)" in error


def test_largest_id_is_well_formed_but_missing(cli):
    assert cli.fails(1, "show", str(2**63 - 1)) == f"Error: task {2**63 - 1} not found\n"


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--done", "--all"],
        ["list", "--limit", "0"],
        ["list", "--offset", "-1"],
        ["list", "--limit", "many"],
        ["list", "--bogus"],
        ["frobnicate"],
        ["add"],
        ["done"],
        ["show", "1", "2"],
    ],
)
def test_usage_errors_are_one_line(cli, args):
    cli.fails(2, *args)


def test_rm_without_yes_refuses_when_stdin_is_not_a_terminal(cli):
    cli.ok("add", "keep")
    assert "pass --yes" in cli.fails(2, "rm", "1")
    assert [t["id"] for t in cli.json("list")] == [1]


@pytest.mark.parametrize(
    ("answer", "deleted"), [("y\n", True), ("yes\n", True), ("n\n", False), ("\n", False)]
)
def test_rm_asks_on_a_terminal(cli, monkeypatch, answer, deleted):
    cli.ok("add", "maybe")
    monkeypatch.setattr("taskcli.cli.tasks.stdin_is_terminal", lambda: True)
    result = cli("rm", "1", input=answer)
    assert result.stderr.startswith("Delete task 1: maybe? [y/N]:")
    if deleted:
        assert result.exit_code == 0
        assert result.stdout == "Deleted task 1: maybe\n"
        assert cli.json("list") == []
    else:
        assert result.exit_code == 1
        assert result.stderr.endswith("Error: nothing deleted\n")
        assert [t["id"] for t in cli.json("list")] == [1]


def test_rm_prompt_for_several_tasks(cli, monkeypatch):
    cli.ok("add", "-", input="a\nb\n")
    monkeypatch.setattr("taskcli.cli.tasks.stdin_is_terminal", lambda: True)
    result = cli("rm", "2", "1", "--json", input="y\n")
    assert result.stderr.startswith("Delete 2 tasks (2, 1)? [y/N]:")
    assert [t["id"] for t in json.loads(result.stdout)] == [2, 1]


def test_rm_asks_nothing_for_a_missing_task(cli, monkeypatch):
    monkeypatch.setattr("taskcli.cli.tasks.stdin_is_terminal", lambda: True)
    assert cli.fails(1, "rm", "4", input="y\n") == "Error: task 4 not found\n"


def test_path_prints_the_database_path(cli, db_path):
    assert cli.ok("path").stdout == f"{db_path}\n"
    assert not made(db_path)


def test_db_option_beats_environment(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    monkeypatch.setenv("TASKS_DB", str(tmp_path / "env.db"))
    runner = CliRunner()
    assert runner.invoke(app, ["path"]).stdout == f"{tmp_path / 'env.db'}\n"
    explicit = tmp_path / "flag.db"
    assert runner.invoke(app, ["--db", str(explicit), "path"]).stdout == f"{explicit}\n"
    runner.invoke(app, ["--db", str(explicit), "add", "x"])
    assert explicit.exists() and not (tmp_path / "env.db").exists()


def test_default_path_is_in_the_user_data_dir(_isolated_home):
    from typer.testing import CliRunner

    out = CliRunner().invoke(app, ["path"]).stdout
    assert out == f"{_isolated_home / '.local' / 'share' / 'taskcli' / 'tasks.db'}\n"


def test_injected_context_is_used(tmp_path):
    from typer.testing import CliRunner

    ctx = AppContext(db_path=tmp_path / "injected.db")
    result = CliRunner().invoke(app, ["add", "x"], obj=ctx)
    assert result.exit_code == 0
    assert (tmp_path / "injected.db").exists()


def test_version(cli):
    from taskcli import __version__

    assert cli.ok("--version").stdout == f"taskcli {__version__}\n"


@pytest.mark.parametrize("command", ["add", "list", "show", "done", "reopen", "edit", "rm", "path"])
def test_every_command_has_help_with_an_example(cli, command, db_path):
    out = cli.ok(command, "--help").stdout
    assert "Example: tasks" in out or "Example: sqlite3" in out
    assert not made(db_path)


@pytest.mark.sqlite_only
def test_storage_error_for_a_directory(cli, db_path):
    db_path.mkdir(parents=True)
    for args in (["add", "x"], ["list"], ["--db", str(db_path), "show", "1"]):
        assert "is a directory" in cli.fails(3, *args)


@pytest.mark.sqlite_only
def test_created_files_are_private(cli, db_path):
    cli.ok("add", "secret")
    assert db_path.stat().st_mode & 0o777 == 0o600
    assert db_path.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.sqlite_only
def test_storage_error_for_a_file_that_is_not_a_database(cli, db_path):
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not sqlite at all" * 100)
    assert "not a taskcli database" in cli.fails(3, "list")
    assert "not a taskcli database" in cli.fails(3, "add", "x")


@pytest.mark.sqlite_only
def test_an_empty_file_is_a_new_database(cli, db_path):
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"")
    assert cli.json("add", "x")["id"] == 1


def test_the_clock_comes_from_the_context_object(db_path):
    from datetime import datetime, timezone

    from typer.testing import CliRunner

    from taskcli.cli import app
    from taskcli.cli.context import AppContext
    from taskcli.domain.clock import fixed_clock

    at = datetime(2030, 1, 2, 3, 4, 5, 600000, tzinfo=timezone.utc)
    obj = AppContext(db_path=db_path, clock=fixed_clock(at))
    result = CliRunner().invoke(app, ["add", "fixed", "--json"], obj=obj)
    assert result.exit_code == 0, result.stderr
    assert '"created_at": "2030-01-02T03:04:05.600000Z"' in result.stdout
