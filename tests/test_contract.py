"""The --json output is a public contract: fields may be added, never renamed or removed."""

from __future__ import annotations

import json
import re

import pytest

TASK_FIELDS = {
    "id": int,
    "title": str,
    "description": (str, type(None)),
    "done": bool,
    "created_at": str,
    "updated_at": str,
    "completed_at": (str, type(None)),
    "uuid": str,
    "due": (str, type(None)),
    "priority": (str, type(None)),
    "tags": list,
    "project": (str, type(None)),
    "extra": dict,
}
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DUE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$")


def assert_task(obj: object) -> None:
    assert isinstance(obj, dict)
    assert set(TASK_FIELDS) <= set(obj), f"missing fields: {set(TASK_FIELDS) - set(obj)}"
    for name, kind in TASK_FIELDS.items():
        assert isinstance(obj[name], kind), (name, obj[name])
    for name in ("created_at", "updated_at"):
        assert RFC3339_UTC.match(obj[name]), obj[name]
    if obj["done"]:
        assert RFC3339_UTC.match(obj["completed_at"])
    else:
        assert obj["completed_at"] is None
    assert UUID.match(obj["uuid"])
    assert obj["due"] is None or DUE.match(obj["due"])
    assert obj["priority"] in ("H", "M", "L", None)
    assert all(isinstance(tag, str) for tag in obj["tags"])
    assert obj["tags"] == sorted(set(obj["tags"]))


@pytest.fixture
def two_tasks(cli):
    cli.ok("add", "one", "-d", "desc", "--due", "2026-12-01", "-p", "H", "-t", "b", "-t", "a")
    cli.ok("add", "two", "--due", "2026-12-01T17:00Z", "-P", "work.web")
    cli.ok("done", "2")
    return cli


@pytest.mark.parametrize(
    ("args", "shape"),
    [
        (["add", "three"], "object"),
        (["show", "1"], "object"),
        (["edit", "1", "--title", "uno"], "object"),
        (["edit", "1", "2", "-t", "x"], "array"),
        (["next"], "array"),
        (["list", "-t", "a", "--sort", "-due"], "array"),
        (["list"], "array"),
        (["list", "--all"], "array"),
        (["list", "--done"], "array"),
        (["done", "1"], "array"),
        (["reopen", "2"], "array"),
        (["rm", "1", "--yes"], "array"),
    ],
)
def test_json_shapes(two_tasks, args, shape):
    output = two_tasks.json(*args)
    if shape == "object":
        assert_task(output)
    else:
        assert isinstance(output, list) and output
        for task in output:
            assert_task(task)


def test_add_from_stdin_is_an_array_even_for_one_line(cli):
    output = cli.json("add", "-", input="only one\n")
    assert len(output) == 1
    assert_task(output[0])


def test_null_description_and_completion(cli):
    task = cli.json("add", "bare")
    assert task["description"] is None and task["completed_at"] is None


def test_json_is_the_only_thing_on_stdout(cli):
    result = cli.ok("add", "x", "--json")
    assert result.stdout.startswith("{") and result.stdout.endswith("}\n")
    result = cli.ok("list", "--json")
    assert result.stdout.startswith("[") and result.stdout.endswith("]\n")


KIND_TYPES = {
    "int": int,
    "flag": bool,
    "text": str,
    "optional text": (str, type(None)),
    "time": str,
    "optional time": (str, type(None)),
    "tags": list,
    "object": dict,
}


def test_the_output_follows_the_one_field_list(two_tasks):
    """Every public field (domain.models) is in every object, in order, with its
    kind; and every pinned field above is still one of them."""
    from taskcli.domain.models import FIELDS

    assert set(TASK_FIELDS) <= {name for name, _kind in FIELDS}
    objects = [*two_tasks.json("list", "--all"), two_tasks.json("show", "1")]
    for obj in objects:
        assert list(obj) == [name for name, _kind in FIELDS]
        for name, kind in FIELDS:
            assert isinstance(obj[name], KIND_TYPES[kind]), (name, obj[name])
            if kind.endswith("time") and obj[name] is not None:
                assert RFC3339_UTC.match(obj[name])


