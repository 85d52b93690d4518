"""The HTTP API: FastAPI routes over the same TaskService the CLI uses.

Every route gets its service from the `context` dependency: the AppContext the
CLI builds (database, clock, time zone), which tests override with one over a
temporary database. The routes are plain `def`s, run in FastAPI's thread pool;
they share one store (its engine opened for writing once, so no request ever
swaps it under another), and writes in this process take turns on a lock
rather than polling SQLite's busy handler against each other. Each request
gets its own operations log entry, named like a command line (`api PATCH
/tasks/3`), so `tasks history` and `tasks undo` cover the API's changes too.

Task objects are written by render.json_output, the CLI's `--json` writer, so
they are the CLI's objects byte for byte.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from taskcli import __version__
from taskcli.api.guard import (
    BODY_TIMEOUT,
    BearerToken,
    BodyLimit,
    Edge,
    LoopbackHost,
    storage_response,
)
from taskcli.api.models import TaskIn, TaskPatch
from taskcli.cli.context import AppContext
from taskcli.domain.models import TaskCreate, TaskRead, TaskUpdate
from taskcli.domain.query import NO_PRIORITY, SortKey, Status, TaskQuery, parse_sort
from taskcli.errors import InvalidInput, StorageError, TaskNotFound
from taskcli.render.json_output import json_array_chunks, task_dict
from taskcli.service import TaskService
from taskcli.service.log import OperationLog

# Ids are SQLite's 64-bit integers.
MAX_ID = 2**63 - 1
LIST_LIMIT_MAX = 200
LIST_LIMIT_DEFAULT = 50
# Newest first, as the original API design lists (the CLI lists oldest first).
NEWEST_FIRST = (SortKey("id", descending=True),)
NOT_FOUND = {"detail": "Task not found"}
JSON = "application/json"


class Detail(BaseModel):
    """An error that is not about one field: `{"detail": "..."}`, one line."""

    detail: str


def _detail(description: str) -> dict[str, Any]:
    return {"description": description, "model": Detail}


# What any request may get besides its route's own answers (and FastAPI's 422).
_RESPONSES: dict[int | str, dict[str, Any]] = {
    408: _detail("The request body did not arrive within 30 seconds"),
    413: _detail("The request body is over 1 MiB"),
    500: _detail("A task damaged by another program, or a bug"),
    503: _detail("The database is locked by another process (Retry-After) or cannot be used"),
}
_MISDIRECTED: dict[int | str, dict[str, Any]] = {
    400: _detail("Addressed to a name other than the loopback names it answers to"),
}
_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: _detail("No `Authorization: Bearer <token>`, or not the server's token"),
}

_STORE_LOCK = threading.Lock()
_WRITE_LOCK = threading.Lock()


def context(request: Request) -> AppContext:
    """The AppContext the API runs with (tests override this dependency)."""
    return request.app.state.context


Context = Annotated[AppContext, Depends(context)]


class Api:
    """What a route needs: a service whose log records this request, the context's
    clock and zone, and turns for writing."""

    def __init__(self, request: Request, context: Context) -> None:
        self.context = context
        self.line = f"api {request.method} {request.url.path}"

    def service(self) -> TaskService:
        with _STORE_LOCK:
            shared = self.context.service
            # Opened for writing once (creating the database if need be): a store
            # opened for reading would be reopened by the first write, under
            # another request's feet.
            shared.store.open(write=True)
        log = OperationLog(self.line, shared.log.keep)
        return TaskService(shared.store, clock=self.context.clock, log=log)

    @contextmanager
    def writing(self) -> Iterator[TaskService]:
        service = self.service()
        with _WRITE_LOCK:
            yield service


Service = Annotated[Api, Depends(Api)]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID, description="A task's id")]


def _task(task: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """One task as the CLI's `--json` writes it."""
    body = json.dumps(task_dict(task), ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def invalid(loc: tuple[str | int, ...], error: Exception, value: Any) -> RequestValidationError:
    """A 422 in FastAPI's own error shape, for a rule the CLI applies."""
    return RequestValidationError(
        [{"type": "value_error", "loc": loc, "msg": str(error), "input": value}]
    )


def _parsed(loc: tuple[str | int, ...], value: Any, parse: Callable[[Any], Any]) -> Any:
    try:
        return parse(value)
    except InvalidInput as error:
        raise invalid(loc, error, value) from None


def _due(api: Api, loc: tuple[str, ...], text: str) -> Any:
    from taskcli.domain.dates import parse_due

    return _parsed(loc, text, lambda t: parse_due(t, api.context.now(), api.context.local_zone()))


def _bound(api: Api, name: str, text: str, after: bool) -> Any:
    """A due_before/due_after bound, as `tasks list` reads it (a day is left out)."""
    from datetime import datetime, time, timezone

    due = _due(api, ("query", name), text)
    if due.day is None or after:
        return due.at
    try:
        start = datetime.combine(due.day, time(0), tzinfo=api.context.local_zone())
        return start.astimezone(timezone.utc)
    except OverflowError:
        error = ValueError(f"{text!r} is out of range: dates must be in the years 1 to 9999")
        raise invalid(("query", name), error, text) from None


def create_app(
    app_context: AppContext | None = None,
    *,
    token: str | None = None,
    cors_origins: list[str] | tuple[str, ...] = (),
    hosts: list[str] | tuple[str, ...] | None = None,
    log: Callable[[str], None] | None = None,
    body_within: float = BODY_TIMEOUT,
) -> FastAPI:
    """The API over `app_context` (by default the CLI's: --db, else TASKS_DB, else
    the user data dir). With a `token`, every request needs `Authorization: Bearer
    <token>`; `cors_origins` may call it from those web origins; with `hosts`, it
    answers only requests addressed to those names (guard.LoopbackHost); `log` is
    given one line per request (and one per error a client cannot cause); a
    request body must arrive within `body_within` seconds (408)."""
    responses = _RESPONSES | (_UNAUTHORIZED if token is not None else {})
    app = FastAPI(
        responses=responses | (_MISDIRECTED if hosts is not None else {}),
        title="Tasks API",
        version=__version__,
        description="The tasks of `tasks`, the command-line task manager, over HTTP: "
        "the same database, the same rules, the same JSON objects as `tasks --json`.",
    )
    # /tasks/ is not /tasks: a 404, not a redirect.
    app.router.redirect_slashes = False
    app.state.context = app_context or AppContext()
    app.state.log = log
    _routes(app)
    _errors(app)
    # Outermost last: the log and error edge, then CORS (whose preflight carries
    # no token), the Host check, the token, the body limit, and FastAPI.
    app.add_middleware(BodyLimit, timeout=body_within)
    if token is not None:
        app.add_middleware(BearerToken, token=token)
    if hosts is not None:
        app.add_middleware(LoopbackHost, hosts=hosts)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(Edge, log=log)
    return app


def _routes(app: FastAPI) -> None:
    not_found = {404: {"description": "Task not found", "content": {JSON: {"example": NOT_FOUND}}}}

    @app.post(
        "/tasks", status_code=201, response_model=TaskRead, tags=["tasks"], summary="Add a task"
    )
    def add_task(data: TaskIn, api: Service) -> Response:
        """Add a task, as `tasks add` does; its id, uuid and times are the store's."""
        fields = data.model_dump(exclude_unset=True)
        if fields.get("due") is not None:
            fields["due"] = _due(api, ("body", "due"), fields["due"])
        new = TaskCreate(**fields)
        with api.writing() as service:
            task = service.add(new)
        return _task(task, 201, {"Location": f"/tasks/{task.id}"})

    @app.get("/tasks", response_model=list[TaskRead], tags=["tasks"], summary="List tasks")
    def list_tasks(
        api: Service,
        done: Annotated[bool | None, Query(description="Only done (true) or pending")] = None,
        limit: Annotated[int, Query(ge=1, le=LIST_LIMIT_MAX)] = LIST_LIMIT_DEFAULT,
        offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
        tag: Annotated[list[str] | None, Query(description="With every one of these tags")] = None,
        no_tag: Annotated[list[str] | None, Query(description="With none of these tags")] = None,
        project: Annotated[str | None, Query(description="In this project or below it")] = None,
        priority: Annotated[str | None, Query(description="H, M, L, or none")] = None,
        overdue: Annotated[bool, Query(description="Only pending tasks past due")] = False,
        due_before: Annotated[str | None, Query(description="Due before WHEN")] = None,
        due_after: Annotated[str | None, Query(description="Due after WHEN")] = None,
        no_due: Annotated[bool, Query(description="Only tasks without a due")] = False,
        search: Annotated[str | None, Query(description="Title or description contains")] = None,
        sort: Annotated[str | None, Query(description="Keys as `tasks list --sort` takes")] = None,
    ) -> Response:
        """Tasks, **newest first** unless `sort` says otherwise (`tasks list` lists
        oldest first); the filters are those of `tasks list` and combine."""
        from taskcli.domain.validation import clean_priority, clean_project, clean_tag

        def at(name: str) -> tuple[str, str]:
            return ("query", name)

        if overdue and done:
            raise invalid(("query", "overdue"), ValueError("overdue tasks are pending"), overdue)
        if no_due and (overdue or due_before is not None or due_after is not None):
            error = ValueError("no_due cannot be used with overdue, due_before or due_after")
            raise invalid(("query", "no_due"), error, no_due)
        query = TaskQuery(
            status=Status.ALL if done is None else Status.DONE if done else Status.PENDING,
            tags=tuple(_parsed(at("tag"), t, clean_tag) for t in tag or ()),
            without_tags=tuple(_parsed(at("no_tag"), t, clean_tag) for t in no_tag or ()),
            project=None if project is None else _parsed(at("project"), project, clean_project),
            priority=None
            if priority is None
            else _parsed(("query", "priority"), priority, clean_priority) or NO_PRIORITY,
            overdue=overdue,
            due_before=None if due_before is None else _bound(api, "due_before", due_before, False),
            due_after=None if due_after is None else _bound(api, "due_after", due_after, True),
            no_due=no_due,
            search=search or None,
            sort=NEWEST_FIRST if sort is None else _parsed(("query", "sort"), sort, parse_sort),
            limit=limit,
            offset=offset,
        )
        body = "".join(json_array_chunks(api.service().list_tasks(query)))
        return Response(body.encode(), media_type=JSON)

    @app.get(
        "/tasks/{task_id}",
        response_model=TaskRead,
        responses=not_found,
        tags=["tasks"],
        summary="Get a task",
    )
    def get_task(task_id: TaskId, api: Service) -> Response:
        """One task, as `tasks show --json` gives it."""
        return _task(api.service().get(task_id))

    @app.patch(
        "/tasks/{task_id}",
        response_model=TaskRead,
        responses=not_found,
        tags=["tasks"],
        summary="Change a task",
    )
    def patch_task(task_id: TaskId, data: TaskPatch, api: Service) -> Response:
        """Change only the fields given, as `tasks edit` does: `null` clears an
        optional field, `tags` replaces the task's tags, `done` marks it done or not."""
        fields = data.model_dump(exclude_unset=True)
        if not fields:
            return _task(api.service().get(task_id))
        if fields.get("due") is not None:
            fields["due"] = _due(api, ("body", "due"), fields["due"])
        # `tags` is the task's new set of tags (the service's own `tags` adds).
        exact = fields.pop("tags", None)
        with api.writing() as service:
            (task,) = service.update([task_id], TaskUpdate(**fields), tags=exact)
        return _task(task)

    @app.delete(
        "/tasks/{task_id}",
        status_code=204,
        response_class=Response,
        responses=not_found,
        tags=["tasks"],
        summary="Delete a task",
    )
    def delete_task(task_id: TaskId, api: Service) -> Response:
        """Delete a task for good (`tasks undo` brings it back)."""
        with api.writing() as service:
            service.delete([task_id])
        return Response(status_code=204)

    @app.get("/healthz", tags=["health"], summary="Health check")
    def healthz(api: Service) -> dict[str, str]:
        """`{"status": "ok"}` once the database can be used."""
        api.service()
        return {"status": "ok"}


def _json_safe(value: Any) -> Any:
    """An error's detail made writable as JSON whatever a client sent: numbers
    JSON has no form for (1e999 reads as infinity) as text, lone surrogates
    (from \\ud800 escapes) as visible escapes."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 400 and isinstance(error.__cause__, ValueError | RecursionError):
            # JSON that Python cannot read (nested too deeply, a number over 4,300
            # digits): malformed JSON like any other, not FastAPI's bare 400.
            why = {"error": "nested too deeply or a number too long"}
            detail = {"type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error"}
            detail |= {"input": {}, "ctx": why}
            return JSONResponse({"detail": [detail]}, status_code=422)
        return await http_exception_handler(request, error)

    @app.exception_handler(RequestValidationError)
    def validation(request: Request, error: RequestValidationError) -> JSONResponse:
        detail = _json_safe(jsonable_encoder(error.errors()))
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(TaskNotFound)
    def not_found(request: Request, error: TaskNotFound) -> JSONResponse:
        return JSONResponse(NOT_FOUND, status_code=404)

    @app.exception_handler(InvalidInput)
    def invalid_input(request: Request, error: InvalidInput) -> JSONResponse:
        detail = [{"type": "value_error", "loc": ["body"], "msg": str(error), "input": None}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(StorageError)
    def storage(request: Request, error: StorageError) -> JSONResponse:
        return storage_response(request, error)
