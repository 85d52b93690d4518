"""The readers and writers of `tasks import` / `tasks export` (taskcli.formats), on
their own: what each reads a file as, what it refuses and how it names the place,
that what a writer writes reads back the same, and that Taskwarrior and todo.txt
files made by the real programs survive the trip through taskcli."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import namedtuple
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskcli.formats import csvfile, detect, ours, taskwarrior, todotxt
from taskcli.formats.record import BadRecord, Record, Skip
from taskcli.render import json_output

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

Row = namedtuple(
    "Row",
    "id title description done created_at updated_at completed_at uuid due priority tags "
    "project extra",
)
STAMP = "2026-11-26T17:02:27.356578Z"


def lines(text: str) -> Iterable[tuple[int, str]]:
    return enumerate(text.split("\n"), 1)


def read_all(module: Any, text: str, zone: Any = UTC) -> list[Record | Skip]:
    return list(module.read(lines(text), zone))


def written(module: Any, rows: list[Row], zone: Any = UTC, **kwargs: Any) -> str:
    writer = kwargs.pop("writer", None) or module.write
    return "".join(writer(rows, zone))


def row(**fields: Any) -> Row:
    values = dict(
        id=1,
        title="Ship v1",
        description=None,
        done=False,
        created_at=STAMP,
        updated_at=STAMP,
        completed_at=None,
        uuid="0b7d6a3e-8a7c-4c55-9a43-2f1f3c4a5b6c",
        due=None,
        priority=None,
        tags="[]",
        project=None,
        extra="{}",
    )
    values.update(fields)
    return Row(**values)


def moment(value: datetime | str) -> datetime:
    """A Record's time as an aware datetime: readers give either one, or the stored
    form's text ('2026-11-26 17:02:27.356578', UTC)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)


def stamp(value: datetime | str) -> str:
    return moment(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stored(records: Iterable[Record | Skip], now: datetime | None = None) -> list[Row]:
    """What the importer stores and a listing gives back, simplified: the Records
    as listing rows (times as RFC 3339 with microseconds, tags and extra as JSON)."""
    now = now or datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    rows = []
    for index, record in enumerate(records, 1):
        if isinstance(record, Skip):
            continue
        rows.append(
            Row(
                id=index,
                title=record.title.strip(),
                description=record.description or None,
                done=record.done,
                created_at=stamp(record.created_at or now),
                updated_at=stamp(record.updated_at or record.created_at or now),
                completed_at=record.completed_at and stamp(record.completed_at),
                uuid=record.uuid or f"00000000-0000-4000-8000-{index:012d}",
                due=record.due,
                priority=record.priority,
                tags=json.dumps(sorted(set(record.tags))),
                project=record.project,
                extra=json.dumps(record.extra, ensure_ascii=False),
            )
        )
    return rows


def refused(module: Any, text: str, zone: Any = UTC) -> BadRecord:
    with pytest.raises(BadRecord) as caught:
        read_all(module, text, zone)
    return caught.value


# --- taskcli's own JSON ---------------------------------------------------------------


def test_ours_reads_the_array_listings_print_and_ndjson() -> None:
    array = (
        '[\n{"id": 7, "title": "a", "description": "d", "done": true, '
        '"created_at": "2026-11-26T17:02:27.356578Z", "updated_at": "2026-11-26T18:00:00+01:00", '
        '"completed_at": "2026-11-26T17:02:27Z", "uuid": "u", "due": "2026-12-01", '
        '"priority": "H", "tags": ["home", "work"], "project": "work.q1", "extra": {"k": 1}},\n'
        '{"title": "b"}\n]\n'
    )
    first, second = read_all(ours, array)
    assert first.where == "record 0 (line 2)" and second.where == "record 1 (line 3)"
    assert (first.id, first.title, first.description, first.done) == (7, "a", "d", True)
    assert moment(first.created_at) == datetime(2026, 11, 26, 17, 2, 27, 356578, tzinfo=UTC)
    assert moment(first.updated_at) == datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    assert (first.due, first.priority, first.tags, first.project) == (
        "2026-12-01",
        "H",
        ["home", "work"],
        "work.q1",
    )
    assert first.extra == {"k": 1} and second.extra == {} and second.done is False

    one_line = read_all(ours, '[{"title": "a"}, {"title": "b"}]')
    assert [r.where for r in one_line] == ["record 0 (line 1)", "record 1 (line 1)"]
    ndjson = read_all(ours, '{"title": "a"}\n\n{"title": "b",\n "tags": []}\n')
    assert [(r.where, r.title) for r in ndjson] == [("line 1", "a"), ("line 3", "b")]
    assert read_all(ours, "[]\n") == [] and read_all(ours, "\n \n") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"title": "a"}, {"title": 3}]', "record 1 (line 1), field 'title': expected text"),
        ('{"title": "a", "tags": "x"}', "line 1, field 'tags': expected an array of texts"),
        ('{"title": "a", "tags": [1]}', "line 1, field 'tags'"),
        ('{"title": "a", "done": 1}', "line 1, field 'done': expected true or false"),
        ('{"title": "a", "tilte": "b"}', "line 1, field 'tilte': not a field"),
        ('{"done": true}', "line 1, field 'title': missing"),
        ('{"title": "a", "id": "3"}', "line 1, field 'id'"),
        ('{"title": "a", "extra": []}', "line 1, field 'extra'"),
        ('{"title": "a", "created_at": "2026-11-26"}', "line 1, field 'created_at'"),
        ('{"title": "a", "due": 5}', "line 1, field 'due': expected text or null"),
        ('[{"title": "a"} {"title": "b"}]', "record 0 (line 1): expected ','"),
        ('[{"title": "a", }]', "record 0 (line 1): not valid JSON"),
        ('{"title": "a"}\n{"title": ', "line 2: not valid JSON"),
        ('[{"title": "a"}', "the array begun on line 1 is not closed"),
        ('[{"title": "a"}] x', "text after the end of the JSON array"),
        ("[3]", "record 0 (line 1): expected a JSON object"),
    ],
)
def test_ours_refuses_with_the_record_and_field(text: str, message: str) -> None:
    assert message in str(refused(ours, text))


