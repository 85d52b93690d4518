"""The mechanisms behind speed at any store size (the clock is for benchmarks/run.py).

Listings stream from the driver's cursor and are written in blocks; the fast JSON
writer is byte for byte json.dumps of the contract's dict; bulk adds are one
executemany in one transaction; the terminal table sizes its columns once.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from taskcli import render
from taskcli.domain.models import TaskCreate, TaskRow
from taskcli.domain.query import Status, TaskQuery
from taskcli.domain.validation import extra_text, is_project, is_tag, tags_text
from taskcli.service import TaskService
from taskcli.service.tasks import Listing

STORED_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)
)
text = st.text(max_size=40)
tag = st.from_regex(r"[\w.-]{1,64}", fullmatch=True).filter(is_tag)
dues = st.dates().map(str) | times.map(
    lambda t: t.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
)


@given(
    id_=st.integers(1, 2**63 - 1),
    title=text,
    description=st.none() | text,
    done=st.booleans() | st.sampled_from([0, 1]),
    created=times,
    completed_if_done=times,
    uuid=st.uuids().map(str),
    due=st.none() | dues,
    priority=st.sampled_from(["H", "M", "L", None]),
    tags=st.lists(tag, max_size=4),
    project=st.none()
    | st.from_regex(r"[\w-]{1,20}(\.[\w-]{1,20}){0,3}", fullmatch=True).filter(is_project),
    extra=st.dictionaries(
        st.text(max_size=8),
        st.none() | st.booleans() | st.integers() | text | st.lists(text, max_size=3),
        max_size=3,
    ).map(lambda kept: {"tool": kept} if kept else {}),
)
def test_fast_json_lines_are_json_dumps_of_the_contract(
    id_,
    title,
    description,
    done,
    created,
    completed_if_done,
    uuid,
    due,
    priority,
    tags,
    project,
    extra,
):
    stamp = render.timestamp
    completed = completed_if_done if done else None
    row = TaskRow(
        id_,
        title,
        description,
        done,
        stamp(created),
        stamp(created),
        None if completed is None else stamp(completed),
        uuid,
        due,
        priority,
        tags_text(tags),
        project,
        extra_text(extra),
    )
    task = SimpleNamespace(
        **row._replace(
            created_at=created,
            updated_at=created,
            completed_at=completed,
            tags=sorted(set(tags)),
            extra=extra,
        )._asdict()
    )
    expected = json.dumps(render.task_dict(task), ensure_ascii=False)
    assert json.dumps(render.task_dict(row), ensure_ascii=False) == expected
    for same_kind in ([row, row], [task, task]):
        out = io.StringIO()
        sys_stdout, sys.stdout = sys.stdout, out
        try:
            render.json_array(same_kind)
        finally:
            sys.stdout = sys_stdout
        assert out.getvalue() == f"[\n{expected},\n{expected}\n]\n"


def test_listing_carries_the_same_times_as_a_single_task(cli):
    cli.ok("add", "one", "-d", "notes")
    cli.ok("add", "-", input="two\nthree\n")
    cli.ok("done", "2")
    listed = cli.json("list", "--all")
    assert listed == [cli.json("show", str(task["id"])) for task in listed]


def test_bulk_add_stores_times_exactly_as_a_single_add(cli, db_path):
    cli.ok("add", "single")
    added = cli.json("add", "-", input="bulk one\nbulk two\n")
    rows = sqlite3.connect(db_path).execute("SELECT created_at, updated_at FROM task").fetchall()
    assert all(STORED_TIME.match(value) for row in rows for value in row), rows
    assert added == [cli.json("show", "2"), cli.json("show", "3")]


def test_bulk_add_is_one_transaction(service):
    service.add(TaskCreate(title="first"))
    statements: list[str] = []
    event.listen(
        service.store._engine,
        "checkout",
        lambda connection, record, proxy: connection.set_trace_callback(statements.append),
    )
    rows = service.add_many(TaskCreate(title=f"t{n}") for n in range(5000))
    assert [row.id for row in rows] == list(range(2, 5002))
    transaction = [s.split()[0] for s in statements if not s.startswith("PRAGMA")]
    assert transaction[0] == "BEGIN" and "IMMEDIATE" in statements[transaction.index("BEGIN")]
    assert transaction[1:5001] == ["INSERT"] * 5000
    # Then the id of the last, and one operation for undo: what could be redone is
    # dropped, the operation is recorded (its ids, no copies); then the commit.
    assert transaction[5001:] == ["SELECT", "DELETE", "DELETE", "INSERT", "COMMIT"]
    assert statements[-2].startswith("INSERT INTO operation ")


def test_bulk_add_reports_progress(service):
    reports = []
    service.add_many(
        (TaskCreate(title=f"t{n}") for n in range(4500)), progress=lambda *a: reports.append(a)
    )
    assert reports[0] == (0, 4500) and reports[-1] == (4500, 4500)
    assert len(reports) >= 3


def test_listing_is_a_lazy_stream(service):
    service.add_many(TaskCreate(title=f"t{n}") for n in range(5000))
    stream = iter(service.list_tasks(TaskQuery(status=Status.ALL)))
    first = next(stream)
    assert (first.id, first.title, first.done) == (1, "t0", False)
    assert isinstance(first.created_at, str)
    # Still one read transaction: the rest is fetched batch by batch.
    assert sum(1 for _ in stream) == 4999


def _consumed_then_written(write_through, rows):
    """How many rows were consumed when output first reached stdout."""
    consumed = 0
    seen: list[int] = []

    def source():
        nonlocal consumed
        for row in rows:
            consumed += 1
            yield row

    class Out(io.StringIO):
        def write(self, s):
            seen.append(consumed)
            return super().write(s)

    sys_stdout, sys.stdout = sys.stdout, Out()
    try:
        write_through(source())
    finally:
        sys.stdout = sys_stdout
    return seen[0], consumed


def _rows(count):
    now = render.timestamp(datetime.now(timezone.utc))
    return [
        TaskRow(
            n, f"task {n}", None, False, now, now, None, str(uuid4()), None, None, "[]", None, "{}"
        )
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize("terminal", [False, True])
def test_outputs_are_written_before_all_rows_are_read(monkeypatch, terminal):
    monkeypatch.setattr(render.table, "is_terminal", lambda *_: terminal)
    first_write, total = _consumed_then_written(render.json_array, _rows(5000))
    assert first_write <= 1000 and total == 5000
    first_write, total = _consumed_then_written(
        lambda rows: render.task_list(rows, ""), _rows(5000)
    )
    assert first_write <= 1000 and total == 5000


def _table(monkeypatch, rows, widest_id=0, columns=60):
    monkeypatch.setattr(render.table, "is_terminal", lambda *_: True)
    monkeypatch.setenv("COLUMNS", str(columns))
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        render.task_list(Listing(iter(rows), lambda: widest_id), "none")
    finally:
        sys.stdout = sys_stdout
    return ANSI.sub("", out.getvalue()).splitlines()


def test_small_table_fits_its_content(monkeypatch):
    lines = _table(monkeypatch, _rows(3), widest_id=100_000)
    assert lines[0] == "ID  Done  Title   Age"
    assert lines[1] == " 1        task 1  now"


def test_long_table_keeps_its_columns_aligned(monkeypatch):
    monkeypatch.setattr(render.table, "_PREVIEW_ROWS", 5)
    rows = _rows(2000)
    done_at = rows[1500].created_at
    rows[1500] = rows[1500]._replace(done=True, completed_at=done_at, title="x " * 60)
    lines = _table(monkeypatch, rows, widest_id=2000)
    assert lines[0].startswith("  ID  Done  Title")
    assert all(len(line) <= 60 for line in lines)
    rows_shown = [line for line in lines[1:] if line[:4].strip()]
    assert len(rows_shown) == 2000
    # The Title column starts at the same place in every line, wrapped ones included.
    assert {line.index("task") for line in rows_shown if "task" in line} == {12}
    assert {len(line) - len(line.lstrip()) for line in lines if not line[:4].strip()} == {12}
    assert "✓" in lines[1 + 1500]


def test_table_with_colour_off_has_no_escape_codes(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(render.table, "is_terminal", lambda *_: True)
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        render.task_list(_rows(3), "none")
    finally:
        sys.stdout = sys_stdout
    # rich keeps bold and dim without colour; no colour codes may remain.
    assert not re.search(r"\x1b\[(3|9)\d", out.getvalue())


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_only(monkeypatch):
    monkeypatch.setattr(render.progress_bar, "PROGRESS_DELAY", 0)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with render.progress("Saving tasks") as update:
        update(5, 10)
    assert "Saving tasks" in terminal.getvalue()

    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    with render.progress("Saving tasks") as update:
        update(5, 10)
    assert piped.getvalue() == ""


def test_quick_operations_show_no_progress_bar(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with render.progress("Saving tasks") as update:
        update(5, 10)
    assert terminal.getvalue() == ""


def test_piped_bulk_add_prints_no_progress(tmp_path):
    lines = "".join(f"task {n}\n" for n in range(30_000))
    result = subprocess.run(
        [sys.executable, "-m", "taskcli", "--db", str(tmp_path / "t.db"), "add", "-"],
        input=lines,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout == "Added 30000 tasks: 1-30000\n"


PEAK = """
import resource, subprocess, sys
command = [sys.executable, "-m", "taskcli", *sys.argv[1:]]
subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _peak_kib(*args):
    result = subprocess.run(
        [sys.executable, "-c", PEAK, *args], capture_output=True, text=True, check=True
    )
    return int(result.stdout)


