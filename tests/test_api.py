"""The HTTP API in-process: FastAPI's TestClient, with the context dependency
overridden by one over a temporary database (the CLI's own AppContext)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from stores import holding_write_lock, is_postgres, tamper

from taskcli.api import app as api_app
from taskcli.api.app import context, create_app
from taskcli.api.guard import BODY_LIMIT
from taskcli.cli.context import AppContext
from taskcli.domain.clock import fixed_clock

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture
def app_context(db_path: Path) -> AppContext:
    return AppContext(db_path=db_path, busy_timeout=2.0, clock=fixed_clock(NOW), zone=timezone.utc)


def client_for(app_context: AppContext, **options) -> TestClient:
    app = create_app(**options)
    # The original design's pattern: the tests override the dependency.
    app.dependency_overrides[context] = lambda: app_context
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(app_context: AppContext) -> TestClient:
    return client_for(app_context)


def add(client: TestClient, title: str, **fields) -> dict:
    response = client.post("/tasks", json={"title": title, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def send(client: TestClient, method: str, path: str, body) -> object:
    """A JSON body as Python's json writes it (lone surrogates as escapes)."""
    headers = {"content-type": "application/json"}
    return client.request(method, path, content=json.dumps(body), headers=headers)


def error_fields(response) -> list[tuple]:
    """The (loc, msg) of a 422 in FastAPI's shape."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    for item in detail:
        assert {"type", "loc", "msg"} <= set(item), item
    return [tuple(item["loc"]) for item in detail]


# -- the original design's tests ------------------------------------------------------


def test_create_then_list(client):
    created = add(client, "Ship v1")
    assert created["id"] == 1 and created["title"] == "Ship v1" and created["done"] is False
    response = client.get("/tasks")
    assert response.status_code == 200
    assert response.json() == [created]


def test_mark_done_with_patch(client):
    task = add(client, "Ship v1")
    response = client.patch(f"/tasks/{task['id']}", json={"done": True})
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["done"] is True and done["completed_at"] == "2026-11-27T12:00:00.000000Z"
    assert client.get("/tasks", params={"done": "true"}).json() == [done]
    assert client.get("/tasks", params={"done": "false"}).json() == []
    reopened = client.patch(f"/tasks/{task['id']}", json={"done": False}).json()
    assert reopened["done"] is False and reopened["completed_at"] is None


def test_delete_then_get_is_404(client):
    task = add(client, "Ship v1")
    response = client.delete(f"/tasks/{task['id']}")
    assert response.status_code == 204 and response.content == b""
    for method in ("GET", "PATCH", "DELETE"):
        response = client.request(method, f"/tasks/{task['id']}", json={"done": True})
        assert response.status_code == 404
        assert response.json() == {"detail": "Task not found"}


# -- the same objects, the same store as the CLI ------------------------------------


def test_task_objects_are_the_cli_json_byte_for_byte(client, cli, app_context):
    cli.at("2026-11-27 12:00")
    cli.ok("add", "From the CLI", "-d", "notes\twith a tab", "--due", "2026-12-01", "-t", "b")
    add(client, "From the API ☃", due="2026-12-01T17:00Z", tags=["x", "a"], project="work.web")
    cli_list = cli.ok("list", "--all", "--json").stdout
    api_list = client.get("/tasks", params={"sort": "id"})
    assert api_list.headers["content-type"] == "application/json"
    assert api_list.content.decode() == cli_list
    for task_id in (1, 2):
        shown = cli.ok("show", str(task_id), "--json").stdout
        assert client.get(f"/tasks/{task_id}").content.decode() + "\n" == shown


def test_the_newest_come_first_unlike_the_cli(client, cli):
    for title in ("one", "two", "three"):
        add(client, title)
    assert [t["title"] for t in client.get("/tasks").json()] == ["three", "two", "one"]
    assert [t["title"] for t in cli.json("list")] == ["one", "two", "three"]
    assert [t["id"] for t in client.get("/tasks", params={"sort": "id"}).json()] == [1, 2, 3]


def test_api_writes_are_in_the_history_and_undone_by_the_cli(client, cli):
    task = add(client, "Ship v1")
    client.patch(f"/tasks/{task['id']}", json={"priority": "H"})
    client.delete(f"/tasks/{task['id']}")
    history = cli.json("history")
    assert [entry["command"] for entry in history] == [
        "api DELETE /tasks/1",
        "api PATCH /tasks/1",
        "api POST /tasks",
    ]
    cli.ok("undo")
    assert client.get("/tasks/1").json()["priority"] == "H"


def test_reads_and_writes_see_the_other_side_at_once(client, cli):
    cli.ok("add", "by the CLI")
    assert [t["title"] for t in client.get("/tasks").json()] == ["by the CLI"]
    add(client, "by the API")
    assert [t["title"] for t in cli.json("list")] == ["by the CLI", "by the API"]


# -- creating ---------------------------------------------------------------------------


def test_post_takes_the_cli_attributes(client):
    task = add(
        client,
        "  Call the bank  ",
        description="ask about fees",
        due="tomorrow 9:30",
        priority="high",
        tags=["phone", "money", "phone"],
        project="home.money",
    )
    assert task["title"] == "Call the bank"
    assert task["due"] == "2026-11-28T09:30:00Z"
    assert task["priority"] == "H" and task["tags"] == ["money", "phone"]
    assert task["project"] == "home.money" and task["description"] == "ask about fees"
    response = client.post("/tasks", json={"title": "x"})
    assert response.headers["location"] == f"/tasks/{response.json()['id']}"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ("body", "title")),
        ({"title": ""}, ("body", "title")),
        ({"title": "   "}, ("body", "title")),
        ({"title": "a\nb"}, ("body", "title")),
        ({"title": "bell\x07"}, ("body", "title")),
        ({"title": "x" * 501}, ("body", "title")),
        ({"title": "\ud800"}, ("body", "title")),
        ({"title": None}, ("body", "title")),
        ({"title": 5}, ("body", "title")),
        ({"title": ["x"]}, ("body", "title")),
        ({"title": "x", "description": "esc\x1b"}, ("body", "description")),
        ({"title": "x", "description": "d" * 65537}, ("body", "description")),
        ({"title": "x", "due": "someday"}, ("body", "due")),
        ({"title": "x", "due": "2026-02-30"}, ("body", "due")),
        ({"title": "x", "due": 20261201}, ("body", "due")),
        ({"title": "x", "priority": "X"}, ("body", "priority")),
        ({"title": "x", "tags": ["a b"]}, ("body", "tags")),
        ({"title": "x", "tags": "a"}, ("body", "tags")),
        ({"title": "x", "tags": [1]}, ("body", "tags", 0)),
        ({"title": "x", "project": "a..b"}, ("body", "project")),
        ({"title": "x", "id": 7}, ("body", "id")),
        ({"title": "x", "uuid": "0b2778ce-6e31-4ca8-98b4-cfaf1e4dd30c"}, ("body", "uuid")),
        ({"title": "x", "created_at": "2026-01-01T00:00:00Z"}, ("body", "created_at")),
        ({"title": "x", "done": True}, ("body", "done")),
        ({"title": "x", "extra": {}}, ("body", "extra")),
    ],
)
def test_post_refuses_what_the_cli_refuses_with_422(client, body, loc):
    assert loc in error_fields(send(client, "POST", "/tasks", body))
    assert client.get("/tasks").json() == []


@pytest.mark.parametrize(
    "content",
    [b"{bad", b"", b"[]", b"null", b'"title"', b'{"title": "x"', b"\xff\xfe{}", b"1e999999"],
)
def test_a_body_that_is_not_a_task_object_is_422_or_400(client, content):
    response = client.post("/tasks", content=content, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text
    assert isinstance(response.json()["detail"], list | str)
    assert client.get("/tasks").json() == []


# -- listing ----------------------------------------------------------------------------


def test_list_filters_are_those_of_the_cli(client, cli):
    add(client, "a", tags=["work"], project="work.web", priority="H", due="2026-11-20")
    add(client, "b", tags=["home"], project="workshop", due="2026-12-20")
    add(client, "c", tags=["work", "home"], description="find the NEEDLE")
    client.patch("/tasks/3", json={"done": True})

    def titles(**params) -> list[str]:
        response = client.get("/tasks", params=params)
        assert response.status_code == 200, response.text
        return [t["title"] for t in response.json()]

    assert titles() == ["c", "b", "a"]
    assert titles(done="false") == ["b", "a"]
    assert titles(done="true") == ["c"]
    assert titles(tag="work") == ["c", "a"]
    assert titles(tag=["work", "home"]) == ["c"]
    assert titles(no_tag="home") == ["a"]
    assert titles(project="work") == ["a"]
    assert titles(priority="H") == ["a"]
    assert titles(priority="none") == ["c", "b"]
    assert titles(overdue="true") == ["a"]
    assert titles(due_before="2026-12-01") == ["a"]
    assert titles(due_after="2026-12-01") == ["b"]
    assert titles(no_due="true") == ["c"]
    assert titles(search="needle") == ["c"]
    assert titles(sort="title") == ["a", "b", "c"]
    assert titles(sort="-due") == ["b", "a", "c"]
    assert titles(limit=1) == ["c"]
    assert titles(limit=2, offset=1) == ["b", "a"]
    assert titles(offset=3) == []
    # The same selection as the CLI's, in the CLI's order.
    assert titles(tag="work", sort="id") == [
        t["title"] for t in cli.json("list", "--all", "-t", "work")
    ]


def test_list_has_at_most_200_and_50_by_default(client, cli):
    cli.ok("add", "-", input="".join(f"task {n}\n" for n in range(250)))
    assert len(client.get("/tasks").json()) == 50
    assert len(client.get("/tasks", params={"limit": 200}).json()) == 200
    assert client.get("/tasks").json()[0]["id"] == 250


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": 2**64}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 2**63}, "offset"),
        ({"done": "maybe"}, "done"),
        ({"tag": "a b"}, "tag"),
        ({"no_tag": ""}, "no_tag"),
        ({"project": ".x"}, "project"),
        ({"priority": "urgent"}, "priority"),
        ({"due_before": "soon"}, "due_before"),
        ({"due_after": "9999-12-31 25:00"}, "due_after"),
        ({"sort": "colour"}, "sort"),
        ({"sort": "id,id"}, "sort"),
        ({"overdue": "true", "done": "true"}, "overdue"),
        ({"no_due": "true", "overdue": "true"}, "no_due"),
    ],
)
def test_list_refuses_bad_parameters_with_422(client, params, name):
    assert ("query", name) in error_fields(client.get("/tasks", params=params))


def test_offset_as_large_as_an_id_is_an_empty_page(client):
    add(client, "x")
    assert client.get("/tasks", params={"offset": 2**63 - 1}).json() == []


# -- one task ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tasks/abc", 422),
        ("/tasks/1.5", 422),
        ("/tasks/0", 422),
        ("/tasks/-1", 422),
        (f"/tasks/{2**63}", 422),
        (f"/tasks/{10**40}", 422),
        (f"/tasks/{2**63 - 1}", 404),
        ("/tasks/%F0%9F%98%80", 422),
        ("/tasks/%00", 422),
        ("/tasks/1/extra", 404),
        ("/nothing-here", 404),
    ],
)
def test_ids_beyond_what_exists_are_422_or_404(client, path, status):
    for method in ("GET", "PATCH", "DELETE"):
        response = client.request(method, path, json={"done": True})
        assert response.status_code in (status, 405), (method, path, response.text)


def test_patch_changes_only_what_it_names(client):
    task = add(
        client,
        "Ship v1",
        description="notes",
        due="2026-12-01",
        priority="L",
        tags=["a"],
        project="p",
    )
    changed = client.patch("/tasks/1", json={"title": "Ship v1.1"}).json()
    assert changed["title"] == "Ship v1.1"
    unchanged = ("description", "due", "priority", "tags", "project", "done", "created_at", "uuid")
    assert {k: changed[k] for k in unchanged} == {k: task[k] for k in unchanged}
    cleared = client.patch(
        "/tasks/1", json={"description": None, "due": None, "priority": None, "project": None}
    ).json()
    assert (cleared["description"], cleared["due"], cleared["priority"], cleared["project"]) == (
        None,
        None,
        None,
        None,
    )
    assert client.patch("/tasks/1", json={"description": ""}).json()["description"] is None
    assert client.patch("/tasks/1", json={"tags": ["z", "b", "z"]}).json()["tags"] == ["b", "z"]
    assert client.patch("/tasks/1", json={"tags": []}).json()["tags"] == []
    same = client.patch("/tasks/1", json={})
    assert same.status_code == 200 and same.json() == client.get("/tasks/1").json()
    assert client.patch("/tasks/99", json={}).status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"title": None}, ("body", "title")),
        ({"title": ""}, ("body", "title")),
        ({"done": None}, ("body", "done")),
        ({"done": "yes"}, ("body", "done")),
        ({"done": 1}, ("body", "done")),
        ({"tags": None}, ("body", "tags")),
        ({"due": "whenever"}, ("body", "due")),
        ({"priority": "none please"}, ("body", "priority")),
        ({"id": 2}, ("body", "id")),
        ({"updated_at": "2026-01-01T00:00:00Z"}, ("body", "updated_at")),
        ({"untag": ["a"]}, ("body", "untag")),
    ],
)
def test_patch_refuses_with_422_and_changes_nothing(client, body, loc):
    before = add(client, "Ship v1")
    assert loc in error_fields(send(client, "PATCH", "/tasks/1", body))
    assert client.get("/tasks/1").json() == before


def test_healthz_and_openapi_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "Tasks API"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


# -- the token ---------------------------------------------------------------------------


def test_with_a_token_every_request_needs_it(app_context):
    client = client_for(app_context, token=TOKEN)
    for path in ("/tasks", "/tasks/1", "/healthz", "/openapi.json", "/docs", "/nothing"):
        for sent in (None, "Bearer wrong", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x",
                     f"Bearer {TOKEN[:-1]}", "Bearer", f"Bearer  {TOKEN} extra"):  # fmt: skip
            headers = {} if sent is None else {"Authorization": sent}
            response = client.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json() == {"detail": "Not authenticated"}
    assert client.post("/tasks", json={"title": "x"}).status_code == 401
    ok = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/tasks", json={"title": "x"}, headers=ok).status_code == 201
    assert client.get("/tasks/1", headers={"authorization": f"bearer {TOKEN}"}).status_code == 200
    assert [t["title"] for t in client.get("/tasks", headers=ok).json()] == ["x"]


def test_without_a_token_it_answers_only_loopback_names(app_context):
    """DNS rebinding: a page on evil.example, whose name then resolves to
    127.0.0.1, sends requests with its own name as the Host."""
    client = client_for(app_context, hosts=["localhost", "127.0.0.1", "[::1]"])
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.", ""):
        response = client.get("/tasks", headers={"Host": host})
        assert response.status_code == 400, host
        assert response.json() == {"detail": "Invalid host header"}
    for host in ("localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"):
        assert client.get("/tasks", headers={"Host": host}).status_code == 200, host


def test_without_a_token_nothing_is_asked(client):
    assert client.get("/tasks", headers={"Authorization": "Bearer anything"}).status_code == 200


# -- the body limit ------------------------------------------------------------------------


def test_a_body_over_1_mib_is_413(client):
    big = json.dumps({"title": "x", "description": "d" * BODY_LIMIT}).encode()
    response = client.post("/tasks", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "detail" in response.json()

    def chunked():
        yield b'{"title": "x", "description": "'
        for _ in range(20):
            yield b"d" * 65536
        yield b'"}'

    response = client.post(
        "/tasks", content=chunked(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert client.get("/tasks").json() == []
    # Just under the limit is read (and refused by the description's own limit).
    near = json.dumps({"title": "x", "description": "d" * (BODY_LIMIT - 100)}).encode()
    response = client.post("/tasks", content=near, headers={"content-type": "application/json"})
    assert error_fields(response) == [("body", "description")]


def test_a_lying_content_length_is_refused(client):
    response = client.post(
        "/tasks",
        content=b'{"title": "x"}',
        headers={"content-type": "application/json", "content-length": "99999999999"},
    )
    assert response.status_code in (400, 413)


# -- CORS ----------------------------------------------------------------------------------


def test_no_cors_unless_an_origin_is_named(app_context):
    origin = {"Origin": "https://example.test"}
    assert (
        "access-control-allow-origin"
        not in client_for(app_context).get("/tasks", headers=origin).headers
    )
    allowed = client_for(app_context, cors_origins=["https://example.test"], token=TOKEN)
    preflight = allowed.options(
        "/tasks",
        headers={**origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"},
    )  # fmt: skip
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://example.test"
    other = allowed.get("/tasks", headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in other.headers


# -- storage errors and bugs ---------------------------------------------------------------


def test_a_locked_database_is_503_with_retry_after(client, app_context, db_path):
    add(client, "x")
    app_context.service.store.busy_timeout = 0.05
    app_context._service = None  # rebuilt with the short timeout
    app_context.busy_timeout = 0.05
    with holding_write_lock(db_path):
        response = client.post("/tasks", json={"title": "y"})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json() == {"detail": "the database is locked by another process; try again"}
    assert client.post("/tasks", json={"title": "y"}).status_code == 201


def test_a_damaged_task_is_500_with_one_line(client, db_path):
    add(client, "x")
    if not tamper(db_path, "UPDATE task SET created_at = 'garbage' WHERE id = 1"):
        assert is_postgres(db_path)  # a damage PostgreSQL's column types refuse
        return
    for response in (
        client.get("/tasks/1"),
        client.get("/tasks"),
        client.patch("/tasks/1", json={"done": True}),
    ):
        assert response.status_code == 500, response.text
        assert response.json() == {"detail": "task 1 is damaged in the database (its created_at)"}


def test_a_file_that_is_not_a_database_is_503_and_names_no_path(tmp_path):
    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello " * 100)
    client = client_for(AppContext(db_path=not_db))
    response = client.get("/tasks")
    assert response.status_code == 503
    assert str(tmp_path) not in response.text and "\n" not in response.text


def test_a_bug_is_a_500_with_one_line_and_no_traceback(client, monkeypatch):
    lines: list[str] = []
    app = create_app(log=lines.append)
    app.dependency_overrides[context] = client.app.dependency_overrides[context]
    broken = TestClient(app, raise_server_exceptions=False)

    def boom(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(api_app.Api, "service", boom)
    response = broken.get("/tasks/1")
    assert response.status_code == 500 and response.json() == {"detail": "internal error"}
    assert lines[0] == "Error: internal error (RuntimeError: boom); please report it"
    assert '"GET /tasks/1" 500' in lines[1]
    assert not any("Traceback" in line for line in lines)


def test_one_log_line_per_request_shown_inertly(app_context):
    lines: list[str] = []
    app = create_app(log=lines.append)
    app.dependency_overrides[context] = lambda: app_context
    client = TestClient(app)
    client.post("/tasks", json={"title": "x"})
    client.get("/tasks/%1b%5B31m")
    client.get("/tasks", params={"search": "a" * 1000})
    assert len(lines) == 3
    assert lines[0].endswith(" ms") and '"POST /tasks" 201' in lines[0]
    assert "\x1b" not in lines[1] and '"GET /tasks/%1b%5B31m" 422' in lines[1]
    assert len(lines[2]) < 300


# -- the command ---------------------------------------------------------------------------


def test_serve_without_the_extra_is_exit_3_with_the_hint(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    error = cli.fails(3, "serve")
    assert error == "Error: the HTTP API is not installed (pip install 'taskcli[api]')\n"


def test_serve_refuses_other_addresses_without_a_token(cli, monkeypatch):
    monkeypatch.delenv("TASKS_API_TOKEN", raising=False)
    assert "needs a token" in cli.fails(2, "serve", "--host", "0.0.0.0", "--port", "0")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_serve_refuses_a_token_file_others_may_read(cli, tmp_path, mode):
    token = tmp_path / "token"
    token.write_text(TOKEN)
    token.chmod(mode)
    error = cli.fails(2, "serve", "--token-file", str(token))
    assert "chmod 600" in error and TOKEN not in error


@pytest.mark.parametrize("value", ["short", "has space in it 0123456789", "ünïcödé-token-01234"])
def test_serve_refuses_a_weak_or_odd_token_and_never_shows_it(cli, monkeypatch, value):
    monkeypatch.setenv("TASKS_API_TOKEN", value)
    error = cli.fails(2, "serve")
    assert "at least 16" in error and value not in error


def test_an_empty_token_variable_is_no_token(cli, monkeypatch):
    monkeypatch.setenv("TASKS_API_TOKEN", "")
    assert "needs a token" in cli.fails(2, "serve", "--host", "0.0.0.0", "--port", "0")


def test_a_token_file_that_is_a_fifo_is_refused_at_once(cli, tmp_path):
    import os

    fifo = tmp_path / "token"
    os.mkfifo(fifo, 0o600)
    assert "not a regular file" in cli.fails(2, "serve", "--token-file", str(fifo))


def test_serve_bad_port_and_host(cli):
    assert "not a port" in cli.fails(2, "serve", "--port", "65536")
    assert "not a port" in cli.fails(2, "serve", "--port", "-1")
    assert "cannot listen" in cli.fails(2, "serve", "--host", "no such host.invalid", "--port", "0")


def test_the_base_install_never_imports_the_api():
    code = (
        "import sys\n"
        "from taskcli.cli import run\n"
        "run(['--help'])\n"
        "run(['serve', '--help'])\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "assert not loaded & {'fastapi', 'uvicorn', 'starlette'}, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000 + b"]" * 100_000, b'{"title": ' + b"9" * 5000 + b"}"],
    ids=["nested too deeply", "a number too long"],
)
def test_json_python_cannot_read_is_malformed_json_too(client, content):
    response = client.post("/tasks", content=content, headers={"content-type": "application/json"})
    assert error_fields(response) == [("body", 0)]
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_a_trailing_slash_is_another_path_not_a_redirect(client):
    add(client, "x")
    for path in ("/tasks/", "/tasks/1/", "/healthz/"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404, path


def test_a_body_that_never_arrives_is_408():
    import asyncio

    from taskcli.api.guard import BodyLimit

    sent: list[dict] = []

    async def never(*args):
        raise AssertionError("the app must not run")

    async def receive():
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "headers": [(b"content-length", b"10")]}
    asyncio.run(BodyLimit(never, timeout=0.01)(scope, receive, send))
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"]) == {"detail": "the request body did not arrive in time"}