def test_ours_writers_read_back_and_match_listing_json() -> None:
    rows = [
        row(
            description='say "hi"\n',
            done=1,
            completed_at=STAMP,
            due="2026-12-01T16:00:00Z",
            priority="M",
            tags='["a", "b"]',
            project="p",
            extra='{"todotxt": {"priority": "D"}}',
        ),
        row(id=2, title="é ☃ \u2028 x", uuid="1c9f0e8a-2b7d-4e3c-9a5f-6d4b3c2a1f0e"),
    ]
    # taskcli's own JSON is written by render.json_output (what `list --json` prints).
    write_json = lambda rows, zone: json_output.json_array_chunks(rows)  # noqa: E731
    write_ndjson = lambda rows, zone: json_output.json_line_chunks(rows)  # noqa: E731
    array = written(ours, rows, writer=write_json)
    assert array.startswith("[\n{") and array.endswith("}\n]\n") and array.count("\n") == 4
    parsed = json.loads(array)
    assert list(parsed[0]) == list(ours.FIELDS)
    assert parsed[0]["done"] is True and parsed[0]["extra"] == {"todotxt": {"priority": "D"}}
    assert array.split("\n")[1].rstrip(",") == json.dumps(parsed[0], ensure_ascii=False)
    ndjson = written(ours, rows, writer=write_ndjson)
    # split("\n"), not splitlines(): U+2028 is a line break to Python, not to JSON.
    assert [json.loads(line) for line in ndjson.split("\n")[:-1]] == parsed
    for text in (array, ndjson):
        back = read_all(ours, text)
        assert [stored([r])[0]._replace(id=r.id) for r in back] == [
            r._replace(done=bool(r.done)) for r in rows
        ]
    assert written(ours, [], writer=write_json) == "[]\n"


# --- Taskwarrior ------------------------------------------------------------------------

TW_UUID = "db0a8eb7-7870-4cf3-b8ba-68b6c086818c"


def tw(**fields: Any) -> dict[str, Any]:
    task = {
        "id": 1,
        "description": "first task",
        "entry": "20261128T102007Z",
        "modified": "20261128T102008Z",
        "status": "pending",
        "uuid": TW_UUID,
        "urgency": 1.5,
    }
    task.update(fields)
    return {name: value for name, value in task.items() if value is not None}


def tw_file(*tasks: dict[str, Any]) -> str:
    return "[\n" + ",\n".join(json.dumps(task) for task in tasks) + "\n]"