def test_listing_memory_does_not_grow_with_rows(tmp_path):
    db = str(tmp_path / "t.db")
    TaskService(db).add_many(
        TaskCreate(title=f"a task with a title of moderate length, number {n}")
        for n in range(60_000)
    )
    few = _peak_kib("--db", db, "list", "--json", "--limit", "10")
    every = _peak_kib("--db", db, "list", "--json")
    piped = _peak_kib("--db", db, "list")
    # 60,000 rows held at once would be well over 20 MiB of Python objects.
    assert every - few < 8 * 1024, (few, every)
    assert piped - few < 8 * 1024, (few, piped)


def test_age_accepts_listing_text():
    now = datetime(2026, 1, 10, tzinfo=timezone.utc)
    assert render.age(render.timestamp(now - timedelta(hours=3)), now) == "3h"


def test_valid_listing_rows_are_checked_a_block_at_a_time(berlin_rows, monkeypatch):
    """Rows taskcli wrote, with every attribute, pass the block check without the
    per-row check (what keeps listings fast); a damaged one is still caught."""
    from taskcli.domain import rows
    from taskcli.render import json_output

    calls = []
    monkeypatch.setattr(rows, "check_stored", lambda *args: calls.append(args))
    json_output.check_rows(berlin_rows)
    assert calls == []
    for name, bad in [("uuid", "not-a-uuid"), ("tags", '["b", "a"]'), ("due", "2026-02-30"),
                      ("priority", "X"), ("project", "a..b"), ("tags", '["a"]]')]:  # fmt: skip
        damaged = [*berlin_rows[:-1], berlin_rows[-1]._replace(**{name: bad})]
        rows.check_rows(damaged)
        assert len(calls) == len(damaged), name
        calls.clear()


@pytest.fixture
def berlin_rows(cli):
    cli.at("2026-11-28 10:00", "Europe/Berlin")
    for n in range(30):
        cli.ok("add", f"t{n}", "--due", f"+{n}d", "-p", "HML"[n % 3], "-t", f"a{n % 4}",
               "-t", "b", "-P", f"p{n % 5}.sub")  # fmt: skip
    cli.ok("add", "-", input="x\ny\n")
    return list(TaskService(cli.db_path).list_tasks(TaskQuery(status=Status.ALL)))