def test_listing_rows_are_as_wide_as_the_field_list(two_tasks, service):
    from taskcli.domain.models import PUBLIC_FIELDS, TaskRow
    from taskcli.domain.query import Status

    assert TaskRow._fields == PUBLIC_FIELDS
    from taskcli.domain.query import TaskQuery

    rows = list(service.list_tasks(TaskQuery(status=Status.ALL)))
    assert rows and all(len(row) == len(PUBLIC_FIELDS) for row in rows)
    assert all(type(row) is TaskRow for row in rows)


def test_attribute_values(two_tasks):
    one, two = two_tasks.json("list", "--all")
    assert (one["due"], one["priority"], one["tags"], one["project"]) == (
        "2026-12-01",
        "H",
        ["a", "b"],
        None,
    )
    assert (two["due"], two["priority"], two["tags"], two["project"]) == (
        "2026-12-01T17:00:00Z",
        None,
        [],
        "work.web",
    )


@pytest.mark.parametrize("command", ["tags", "projects"])
def test_name_counts_shape(two_tasks, command):
    output = two_tasks.json(command)
    assert isinstance(output, list) and output
    for item in output:
        assert list(item) == ["name", "pending"]
        assert isinstance(item["name"], str) and type(item["pending"]) is int


OPERATION_FIELDS = {"seq": int, "at": str, "command": str, "count": int, "undone": bool}


def assert_operation(obj: object) -> None:
    assert isinstance(obj, dict)
    assert set(OPERATION_FIELDS) <= set(obj), set(OPERATION_FIELDS) - set(obj)
    for name, kind in OPERATION_FIELDS.items():
        assert type(obj[name]) is kind, (name, obj[name])
    assert RFC3339_UTC.match(obj["at"])
    # Who ran it: the OS user always (for operations logged by this release), the
    # database role on PostgreSQL only.
    assert list(obj)[len(OPERATION_FIELDS) :] == ["os_user", "db_user"]
    assert type(obj["os_user"]) is str and obj["os_user"]
    assert obj["db_user"] is None or type(obj["db_user"]) is str


def test_history_shape(two_tasks):
    history = two_tasks.json("history")
    assert isinstance(history, list) and len(history) == 3
    for operation in history:
        assert_operation(operation)


@pytest.mark.parametrize("command", ["undo", "redo"])
def test_undo_and_redo_shape(two_tasks, command):
    two_tasks.ok("rm", "1", "--yes")
    if command == "redo":
        two_tasks.ok("undo")
    output = two_tasks.json(command)
    assert list(output) == ["operation", "tasks"]
    assert_operation(output["operation"])
    for task in output["tasks"]:
        assert_task({name: value for name, value in task.items() if name != "deleted"})
        assert type(task["deleted"]) is bool
    assert output["tasks"][0]["deleted"] is (command == "redo")


def test_history_show_shape(two_tasks):
    output = two_tasks.json("history", "show", "3")
    assert list(output) == ["operation", "tasks"]
    assert_operation(output["operation"])
    for task in output["tasks"]:
        assert list(task) == ["id", "before", "after"]
        for state in (task["before"], task["after"]):
            assert state is None or assert_task(state) is None


def test_export_json_is_the_listing_and_ndjson_one_task_per_line(two_tasks):
    assert two_tasks.ok("export").stdout == two_tasks.ok("list", "--all", "--json").stdout
    for line in two_tasks.ok("export", "--format", "ndjson").stdout.splitlines():
        assert_task(json.loads(line))


def test_import_summary_shape(cli):
    """`import --json` prints only its summary: format, three counts and skipped
    reasons with their counts."""
    result = cli("import", "--json", "-f", "json", "-", input='[{"title": "a"}]')
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert list(summary) == ["format", "added", "updated", "unchanged", "skipped"]
    assert summary["format"] == "json"
    assert all(isinstance(summary[name], int) for name in ("added", "updated", "unchanged"))
    assert summary["skipped"] == {}