def test_taskwarrior_maps_fields_and_keeps_the_rest() -> None:
    annotations = [{"entry": "20261129T000000Z", "description": "later"}]
    (record,) = read_all(
        taskwarrior,
        tw_file(
            tw(
                due="20261201T160000Z",
                priority="H",
                project="work.q1",
                tags=["home", "work"],
                estimate=3,
                annotations=annotations,
                depends=["x"],
                wait="20261201T102007Z",
                scheduled="20261130T000000Z",
                until="20270101T000000Z",
                start="20261128T102007Z",
                parent="p",
                imask=0,
                recur="weekly",
                rtype="periodic",
                mystery={"any": ["json"]},
            )
        ),
    )
    assert isinstance(record, Record)
    assert (record.title, record.description, record.done) == ("first task", None, False)
    assert moment(record.created_at) == datetime(2026, 11, 28, 10, 20, 7, tzinfo=UTC)
    assert moment(record.updated_at) == datetime(2026, 11, 28, 10, 20, 8, tzinfo=UTC)
    assert (record.due, record.priority, record.project, record.tags, record.uuid) == (
        "2026-12-01T16:00:00Z",
        "H",
        "work.q1",
        ["home", "work"],
        TW_UUID,
    )
    assert record.extra == {
        "taskwarrior": {
            "estimate": 3,
            "annotations": annotations,
            "depends": ["x"],
            "wait": "20261201T102007Z",
            "scheduled": "20261130T000000Z",
            "until": "20270101T000000Z",
            "start": "20261128T102007Z",
            "parent": "p",
            "imask": 0,
            "recur": "weekly",
            "rtype": "periodic",
            "mystery": {"any": ["json"]},
        }
    }
    assert record.where == "record 0 (line 2)"


def test_taskwarrior_statuses() -> None:
    records = read_all(
        taskwarrior,
        "\n".join(
            json.dumps(task)
            for task in (
                tw(status="completed", end="20261130T080000Z"),
                tw(status="deleted", end="20261130T080000Z"),
                tw(status="recurring", recur="weekly", mask="-"),
                tw(status="waiting", wait="20271101T000000Z"),
            )
        ),
    )
    completed, deleted, template, waiting = records
    assert completed.done is True
    assert moment(completed.completed_at) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert "end" not in completed.extra.get("taskwarrior", {})
    assert deleted == Skip("line 2", "deleted")
    assert template == Skip("line 3", "recurring template")
    assert waiting.done is False
    assert waiting.extra == {"taskwarrior": {"status": "waiting", "wait": "20271101T000000Z"}}
    (waiting_row,) = stored([waiting])
    assert json.loads(written(taskwarrior, [waiting_row]))[0]["status"] == "waiting"
    assert json.loads(written(taskwarrior, [waiting_row._replace(done=True)]))[0]["status"] == (
        "completed"
    )


@pytest.mark.parametrize(
    "description",
    [
        " ".join(["word"] * 120),  # 600 characters
        "x" * 600,  # no word boundary
        "line one\nline two",
        "  padded  ",
        "tab\there",
        "\n\nafter blank lines",
    ],
)
def test_taskwarrior_long_descriptions_keep_the_text_and_go_back(description: str) -> None:
    (record,) = read_all(taskwarrior, tw_file(tw(description=description)))
    assert record.description == description
    assert record.title.endswith("…") and len(record.title) <= 500
    assert "\n" not in record.title and "\t" not in record.title
    assert record.title == record.title.strip()
    assert description.strip().startswith(record.title[:-1].split(" ")[0])
    assert record.extra == {"taskwarrior": {"description": True}}
    (back,) = json.loads(written(taskwarrior, stored([record])))
    assert back["description"] == description and "annotations" not in back


def test_taskwarrior_long_title_cut_at_a_word() -> None:
    assert taskwarrior.abbreviate(" ".join(["word"] * 120)) == " ".join(["word"] * 100) + "…"
    assert taskwarrior.abbreviate("x" * 600) == "x" * 499 + "…"
    assert taskwarrior.abbreviate("first\nsecond") == "first…"


def test_taskwarrior_edited_title_wins_over_the_long_description() -> None:
    (record,) = read_all(taskwarrior, tw_file(tw(description="one\ntwo")))
    (edited,) = stored([record])
    (back,) = json.loads(written(taskwarrior, [edited._replace(title="new title")]))
    assert back["description"] == "new title"
    assert back["annotations"] == [{"entry": "20261128T102007Z", "description": "one\ntwo"}]


def test_taskwarrior_our_description_is_the_first_annotation_and_comes_back() -> None:
    task = row(
        description="notes\nmore",
        created_at="2026-11-26T17:02:27.356578Z",
        extra=json.dumps(
            {"taskwarrior": {"annotations": [{"entry": "20261127T000000Z", "description": "b"}]}}
        ),
    )
    (back,) = json.loads(written(taskwarrior, [task]))
    assert back["description"] == "Ship v1" and back["entry"] == "20261126T170227Z"
    assert back["annotations"] == [
        {"entry": "20261126T170227Z", "description": "notes\nmore"},
        {"entry": "20261127T000000Z", "description": "b"},
    ]
    (again,) = read_all(taskwarrior, json.dumps(back))
    assert again.description == "notes\nmore"
    assert again.extra == {
        "taskwarrior": {"annotations": [{"entry": "20261127T000000Z", "description": "b"}]}
    }


