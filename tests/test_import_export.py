"""tasks export and tasks import: restore, idempotence, all-or-nothing, undo, safety."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Cli
from stores import is_postgres, made, sql, tamper
from stores import tamper as tamper_with
from test_formats import Taskwarrior, meaning, needs_task, needs_todo_txt, read_all

from taskcli.domain.dates import local_zone
from taskcli.formats import todotxt

SUMMARY_KEYS = ["format", "added", "updated", "unchanged", "skipped"]


def _imports(cli: Cli, *args: str, input: str | bytes | None = None) -> str:
    """Run an import that must succeed; its summary line (stderr)."""
    result = cli("import", *args, input=input)
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def _summary(cli: Cli, *args: str, input: str | bytes | None = None) -> dict:
    """Run `import --json`: its summary (stdout); stderr holds at most the format
    --format auto chose."""
    result = cli("import", *args, "--json", input=input)
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    assert result.stderr == ""
    return json.loads(result.stdout)


def _store(cli: Cli) -> None:
    """Tasks with every field set somewhere, a done one, and a gap in the ids."""
    cli.at("2026-11-20 09:00", "Europe/Berlin")
    cli.ok("add", "Ship v1", "--due", "2026-12-01", "-p", "H", "-t", "work", "-t", "été")
    cli.ok("add", "Call Bob", "--due", "2026-12-02 17:30", "-P", "home.calls")
    cli.ok("add", "gone")
    cli.ok("add", "Write docs", "-d", "line one\n\tline two")
    cli.at("2026-11-21 10:00", "Europe/Berlin")
    cli.ok("done", "2")
    cli.ok("rm", "-y", "3")
    cli.ok("add", "last")
    cli.ok("rm", "-y", "5")


def test_export_then_restore_with_keep_ids_is_byte_identical(cli, tmp_path):
    _store(cli)
    exported = cli.ok("export").stdout
    assert exported == cli.ok("list", "--all", "--json").stdout
    backup = tmp_path / "backup.json"
    backup.write_text(exported, encoding="utf-8")
    restored = Cli(tmp_path / "restored.db")
    restored.zone = cli.zone
    result = restored("import", "--keep-ids", str(backup))
    assert result.exit_code == 0, result.stderr
    assert "2 added" not in result.stderr and "3 added" in result.stderr
    assert restored.ok("export").stdout == exported
    # ids come back as they were, and the next one is past them.
    assert "Added task 5" in restored.ok("add", "next").stdout


def test_ndjson_export_is_one_object_per_line_and_restores_too(cli, tmp_path):
    _store(cli)
    lines = cli.ok("export", "--format", "ndjson").stdout.splitlines()
    assert [json.loads(line) for line in lines] == cli.json("list", "--all")
    restored = Cli(tmp_path / "restored.db")
    _imports(restored, "--keep-ids", "-", input="\n".join(lines) + "\n")
    assert restored.ok("export").stdout == cli.ok("export").stdout


def test_importing_the_same_file_twice_changes_nothing_the_second_time(cli, tmp_path):
    _store(cli)
    exported = cli.ok("export").stdout
    other = Cli(tmp_path / "other.db")
    other.ok("add", "already here")
    first = _summary(other, "-", input=exported)
    assert first == {"format": "json", "added": 3, "updated": 0, "unchanged": 0, "skipped": {}}
    before = other.ok("export").stdout
    second = _summary(other, "-", input=exported)
    assert second == {"format": "json", "added": 0, "updated": 0, "unchanged": 3, "skipped": {}}
    assert other.ok("export").stdout == before
    # New ids, the same uuids and times.
    assert [task["id"] for task in json.loads(before)] == [1, 2, 3, 4]
    theirs = {task["uuid"]: task for task in json.loads(exported)}
    for task in json.loads(before)[1:]:
        assert {**task, "id": 0} == {**theirs[task["uuid"]], "id": 0}


def test_a_record_modified_later_updates_its_task_an_older_one_does_not(cli):
    cli.at("2026-11-20 09:00")
    cli.ok("add", "original")
    (task,) = cli.json("list")
    newer = {**task, "title": "changed elsewhere", "updated_at": "2026-11-22T00:00:00.000000Z"}
    older = {**task, "title": "stale copy", "updated_at": "2026-11-19T00:00:00.000000Z"}
    assert _summary(cli, "-f", "ndjson", "-", input=json.dumps(older))["unchanged"] == 1
    assert cli.json("show", "1")["title"] == "original"
    assert _summary(cli, "-f", "ndjson", "-", input=json.dumps(newer))["updated"] == 1
    shown = cli.json("show", "1")
    assert (shown["id"], shown["title"], shown["updated_at"]) == (
        1,
        "changed elsewhere",
        "2026-11-22T00:00:00.000000Z",
    )


def test_one_bad_record_imports_nothing_and_is_named_with_its_field(cli):
    cli.ok("add", "keep me")
    before = cli.ok("export").stdout
    good = {"title": "fine"}
    cases = [
        ({"title": "bad\x07bell"}, "record 1, field 'title'"),
        ({"title": "x", "tags": "work"}, "record 1, field 'tags'"),
        ({"title": "x", "tags": ["has space"]}, "record 1, field 'tags'"),
        ({"title": "x", "due": "2026-02-30"}, "record 1, field 'due'"),
        ({"title": "x", "priority": "Z"}, "record 1, field 'priority'"),
        ({"title": "x", "done": "yes"}, "record 1, field 'done'"),
        ({"title": "x", "uuid": "not-a-uuid"}, "record 1, field 'uuid'"),
        ({"title": "x", "created_at": "yesterday"}, "record 1, field 'created_at'"),
        ({"title": "x", "created_at": "10000-01-01T00:00:00Z"}, "record 1, field 'created_at'"),
        ({"title": 5}, "record 1, field 'title'"),
    ]
    for bad, named in cases:
        error = cli.fails(2, "import", "-f", "json", "-", input=json.dumps([good, bad]))
        record, field = named.split(", ")
        assert record in error and field in error, (bad, error)
    assert cli.ok("export").stdout == before
    assert len(cli.json("history")) == 1


def test_duplicate_uuids_in_one_file_are_refused(cli):
    uuid = "0b7c6f3e-4a1d-4d2b-9a55-7b1f0c2d3e4f"
    records = [{"title": "a", "uuid": uuid}, {"title": "b", "uuid": uuid}]
    error = cli.fails(2, "import", "-f", "json", "-", input=json.dumps(records))
    assert "record 1" in error and "field 'uuid'" in error and "record 0" in error
    assert cli.json("list", "--all") == []


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b'[{"title": "a"},\n{"title": "b"', "line 2"),
        (b'{"title": "a"}\n{"title": "\xff"}\n', "line 2 is not valid UTF-8"),
        (b'[{"title": "a", "nonsense": 1}]', "nonsense"),
    ],
)
def test_broken_input_is_one_error_line_and_nothing_is_written(cli, data, named):
    format_ = "json" if data.startswith(b"[") else "ndjson"
    error = cli.fails(2, "import", "-f", format_, "-", input=data)
    assert named in error
    assert not made(cli.db_path) or cli.json("list", "--all") == []


@pytest.mark.parametrize(
    "data",
    [
        '[{"title": "a"',
        '{"title": "a", "done": tru\n',
        '[{"description": "x", "entry": ',
        # JSON behind something else (found by attacking it).
        '// exported\n[\n  {\n    "title": "a"\n  }\n]\n',
        '# comment\n{"title": "a"}\n',
        '\u00a0[{"title": "a"}]',
        '[[{"title": "a"}]]',
    ],
)
def test_truncated_json_is_an_error_not_todo_txt_lines(cli, data):
    """--format auto must not take JSON cut short for todo.txt and import its text."""
    result = cli("import", "-", input=data)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert not made(cli.db_path) or cli.json("list", "--all") == []


def test_an_over_long_line_is_refused_before_it_is_read_whole(cli, monkeypatch):
    from taskcli.cli import transfer

    monkeypatch.setattr(transfer, "LINE_MAX", 1000)
    error = cli.fails(2, "import", "-f", "ndjson", "-", input=b"x" * 5000)
    assert "line 1 is longer than" in error


def test_dry_run_counts_and_writes_nothing(cli, tmp_path):
    data = json.dumps([{"title": "a"}, {"title": "b"}])
    summary = _summary(cli, "--dry-run", "-f", "json", "-", input=data)
    assert summary == {"format": "json", "added": 2, "updated": 0, "unchanged": 0, "skipped": {}}
    assert not made(cli.db_path)
    _imports(cli, "-f", "json", "-", input=data)
    again = cli("import", "-n", "-f", "json", "-", input=data)
    assert again.exit_code == 0
    assert "Would import (dry run, nothing changed)" in again.stderr
    assert "0 added, 0 updated, 2 unchanged" in again.stderr
    assert len(cli.json("history")) == 1


def test_the_summary_is_a_pinned_json_shape(cli):
    summary = _summary(cli, "-f", "json", "-", input='[{"title": "a"}]')
    assert list(summary) == SUMMARY_KEYS
    assert isinstance(summary["skipped"], dict)


def test_an_import_is_one_operation_that_undo_takes_back_whole(cli):
    cli.at("2026-11-20 09:00")
    cli.ok("add", "existing")
    (task,) = cli.json("list")
    records = [
        {**task, "title": "renamed", "updated_at": "2026-11-25T00:00:00.000000Z"},
        {"title": "new one"},
        {"title": "new two"},
    ]
    summary = _summary(cli, "-f", "json", "-", input=json.dumps(records))
    assert (summary["added"], summary["updated"]) == (2, 1)
    after = cli.ok("export").stdout
    (operation, *_) = cli.json("history")
    assert (operation["command"].split()[0], operation["count"]) == ("import", 3)
    undone = cli.json("undo")
    assert sorted((t["id"], t["deleted"]) for t in undone["tasks"]) == [
        (1, False),
        (2, True),
        (3, True),
    ]
    assert [t["title"] for t in cli.json("list", "--all")] == ["existing"]
    cli.ok("redo")
    assert cli.ok("export").stdout == after


def test_undo_of_an_import_refuses_when_its_tasks_changed_behind_the_log(cli):
    _imports(cli, "-f", "json", "-", input='[{"title": "a"}, {"title": "b"}]')
    sql(cli.db_path, "UPDATE task SET title = 'edited outside' WHERE id = 2")
    error = cli.fails(1, "undo")
    assert "task 2 has changed" in error
    assert len(cli.json("list")) == 2


def test_keep_ids_needs_a_new_store_and_every_id(cli, tmp_path):
    cli.ok("add", "here")
    cli.ok("rm", "-y", "1")
    data = json.dumps([{"id": 1, "title": "a"}])
    assert "new store" in cli.fails(2, "import", "--keep-ids", "-f", "json", "-", input=data)
    fresh = Cli(tmp_path / "fresh.db")
    error = fresh.fails(2, "import", "--keep-ids", "-f", "json", "-", input='[{"title": "a"}]')
    assert "record 0" in error and "field 'id'" in error
    twice = json.dumps([{"id": 1, "title": "a"}, {"id": 1, "title": "b"}])
    assert "field 'id'" in fresh.fails(2, "import", "--keep-ids", "-f", "json", "-", input=twice)
    assert "JSON" in fresh.fails(2, "import", "--keep-ids", "-f", "csv", "-", input="title\na\n")


def test_export_to_a_file_replaces_it_whole_with_mode_0600(cli, tmp_path):
    _store(cli)
    target = tmp_path / "backup.json"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o644)
    cli.ok("export", "-o", str(target))
    assert target.read_text(encoding="utf-8") == cli.ok("export").stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".backup")) == []


def test_a_failed_export_leaves_the_file_as_it_was(cli, tmp_path):
    cli.ok("add", "fine")
    target = tmp_path / "backup.json"
    target.write_text("old", encoding="utf-8")
    if not tamper(cli.db_path, "UPDATE task SET created_at = 'garbage' WHERE id = 1"):
        assert is_postgres(cli.db_path)  # a damage PostgreSQL's column types refuse
        return
    error = cli.fails(3, "export", "-o", str(target))
    assert "task 1 is damaged" in error
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".backup")] == []


def test_export_takes_the_filters_of_list_and_all_tasks_by_default(cli):
    _store(cli)
    every = json.loads(cli.ok("export").stdout)
    assert [t["title"] for t in every] == ["Ship v1", "Call Bob", "Write docs"]
    pending = json.loads(cli.ok("export", "--pending").stdout)
    assert [t["title"] for t in pending] == ["Ship v1", "Write docs"]
    done = json.loads(cli.ok("export", "--done").stdout)
    assert [t["title"] for t in done] == ["Call Bob"]
    tagged = json.loads(cli.ok("export", "-t", "work").stdout)
    assert [t["title"] for t in tagged] == ["Ship v1"]
    assert cli.fails(2, "export", "--pending", "--done").startswith("Error: --pending")
    assert "not one of" in cli.fails(2, "export", "--format", "xml")


def test_import_of_a_missing_file_or_a_folder_is_a_clear_error(cli, tmp_path):
    assert "no such file" in cli.fails(2, "import", str(tmp_path / "nope.json"))
    assert "is a folder" in cli.fails(2, "import", str(tmp_path))


def test_kept_fields_round_trip_and_show_lists_them(cli, tmp_path):
    extra = {"taskwarrior": {"annotations": [{"entry": "20261120T090000Z", "description": "n"}]}}
    _imports(cli, "-f", "json", "-", input=json.dumps([{"title": "a", "extra": extra}]))
    (task,) = cli.json("list")
    assert task["extra"] == extra
    shown = cli.ok("show", "1").stdout
    assert "taskwarrior.annotations" in shown
    restored = Cli(tmp_path / "r.db")
    _imports(restored, "--keep-ids", "-", input=cli.ok("export").stdout)
    assert restored.ok("export").stdout == cli.ok("export").stdout


def test_a_damaged_extra_is_refused_on_output(cli):
    cli.ok("add", "a")
    sql(cli.db_path, "UPDATE task SET extra = '[1, 2]' WHERE id = 1")
    assert "its extra" in cli.fails(3, "list", "--json")


# -- with the real programs -----------------------------------------------------------


@needs_task
def test_a_taskwarrior_store_moves_in_and_back_out_through_the_cli(cli, tmp_path):
    """`task export | tasks import`, then `tasks export --format taskwarrior | task
    import` into an empty Taskwarrior: every imported task comes back with every
    field (id and urgency aside); deleted tasks and recurring templates are skipped
    and counted; importing the same export again changes nothing."""
    source = Taskwarrior(tmp_path / "source")
    source("add", "Ship v1", "project:work.q1", "priority:H", "+work", "+home", "estimate:3")
    source("add", "Call Bob", "due:2026-12-01T16:00:00", "size:big", "priority:L")
    source("/Ship v1/", "annotate", "a note")
    source("add", "later", "wait:+3d", "scheduled:2026-11-30", "until:2027-01-01")
    source("/later/", "modify", f"depends:{next(iter(source.tasks()))}")
    source("add", "weekly", "recur:weekly", "due:2026-12-02")
    source("add", "to delete")
    source("/to delete/", "delete")
    source("add", "to complete")
    source("/to complete/", "done")
    long = " ".join(["word"] * 120)
    made = {"uuid": "22222222-2222-4222-8222-222222222222", "description": long}
    source("import", "-", stdin=json.dumps([{**made, "status": "pending"}]))
    exported = source("export")
    original = source.tasks()

    summary = _summary(cli, "-", input=exported)
    assert summary["format"] == "taskwarrior"
    assert summary["skipped"] == {"deleted": 1, "recurring template": 1}
    kept = {u: t for u, t in original.items() if t["status"] not in ("deleted", "recurring")}
    assert summary["added"] == len(kept)
    listed = {task["title"]: task for task in json.loads(cli.ok("export").stdout)}
    assert listed["Ship v1"]["project"] == "work.q1" and listed["Ship v1"]["priority"] == "H"
    assert listed["Ship v1"]["tags"] == ["home", "work"]
    assert listed["Call Bob"]["due"].endswith("Z")  # an exact time, in UTC
    assert listed["to complete"]["done"] is True
    (cut,) = [task for title, task in listed.items() if title.endswith("…")]
    assert long.startswith(cut["title"][:-1]) and len(cut["title"]) <= 500
    assert cut["description"] == long
    table = cli.ok("list").stdout
    assert "Ship v1" in table and "work.q1" in table

    again = _summary(cli, "-", input=exported)
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, len(kept))

    target = Taskwarrior(tmp_path / "target")
    target("import", "-", stdin=cli.ok("export", "--format", "taskwarrior").stdout)
    copy = target.tasks()
    assert set(copy) == set(kept)
    for uuid, task in kept.items():
        assert copy[uuid] == task, uuid


@needs_todo_txt
def test_a_todo_txt_file_moves_in_and_back_out_through_the_cli(cli, tmp_path):
    folder = tmp_path / "todo"
    folder.mkdir()
    config = folder / "config"
    config.write_text(
        f"export TODO_DIR={folder}\nexport TODO_FILE=$TODO_DIR/todo.txt\n"
        "export DONE_FILE=$TODO_DIR/done.txt\nexport REPORT_FILE=$TODO_DIR/report.txt\n"
    )

    def todo(*args: str) -> str:
        return subprocess.run(
            ["todo-txt", "-d", str(config), "-f", "-p", "-a", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    todo("add", "(A) Call mom +family @phone due:2026-12-01")
    todo("add", "Buy milk @store @errand +home +shopping")
    todo("-t", "add", "(C) Write report +work.q1 rec:1w")
    todo("-t", "add", "plain task")
    todo("pri", "4", "Z")
    todo("do", "1")
    original = (folder / "todo.txt").read_text(encoding="utf-8")

    summary = _summary(cli, str(folder / "todo.txt"))
    assert summary == {
        "format": "todotxt",
        "added": 4,
        "updated": 0,
        "unchanged": 0,
        "skipped": {},
    }
    tasks = {task["title"]: task for task in json.loads(cli.ok("export").stdout)}
    assert tasks["Call mom"]["done"] is True and tasks["Call mom"]["project"] == "family"
    assert tasks["Call mom"]["tags"] == ["phone"] and tasks["Call mom"]["due"] == "2026-12-01"
    assert tasks["Buy milk"]["project"] == "home"
    assert tasks["Buy milk"]["tags"] == ["errand", "shopping", "store"]
    assert tasks["plain task"]["priority"] == "L"
    # Importing the same file again adds nothing (uuids come from each line).
    assert _summary(cli, str(folder / "todo.txt"))["unchanged"] == 4

    written = cli.ok("export", "--format", "todotxt").stdout
    first = read_all(todotxt, original, cli.zone or local_zone())
    again = read_all(todotxt, written, cli.zone or local_zone())
    assert sorted(map(meaning, again), key=repr) == sorted(map(meaning, first), key=repr)
    # And todo-txt itself lists what taskcli wrote as the same tasks.
    (folder / "todo.txt").write_text(written, encoding="utf-8")
    listed = todo("listall")
    assert "Call mom +family @phone due:2026-12-01" in listed
    assert "(Z)" in listed and "plain task" in listed


# -- through the command server ---------------------------------------------------------


def test_import_and_export_are_the_same_through_the_server_in_the_callers_folder(pair):
    """Relative paths are the caller's: `import in.txt` reads, and `export -o` writes,
    in the folder the command was typed in, with the same output either way."""
    from server_env import TASKS, _same

    warm, _cold = pair
    served = warm.warm()["served"]
    csv_text = b"title,tags\nfrom a sheet,a b\n"
    outcomes = []
    for env in pair:
        folder = env.root / "work"
        folder.mkdir(parents=True)
        (folder / "in.txt").write_text(
            "(A) Call mom +family @phone due:2026-12-01\nx 2026-11-20 2026-11-19 paid rent\n",
            encoding="utf-8",
        )

        def run(*args: str, input: bytes | None = None, env=env, folder=folder):
            return subprocess.run(
                [str(TASKS), *args],
                cwd=folder,
                env=env.vars,
                input=input,
                capture_output=True,
                timeout=120,
            )

        outcomes.append(
            [
                run("import", "--dry-run", "in.txt"),
                run("import", "in.txt"),
                run("import", "in.txt", "--json"),
                run("import", "-", "--format", "csv", input=csv_text),
                run("import", "missing.json"),
                run("import", "-", "-f", "json", input=b'[{"title": "bad\\u0007"}]'),
                run("export", "-o", "out.json"),
                run("export", "--format", "todotxt"),
                run("export", "--format", "csv"),
                run("export", "--format", "taskwarrior"),
            ]
        )
        written = folder / "out.json"
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
        listing = run("list", "--all", "--json").stdout
        assert json.loads(written.read_text(encoding="utf-8")) == json.loads(listing)
        outcomes[-1].append(run("undo"))
    for warm_result, cold_result in zip(*outcomes, strict=True):
        _same(warm_result, cold_result)
    assert outcomes[0][1].returncode == 0 and b"2 added" in outcomes[0][1].stderr
    assert outcomes[0][4].returncode == 2 and outcomes[0][5].returncode == 2
    assert warm.status()["served"] >= served + len(outcomes[0])


# -- found by attacking it ----------------------------------------------------------------


@pytest.mark.sqlite_only
def test_export_replaces_regular_files_only_and_never_the_database(cli, tmp_path):
    cli.ok("add", "precious")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "target.json")
    hard = tmp_path / "hard.db"
    os.link(cli.db_path, hard)
    cases = [
        (cli.db_path, "belongs to the task database"),
        (Path(f"{cli.db_path}-wal"), "belongs to the task database"),
        (Path(f"{cli.db_path}-journal"), "belongs to the task database"),
        (hard, "is the task database itself"),
        (fifo, "not a regular file"),
        (link, "is a symbolic link"),
        (tmp_path, "is a folder"),
    ]
    for target, message in cases:
        assert message in cli.fails(1, "export", "-o", str(target)), target
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and link.is_symlink()
    assert not (tmp_path / "target.json").exists()
    assert [task["title"] for task in cli.json("list")] == ["precious"]
    assert not [p for p in tmp_path.rglob(".*.tmp")]


def test_sigterm_during_an_export_to_a_file_leaves_no_temporary_file(tmp_path):
    """The write is stopped by the signal (exit by SIGTERM), the file it was going to
    replace is as it was, and no temporary file stays beside it."""
    target = tmp_path / "out.json"
    target.write_text("old", encoding="utf-8")
    code = (
        "import os, signal\n"
        "from pathlib import Path\n"
        "from taskcli.render.transfer import write_file, stopped_by_signal\n"
        "def chunks():\n"
        "    yield 'partial'\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    yield 'never'\n"
        "try:\n"
        f"    write_file(Path({str(target)!r}), chunks())\n"
        "except BaseException as error:\n"
        "    number = stopped_by_signal(error)\n"
        "    signal.signal(number, signal.SIG_DFL)\n"
        "    os.kill(os.getpid(), number)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


@pytest.mark.parametrize(
    ("data", "args", "named"),
    [
        # A lone surrogate in a record without a uuid (its uuid is derived from it).
        ('{"title": "a\\ud800b"}\n', ["-f", "ndjson"], "field 'title'"),
        ('[{"description": "a", "status": "pending", "uda": "\\ud800"}]', [], "field 'extra'"),
        # A number longer than Python reads.
        ('{"title": "x", "id": ' + "9" * 5000 + "}\n", ["-f", "ndjson"], "line 1"),
        # Kept fields nested deeper than taskcli keeps.
        ('{"title": "x", "extra": {"k": ' + "[" * 100 + "]" * 100 + "}}\n", [], "64 levels"),
        # A restored id beyond what a restore takes.
        ('[{"id": 9223372036854775807, "title": "max"}]', ["--keep-ids"], "field 'id'"),
    ],
)
def test_hostile_records_are_one_error_line_never_an_internal_error(cli, data, args, named):
    error = cli.fails(2, "import", *args, "-", input=data)
    assert named in error
    assert not made(cli.db_path) or cli.json("list", "--all") == []


def test_dates_at_the_ends_of_the_calendar_import_and_export_in_any_zone(cli):
    early = '{"title": "early", "created_at": "0001-01-01T00:00:00Z"}\n'
    _imports(cli, "-f", "ndjson", "-", input=early)
    cli.ok("add", "late", "--due", "9999-12-31")
    cli.at("2026-11-28 12:00", "Etc/GMT+12")
    assert cli.ok("export", "--format", "taskwarrior").stdout.count("uuid") == 2
    assert "0001-01-01 early" in cli.ok("export", "--format", "todotxt").stdout
    cli.at("2026-11-28 12:00", "Etc/GMT-14")
    error = cli.fails(2, "import", "-f", "todotxt", "-", input="0001-01-01 ancient\n")
    assert "line 1, field 'created_at'" in error


def test_a_json_value_over_many_lines_is_read_whole(cli):
    keys = ",\n".join(f'"k{n}": {n}' for n in range(5000))
    data = '{"title": "wide", "extra": {"tool": {\n' + keys + "\n}}}\n"
    _imports(cli, "-f", "ndjson", "-", input=data)
    (task,) = cli.json("list")
    assert len(task["extra"]["tool"]) == 5000


def test_a_csv_cell_may_hold_large_kept_fields(cli, tmp_path):
    notes = [{"entry": "20261120T090000Z", "description": f"note {n}"} for n in range(5000)]
    record = {"title": "annotated", "extra": {"taskwarrior": {"annotations": notes}}}
    _imports(cli, "-f", "json", "-", input=json.dumps([record]))
    sheet = cli.ok("export", "--format", "csv").stdout
    assert len(sheet) > 131072
    other = Cli(tmp_path / "other.db")
    _imports(other, "-f", "csv", "-", input=sheet)
    assert other.json("list")[0]["extra"] == record["extra"]


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE operation_row SET created_at = 'garbage' WHERE phase = 'before'",
        "UPDATE operation_row SET done = 7 WHERE phase = 'before'",
        "UPDATE operation_row SET extra = '[1]' WHERE phase = 'before'",
        "UPDATE operation_row SET phase = 'BEFORE' WHERE phase = 'before'",
        "UPDATE operation SET count = '2x'",
        "UPDATE operation SET undone = 'maybe' WHERE seq = 1",
        "UPDATE operation SET command = CAST(x'ff' AS BLOB)",
        # Found by a second attack: entries that look whole but are not what an import
        # writes: a task it made logged as changed, its changed tasks forgotten, ids
        # never handed out, a due's instant that is not one.
        "INSERT INTO operation_row SELECT seq, 'before', title, description, id, done, "
        "created_at, updated_at, completed_at, uuid, due, priority, tags, project, due_at, "
        "extra FROM operation_row WHERE phase = 'after' AND id = 2",
        "DELETE FROM operation_row WHERE phase = 'before'",
        "UPDATE operation_row SET id = 9223372036854775807 WHERE id = 2",
        "UPDATE operation_row SET id = 0 WHERE id = 2",
        "UPDATE operation_row SET due = '2024-01-01', due_at = 'garbage' WHERE phase = 'before'",
        "UPDATE operation SET first_id = 1 WHERE kind = 'import'",
    ],
)
def test_undo_refuses_a_tampered_log_entry_and_changes_nothing(cli, tamper):
    cli.at("2026-11-20 09:00")
    cli.ok("add", "existing")
    (task,) = cli.json("list")
    newer = {**task, "title": "renamed", "updated_at": "2026-11-25T00:00:00.000000Z"}
    _imports(cli, "-f", "json", "-", input=json.dumps([newer, {"title": "new"}]))
    if not tamper_with(cli.db_path, tamper):
        assert is_postgres(cli.db_path)  # a damage PostgreSQL's column types refuse
        return
    tasks_before = sql(cli.db_path, "SELECT * FROM task ORDER BY id")
    log_before = sql(cli.db_path, "SELECT * FROM operation ORDER BY seq")
    error = cli.fails(3, "undo")
    assert "damaged" in error
    assert sql(cli.db_path, "SELECT * FROM task ORDER BY id") == tasks_before
    assert sql(cli.db_path, "SELECT * FROM operation ORDER BY seq") == log_before


def test_import_through_process_substitution_runs_in_the_callers_process(pair, tmp_path):
    """`tasks import <(task export)` names /dev/fd/63, the caller's own descriptor:
    the server hands such a command back, with the same result."""
    from server_env import TASKS

    warm, _cold = pair
    warm.warm()
    source = tmp_path / "in.ndjson"
    source.write_text('{"title": "through a descriptor"}\n', encoding="utf-8")
    for env in pair:
        done = subprocess.run(
            ["bash", "-c", f'"{TASKS}" import <(cat "{source}")'],
            env=env.vars,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert b"1 added" in done.stderr
        listed = json.loads(env.run("list", "--json").stdout)
        assert [task["title"] for task in listed] == ["through a descriptor"]


def test_a_taskwarrior_modified_before_its_entry_goes_back_as_it_was(cli):
    """Taskwarrior makes recurring instances modified before their entry; taskcli
    stores its invariant (updated no earlier than created) and exports the file's own
    time again while the task is unchanged."""
    task = {
        "uuid": "5d1c7f0e-2b3a-4c5d-8e9f-0a1b2c3d4e5f",
        "description": "instance",
        "status": "pending",
        "entry": "20261128T100000Z",
        "modified": "20261127T090000Z",
    }
    _imports(cli, "-", input=json.dumps([task]))
    (listed,) = cli.json("list")
    assert listed["updated_at"] == listed["created_at"] == "2026-11-28T10:00:00.000000Z"
    (back,) = json.loads(cli.ok("export", "--format", "taskwarrior").stdout)
    assert back["modified"] == "20261127T090000Z" and "extra" not in back
    cli.ok("edit", "1", "-p", "H")
    (back,) = json.loads(cli.ok("export", "--format", "taskwarrior").stdout)
    assert back["modified"] > back["entry"]


def test_done_todo_txt_lines_keep_the_dates_they_had(cli):
    lines = "x done without date\nx 2026-11-20 done with one\nx 2026-11-21 2026-11-19 both\n"
    _imports(cli, "-", input=lines)
    assert cli.ok("export", "--format", "todotxt").stdout == lines
    assert _summary(cli, "-", input=lines)["unchanged"] == 3


@pytest.mark.sqlite_only
def test_a_large_import_into_an_empty_store_keeps_its_indexes_and_statistics(cli):
    """A large import into an empty store builds the task table's indexes after its
    rows (cheaper): the store ends with the same indexes, the same planner statistics,
    and every uuid still unique."""

    def schema() -> tuple[list, list]:
        connection = sqlite3.connect(cli.db_path)
        try:
            indexes = connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
            ).fetchall()
            statistics = connection.execute("SELECT * FROM sqlite_stat1 ORDER BY idx").fetchall()
        finally:
            connection.close()
        return indexes, statistics

    cli.ok("add", "seed")
    cli.ok("rm", "-y", "1")
    before = schema()
    lines = "".join(
        f'{{"title": "task {n}", "tags": ["t{n % 7}"], "project": "p"}}\n' for n in range(12_000)
    )
    assert _summary(cli, "-f", "ndjson", "-", input=lines)["added"] == 12_000
    assert schema() == before
    connection = sqlite3.connect(cli.db_path)
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    connection.close()
    assert len(cli.json("list", "-t", "t3")) == len([n for n in range(12_000) if n % 7 == 3])
    duplicate = json.dumps({"title": "again", "uuid": cli.json("list", "--limit", "1")[0]["uuid"]})
    assert _summary(cli, "-f", "ndjson", "-", input=duplicate)["unchanged"] == 1


def test_an_export_removes_temporary_files_a_killed_export_left(cli, tmp_path):
    """SIGKILL (or a client killed while the server ran its export) lets nothing
    clean up: the next export to the same file removes the leftovers of an hour ago,
    never a fresh one (another export may be writing it)."""
    cli.ok("add", "a")
    target = tmp_path / "out.json"
    stale, fresh = tmp_path / ".out.json.old123.tmp", tmp_path / ".out.json.new456.tmp"
    for leftover in (stale, fresh):
        leftover.write_text("partial", encoding="utf-8")
    os.utime(stale, (0, 0))
    cli.ok("export", "-o", str(target))
    assert not stale.exists() and fresh.exists()
    assert json.loads(target.read_text(encoding="utf-8"))[0]["title"] == "a"