# -- the HTTP API (tasks serve): the same task objects, and its own shapes pinned ----------

API_ROUTES = {
    "/tasks": {"get": {"200", "422"}, "post": {"201", "422"}},
    "/tasks/{task_id}": {
        "get": {"200", "404", "422"},
        "patch": {"200", "404", "422"},
        "delete": {"204", "404", "422"},
    },
    "/healthz": {"get": {"200"}},
}
# What every operation may answer besides its own (401 only with a token).
API_COMMON = {"408", "413", "500", "503"}
API_CREATE_FIELDS = {"title", "description", "due", "priority", "tags", "project"}
API_LIST_PARAMETERS = {
    "done", "limit", "offset", "tag", "no_tag", "project", "priority", "overdue",
    "due_before", "due_after", "no_due", "search", "sort",
}  # fmt: skip


@pytest.fixture
def api(db_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from taskcli.api.app import context, create_app
    from taskcli.cli.context import AppContext

    app = create_app(token="a-token-of-sixteen-or-more")
    app.dependency_overrides[context] = lambda: AppContext(db_path=db_path, busy_timeout=2.0)
    client = TestClient(app, headers={"Authorization": "Bearer a-token-of-sixteen-or-more"})
    return client, app.openapi()


def test_api_task_objects_are_the_cli_objects(api, two_tasks):
    from taskcli.domain.models import FIELDS

    client, _ = api
    listed = client.get("/tasks", params={"sort": "id"}).json()
    assert listed == two_tasks.json("list", "--all")
    created = client.post("/tasks", json={"title": "three", "tags": ["x"]})
    for obj in (*listed, created.json(), client.get("/tasks/1").json()):
        assert_task(obj)
        assert list(obj) == [name for name, _kind in FIELDS]


def test_api_routes_and_their_statuses(api):
    _, schema = api
    found = {
        path: {method: set(operation["responses"]) for method, operation in item.items()}
        for path, item in schema["paths"].items()
    }
    assert set(found) == set(API_ROUTES)
    for path, methods in API_ROUTES.items():
        assert set(found[path]) == set(methods), path
        for method, statuses in methods.items():
            assert found[path][method] == statuses | API_COMMON | {"401"}, (path, method)


def test_api_input_and_output_models(api):
    _, schema = api
    models = schema["components"]["schemas"]
    task_in, task_patch = models["TaskIn"], models["TaskPatch"]
    assert set(task_in["properties"]) == API_CREATE_FIELDS and task_in["required"] == ["title"]
    assert set(task_patch["properties"]) == API_CREATE_FIELDS | {"done"}
    assert "required" not in task_patch
    assert task_in["additionalProperties"] is False and task_patch["additionalProperties"] is False
    assert set(TASK_FIELDS) <= set(models["TaskRead"]["properties"])
    listing = schema["paths"]["/tasks"]["get"]["parameters"]
    assert {parameter["name"] for parameter in listing} == API_LIST_PARAMETERS


def test_api_error_shapes(api):
    client, _ = api
    assert client.get("/tasks/9").json() == {"detail": "Task not found"}
    invalid = client.post("/tasks", json={"title": ""}).json()
    assert list(invalid) == ["detail"] and isinstance(invalid["detail"], list)
    for error in invalid["detail"]:
        assert {"type", "loc", "msg"} <= set(error)
        assert error["loc"] == ["body", "title"]
    refused = client.get("/tasks", headers={"Authorization": "Bearer no"})
    assert refused.status_code == 401 and refused.json() == {"detail": "Not authenticated"}
    assert refused.headers["www-authenticate"] == "Bearer"
    assert client.delete("/tasks/1").status_code == 404
    assert client.get("/healthz").json() == {"status": "ok"}