def test_taskwarrior_writes_what_task_import_reads() -> None:
    rows = [
        row(
            done=True,
            completed_at="2026-11-27T09:00:00.000000Z",
            due="2026-12-01",
            priority="L",
            tags='["a", "b"]',
            project="work",
            extra=json.dumps({"taskwarrior": {"tags": ["b", "a"], "estimate": 2}}),
        ),
        row(
            id=2,
            uuid="u2",
            due="2026-12-01T16:00:00Z",
            tags='["a", "c"]',
            extra=json.dumps({"taskwarrior": {"tags": ["b", "a"]}}),
        ),
    ]
    text = written(taskwarrior, rows, zone=BERLIN)
    assert text.startswith("[\n{") and text.endswith("}\n]\n") and text.count("\n") == 4
    first, second = json.loads(text)
    assert first == {
        "uuid": rows[0].uuid,
        "description": "Ship v1",
        "status": "completed",
        "entry": "20261126T170227Z",
        "modified": "20261126T170227Z",
        "end": "20261127T090000Z",
        # The end of 1 December in Berlin (CET, UTC+1).
        "due": "20261201T225959Z",
        "priority": "L",
        "project": "work",
        "tags": ["b", "a"],  # the file's order, as the set is the same
        "estimate": 2,
    }
    assert second["due"] == "20261201T160000Z" and second["tags"] == ["a", "c"]
    assert json.loads(written(taskwarrior, [row(due="2026-07-01")], zone=NEW_YORK))[0]["due"] == (
        "20260702T035959Z"
    )
    assert json.loads(written(taskwarrior, [])) == []


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (
            tw(due="2026-12-01"),
            "record 0 (line 2), field 'due': '2026-12-01' is not a Taskwarrior date",
        ),
        (tw(entry="20261301T000000Z"), "field 'entry': '20261301T000000Z' is not a real date"),
        (tw(modified=5), "field 'modified': expected a date"),
        (tw(tags="home"), "field 'tags': expected an array of texts"),
        (tw(tags=["a", 1]), "field 'tags'"),
        (tw(description=["x"]), "field 'description': expected text"),
        (tw(description=None), "field 'description': missing"),
        (tw(status="gone"), "field 'status': 'gone' is not one of"),
        (tw(project=1), "field 'project'"),
        (tw(status="completed", end="yesterday"), "field 'end'"),
    ],
)
def test_taskwarrior_refuses_with_the_record_and_field(task: dict[str, Any], message: str) -> None:
    assert message in str(refused(taskwarrior, tw_file(task)))


def test_taskwarrior_reads_objects_one_per_line_and_extended_dates() -> None:
    text = json.dumps(tw(entry="2026-11-28T10:20:07Z")) + "\n" + json.dumps(tw(uuid="u2"))
    first, second = read_all(taskwarrior, text)
    assert (first.where, second.where) == ("line 1", "line 2")
    assert moment(first.created_at) == moment(second.created_at)


# --- Taskwarrior itself -----------------------------------------------------------------


class Taskwarrior:
    """One Taskwarrior store in a temporary folder, run through the real `task`."""

    def __init__(self, home: Path) -> None:
        self.home = home
        (home / "data").mkdir(parents=True)
        (home / "rc").write_text(
            f"data.location={home / 'data'}\nuda.estimate.type=numeric\n"
            "uda.size.type=string\nnews.version=2.6.0\nrecurrence=on\n"
        )

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        env = dict(os.environ, TASKDATA=str(self.home / "data"), TASKRC=str(self.home / "rc"))
        done = subprocess.run(
            ["task", "rc.confirmation=no", "rc.verbose=nothing", "rc.hooks=off", *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def tasks(self) -> dict[str, dict[str, Any]]:
        """Every task of `task export` by uuid, without id and urgency (computed)."""
        return {
            task["uuid"]: {k: v for k, v in task.items() if k not in ("id", "urgency")}
            for task in json.loads(self("export"))
        }


needs_task = pytest.mark.skipif(shutil.which("task") is None, reason="needs Taskwarrior")


@needs_task
def test_taskwarrior_store_survives_taskcli_and_back(tmp_path: Path) -> None:
    source = Taskwarrior(tmp_path / "source")
    source("add", "first", "project:work.q1", "priority:H", "+work", "+home", "estimate:3")
    source("add", "due one", "due:2026-12-01T16:00:00", "size:big", "priority:L")
    source("/first/", "annotate", "a note")
    source("add", "second", "wait:+3d", "scheduled:2026-11-30", "until:2027-01-01")
    source("/second/", "modify", f"depends:{next(iter(source.tasks()))}")
    source("add", "weekly", "recur:weekly", "due:2026-12-02")
    source("add", "to delete")
    source("/to delete/", "delete")
    source("add", "to complete")
    source("/to complete/", "done")
    source("add", "started")
    source("/started/", "start")
    made = [
        tw(
            uuid="11111111-1111-4111-8111-111111111111",
            description="line one\nline two",
            id=None,
            urgency=None,
        ),
        tw(
            uuid="22222222-2222-4222-8222-222222222222",
            description=" ".join(["word"] * 120),
            id=None,
            urgency=None,
        ),
        tw(
            uuid="33333333-3333-4333-8333-333333333333",
            description="waits",
            status="waiting",
            wait="20991101T000000Z",
            id=None,
            urgency=None,
            tags=["zeta", "alpha"],
            orphan="kept",
            annotations=[
                {"entry": "20261128T102007Z", "description": "at entry"},
                {"entry": "20261129T000000Z", "description": "later"},
            ],
        ),
    ]
    source("import", "-", stdin=json.dumps(made))
    original = source.tasks()
    statuses = {task["status"] for task in original.values()}
    assert {"pending", "completed", "deleted", "recurring"} <= statuses
    assert any("parent" in task for task in original.values())

    records = read_all(taskwarrior, source("export"), BERLIN)
    skipped = sorted(r.reason for r in records if isinstance(r, Skip))
    assert skipped == ["deleted", "recurring template"]
    text = written(taskwarrior, stored(records), zone=BERLIN)
    target = Taskwarrior(tmp_path / "target")
    target("import", "-", stdin=text)
    copy = target.tasks()

    imported = {u: t for u, t in original.items() if t["status"] not in ("deleted", "recurring")}
    assert set(copy) == set(imported)
    for uuid, task in imported.items():
        # json.loads makes 0 and 0.000000 (what 2.6 writes for imask once imported) equal.
        assert copy[uuid] == task, uuid


@needs_task
def test_taskcli_tasks_survive_taskwarrior_and_back(tmp_path: Path) -> None:
    rows = [
        row(description="notes\n\ton two lines", tags='["a", "b"]', project="p.q", priority="M"),
        row(
            id=2,
            uuid="5f0f4a55-8f33-4c1c-9a52-3c7c3b0c0e11",
            title="done one",
            done=True,
            completed_at="2026-11-27T08:00:00.000000Z",
            due="2026-12-01T16:00:00Z",
        ),
    ]
    store = Taskwarrior(tmp_path / "tw")
    store(
        "import",
        "-",
        stdin=written(
            taskwarrior,
            [
                r._replace(
                    created_at="2026-11-26T17:02:27.000000Z",
                    updated_at="2026-11-26T17:02:27.000000Z",
                )
                for r in rows
            ],
        ),
    )
    back = stored(read_all(taskwarrior, store("export")))
    by_uuid = {r.uuid: r for r in back}
    for original in rows:
        again = by_uuid[original.uuid]
        assert again.title == original.title
        assert again.description == original.description
        assert bool(again.done) == bool(original.done)
        assert (again.due, again.priority, again.project, again.tags) == (
            original.due,
            original.priority,
            original.project,
            original.tags,
        )
        assert again.created_at == "2026-11-26T17:02:27.000000Z"


# --- todo.txt ---------------------------------------------------------------------------


def test_todotxt_reads_a_line() -> None:
    (record,) = read_all(
        todotxt,
        "(A) 2026-11-20 Call mom +family @phone +calls due:2026-12-01 rec:1w t:2026-11-30",
        BERLIN,
    )
    assert record.title == "Call mom"
    assert (record.done, record.priority, record.project) == (False, "H", "family")
    assert record.tags == ["phone", "calls"]
    assert record.due == "2026-12-01"
    assert record.created_at == datetime(2026, 11, 19, 23, 0, tzinfo=UTC)  # Berlin midnight
    assert record.completed_at is None
    assert record.extra == {
        "todotxt": {"signs": {"calls": "+"}, "pairs": [["rec", "1w"], ["t", "2026-11-30"]]}
    }
    assert record.identity.startswith("(A) 2026-11-20 Call mom") and record.where == "line 1"


def test_todotxt_done_lines_priorities_and_blank_lines() -> None:
    text = "\n".join(
        [
            "x 2026-11-28 2026-11-20 Write report +work.q1",
            "",
            "x 2026-11-28 Call mom",
            "x No dates at all",
            "(B) medium",
            "(C) low",
            "(Q) later",
            "(a) not a priority",
            "xylophone lesson",
            "   ",
        ]
    )
    both, completed_only, undated, medium, low, later, lower, word = read_all(todotxt, text)
    assert both.done and both.completed_at == datetime(2026, 11, 28, tzinfo=UTC)
    assert both.created_at == datetime(2026, 11, 20, tzinfo=UTC) and both.extra == {}
    assert completed_only.where == "line 3" and completed_only.created_at is None
    assert completed_only.extra == {"todotxt": {"created": False}}
    assert undated.done and undated.completed_at is None and undated.title == "No dates at all"
    assert (medium.priority, low.priority, later.priority) == ("M", "L", "L")
    assert later.extra == {"todotxt": {"priority": "Q", "created": False}}
    assert lower.priority is None and lower.title == "(a) not a priority"
    assert not word.done and word.title == "xylophone lesson"


def test_todotxt_markers_inside_the_text_stay_in_the_title() -> None:
    records = read_all(
        todotxt,
        "Call @mom about +garden plans @phone\n"
        "+home @phone\n"
        "Read https://example.com at 10:30 +web\n"
        "Email me@x.com +1, @home! now\n"
        "Fix +bug in +app",
    )
    inline, only, url, odd, two = records
    assert inline.title == "Call @mom about +garden plans"
    assert (inline.project, inline.tags) == ("garden", ["mom", "phone"])
    assert (only.title, only.project, only.tags) == ("+home @phone", "home", ["phone"])
    assert (url.title, url.project) == ("Read https://example.com at 10:30", "web")
    assert (odd.title, odd.project, odd.tags) == ("Email me@x.com +1, @home! now", None, [])
    assert (two.title, two.project, two.tags) == ("Fix +bug in", "bug", ["app"])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("x 2026-02-30 done", "line 1, field 'completed_at': '2026-02-30' is not a real date"),
        ("(A) 2026-13-01 task", "line 1, field 'created_at'"),
        ("pay due:tomorrow", "line 1, field 'due': 'tomorrow' is not a date"),
        ("pay due:2026-04-31", "line 1, field 'due': '2026-04-31' is not a real date"),
    ],
)
def test_todotxt_refuses_impossible_dates(line: str, message: str) -> None:
    assert message in str(refused(todotxt, line))


def test_todotxt_writes_lines() -> None:
    rows = [
        row(priority="H", project="work.q1", tags='["a.b", "home"]', due="2026-12-01"),
        row(done=True, completed_at="2026-11-27T23:30:00.000000Z", due="2026-12-01T23:30:00Z"),
        row(priority="L", extra=json.dumps({"todotxt": {"priority": "Q", "created": False}})),
        row(title="x marks the spot", extra='{"todotxt": {"created": false}}'),
        row(title="(A) is a title", extra='{"todotxt": {"created": false}}'),
        row(done=True, title="2026-12-01 meeting", extra='{"todotxt": {"created": false}}'),
        row(tags='["shop"]', extra='{"todotxt": {"signs": {"shop": "+"}}}'),
    ]
    assert written(todotxt, rows, zone=BERLIN).splitlines() == [
        "(A) 2026-11-26 Ship v1 +work.q1 @a.b @home due:2026-12-01",
        "x 2026-11-28 2026-11-26 Ship v1 due:2026-12-02",
        "(Q) Ship v1",
        "2026-11-26 x marks the spot",
        "2026-11-26 (A) is a title",
        "x 2026-11-26 2026-11-26 2026-12-01 meeting",
        # Without a project, a + tag would be read as the project.
        "2026-11-26 Ship v1 @shop",
    ]


TODO_LINES = [
    "(A) Call mom +family @phone due:2026-12-01",
    "Buy milk @store @errand +home +shopping",
    "(C) 2026-11-20 Write report +work.q1 rec:1w t:2026-11-30",
    "(Z) 2026-11-20 plain task",
    "x 2026-11-28 2026-11-20 Done thing +p @c",
    "x 2026-11-28 Done without creation",
    "x no dates",
    "Call @mom about +garden plans +x @y due:2026-12-01 k:v",
    "+home @phone",
    "Tag both ways +p @t +t",
    "2026-01-01 x marks the spot",
    "Email me@x.com at 10:30 +1, @home!",
]


def meaning(record: Record) -> tuple[Any, ...]:
    return (
        record.title,
        record.done,
        record.created_at,
        record.completed_at,
        record.due,
        record.priority,
        sorted(record.tags),
        record.project,
        record.extra,
    )


def assert_same_meaning(text: str, zone: Any) -> None:
    first = read_all(todotxt, text, zone)
    again = read_all(todotxt, written(todotxt, stored(first), zone=zone), zone)
    assert [meaning(r) for r in again] == [meaning(r) for r in first]


@pytest.mark.parametrize("zone", [UTC, BERLIN, NEW_YORK])
def test_todotxt_round_trip_keeps_each_lines_meaning(zone: Any) -> None:
    assert_same_meaning("\n".join(TODO_LINES), zone)


needs_todo_txt = pytest.mark.skipif(shutil.which("todo-txt") is None, reason="needs todo-txt")


@needs_todo_txt
def test_todotxt_files_made_by_todo_txt_round_trip(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        f"export TODO_DIR={tmp_path}\nexport TODO_FILE=$TODO_DIR/todo.txt\n"
        "export DONE_FILE=$TODO_DIR/done.txt\nexport REPORT_FILE=$TODO_DIR/report.txt\n"
    )

    def todo(*args: str) -> None:
        subprocess.run(
            ["todo-txt", "-d", str(config), "-f", "-p", "-a", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    todo("add", "(A) Call mom +family @phone due:2026-12-01")
    todo("add", "Buy milk @store @errand +home +shopping")
    todo("-t", "add", "(C) Write report +work.q1 rec:1w t:2026-11-30")
    todo("-t", "add", "plain task")
    todo("pri", "4", "Z")
    todo("do", "1")
    todo("-t", "add", "(B) finished with a priority @c")
    todo("do", "5")
    text = (tmp_path / "todo.txt").read_text()
    records = read_all(todotxt, text, BERLIN)
    # `do` drops the priority and writes the completion date.
    assert records[0].done and records[0].priority is None and records[0].completed_at
    assert records[3].priority == "L" and records[3].extra["todotxt"]["priority"] == "Z"
    assert records[4].done and records[4].priority is None and records[4].created_at
    assert_same_meaning(text, BERLIN)

    # And what taskcli writes, todo-txt lists as the same tasks.
    (tmp_path / "todo.txt").write_text(written(todotxt, stored(records), zone=BERLIN))
    listed = subprocess.run(
        ["todo-txt", "-d", str(config), "-p", "listall"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "Call mom +family @phone due:2026-12-01" in listed
    assert "(Z)" in listed and "TODO: 5 of 5 tasks shown" in listed


# --- CSV --------------------------------------------------------------------------------


def test_csv_round_trip() -> None:
    rows = [
        row(
            description='line one\nline "two", three',
            done=True,
            completed_at=STAMP,
            due="2026-12-01",
            priority="H",
            tags='["a", "b.c"]',
            project="p.q",
            extra='{"taskwarrior": {"estimate": 3}}',
        ),
        row(id=2, uuid="u2", title="=1+1", due="2026-12-01T16:00:00Z"),
        row(id=3, uuid="u3", title="'@SUM(A1)", description="-cmd|' /C calc'!A0"),
        row(id=4, uuid="u4", title="-5 degrees", description="'plain"),
    ]
    text = written(csvfile, rows)
    assert text.startswith(",".join(ours.FIELDS) + "\r\n")
    assert "\r\n2,'=1+1," in text and "''@SUM(A1)" in text and ",-5 degrees," in text
    back = read_all(csvfile, text.replace("\r\n", "\n"))
    assert [r.where for r in back] == [
        "row 1 (line 2)",
        "row 2 (line 4)",
        "row 3 (line 5)",
        "row 4 (line 6)",
    ]
    assert [stored([r])[0]._replace(id=r.id) for r in back] == [
        r._replace(done=bool(r.done)) for r in rows
    ]


def test_csv_reads_a_hand_made_sheet() -> None:
    text = (
        "\ufeff Title ,DONE,Due,tags,created_at\n"
        "Buy milk,yes,2026-12-01T17:00+01:00,shop  home,2026-11-20\n"
        ",,,,\n"
        "Call,,2026-12-02,,2026-11-20T08:00:00-05:00\n"
        "Short row\n"
    )
    first, second, third = read_all(csvfile, text, BERLIN)
    assert (first.title, first.done, first.due, first.tags) == (
        "Buy milk",
        True,
        "2026-12-01T16:00:00Z",
        ["shop", "home"],
    )
    assert moment(first.created_at) == datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
    assert (second.where, second.done, second.due) == ("row 2 (line 4)", False, "2026-12-02")
    assert moment(second.created_at) == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    assert third.title == "Short row" and third.extra == {} and third.description is None
    assert first.identity != second.identity
    for value, done in [("true", True), ("0", False), ("X", True), ("No", False), ("", False)]:
        (record,) = read_all(csvfile, f"title,done\na,{value}")
        assert record.done is done


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title,notes\na,b", "line 1 (the header), field 'notes': not a column taskcli knows"),
        ("title,Title\na,b", "line 1 (the header), field 'Title': named twice"),
        ("done\nyes", "line 1 (the header), field 'title': the header has no title column"),
        (
            'title\n=HYPERLINK("x")',
            "row 1 (line 2), field 'title': looks like a spreadsheet formula",
        ),
        ("title,project\na,@SUM(A1)", "row 1 (line 2), field 'project': looks like"),
        ("title\n\t+cmd|' /C calc'!A0", "row 1 (line 2), field 'title': looks like"),
        ("title\na\x00b", "line 2: contains a NUL character"),
        ("title,done\na,maybe", "row 1 (line 2), field 'done': 'maybe' is not true"),
        ("title,id\na,1.5", "row 1 (line 2), field 'id'"),
        ("title,extra\na,[1]", "row 1 (line 2), field 'extra': not a JSON object"),
        ("title,created_at\na,2026-02-30", "row 1 (line 2), field 'created_at'"),
        ("title,updated_at\na,2026-11-20T08:00:00", "row 1 (line 2), field 'updated_at'"),
        ("title\na,b", "row 1 (line 2): 2 cells, but the header names 1 columns"),
        ('title\n"a"b', "line 2: not valid CSV"),
    ],
)
def test_csv_refuses_with_the_row_and_column(text: str, message: str) -> None:
    assert message in str(refused(csvfile, text))


def test_csv_formula_rule() -> None:
    for text in ("=1", " =1", "@SUM(A1)", "+HYPERLINK(x)", "-cmd|' /C calc'!A0", "\r=1"):
        assert csvfile.is_formula(text), text
    for text in ("-5 degrees", "+1 for this", "@home: call", "a=b", "email@x (work)", ""):
        assert not csvfile.is_formula(text), text


# --- detection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            '[\n{"id":1,"description":"a","entry":"20261128T102007Z","status":"pending"},\n{"id',
            "taskwarrior",
        ),
        ('{"description":"a","status":"pending"}\n{"descr', "taskwarrior"),
        ('[{"id": 1, "title": "a"}, {"id": 2, "ti', "json"),
        ("[]\n", "json"),
        ('{"title": "a"}\n{"title": "b"}\n', "ndjson"),
        ('{"title": "a",\n "done": true}\n', "ndjson"),
        ("title,done,due\nBuy milk,no,\n", "csv"),
        ("\ufeffTitle, Tags\n", "csv"),
        ("title,notes\n", "todotxt"),
        ("[urgent] call Bob\n", "todotxt"),
        ("{draft} letter\n", "todotxt"),
        ("[1, 2] numbers\n", "todotxt"),
        ("(A) Call mom +family\n", "todotxt"),
        ("", "todotxt"),
    ],
)
def test_detect(sample: str, expected: str) -> None:
    assert detect.detect(sample) == expected


# --- no reader fails on any input but with BadRecord -------------------------------------

_text_lines = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.text(alphabet="[]{}\",:=+-@x ()0123456789-T\t'aZ\\", max_size=40),
        st.sampled_from(
            [
                "[",
                "]",
                '{"title": "a"}',
                '{"description": "a", "status": "pending", "entry": "20260101T000000Z"}',
                '{"title": "a",',
                "title,done,created_at,extra",
                "x 2026-01-01 2026-02-30 a",
                "(A) 2026-01-01 +p @c due:2026-01-01",
                '"a,"b',
                '{"description": "a", "annotations": [{"entry": 1}]}',
            ]
        ),
    ),
    max_size=8,
)


@pytest.mark.parametrize("module", [ours, taskwarrior, todotxt, csvfile])
@settings(max_examples=300, deadline=None)
@given(text_lines=_text_lines)
def test_readers_raise_nothing_but_bad_record(module: Any, text_lines: list[str]) -> None:
    numbered = list(enumerate(text_lines, 1))
    try:
        for item in module.read(iter(numbered), BERLIN):
            assert isinstance(item, Record | Skip)
    except BadRecord as error:
        assert str(error)
    detect.detect("\n".join(text_lines))


@given(
    title=st.text(min_size=1, max_size=30),
    done=st.booleans(),
    due=st.none() | st.sampled_from(["2026-12-01", "2026-03-29", "2026-12-01T16:00:00Z"]),
    priority=st.sampled_from([None, "H", "M", "L"]),
    project=st.none() | st.sampled_from(["work", "été.q1"]),
    tags=st.sampled_from(["[]", '["a"]', '["a", "é"]']),
    extra=st.sampled_from(["{}", '{"taskwarrior": {"estimate": 3}}']),
    description=st.none() | st.just("notes"),
)
@settings(max_examples=200)
def test_taskwarrior_lines_written_directly_are_the_dict_path(
    title, done, due, priority, project, tags, extra, description
) -> None:
    """The writer's direct path for plain tasks gives exactly the JSON of the general
    path (json.dumps of the task's dict) for any title, in any case."""
    made = row(
        title=title,
        done=done,
        completed_at=STAMP if done else None,
        due=due,
        priority=priority,
        project=project,
        tags=tags,
        extra=extra,
        description=description,
    )
    expected = json.dumps(
        taskwarrior._task(made, BERLIN), ensure_ascii=False, separators=(",", ":")
    )
    assert taskwarrior._line(made, BERLIN) == expected
