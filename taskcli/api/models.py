"""What the HTTP API takes: a new task and a partial update, derived from the
domain's field list (domain.models.TaskBase) and checked by the CLI's own rules
(domain.validation), so the API refuses exactly what `tasks add` and `tasks edit`
refuse. What it gives back is domain.models.TaskRead, the CLI's `--json` object.

Both models are strict (JSON types only: `"done": "yes"` is refused, not read as
true) and forbid unknown fields, so a client can never set `id`, `uuid` or a time.
A due is text in any form `--due` takes; it is read at the request's time in the
server's time zone, in the route (domain.dates.parse_due needs both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from taskcli.domain.models import TaskBase
from taskcli.domain.validation import (
    PROJECT_MAX,
    TAG_MAX,
    TITLE_MAX,
    clean_description,
    clean_priority,
    clean_project,
    clean_tags,
    clean_title,
)
from taskcli.errors import InvalidInput

# The longest due text worth reading ('2026-12-01T17:00:00.000000+01:00' is 32).
DUE_MAX = 64
# At most this many tags on one task in one request.
TAGS_MAX = 100

_CONFIG = ConfigDict(extra="forbid", strict=True)


def _rule(clean: Callable[[Any], Any], kind: type = str) -> Callable[[Any], Any]:
    """A pydantic validator from one of the CLI's rules: its InvalidInput becomes a
    ValueError, which FastAPI reports as a 422 naming the field. A value that is
    not of `kind` is left to the type check that follows."""

    def check(value: Any) -> Any:
        if not isinstance(value, kind):
            return value
        try:
            return clean(value)
        except InvalidInput as error:
            raise ValueError(str(error)) from None

    return check


class TaskIn(TaskBase):
    """A new task (`POST /tasks`): a title, and optionally what `tasks add` takes."""

    model_config = _CONFIG

    due: str | None = Field(
        default=None,
        max_length=DUE_MAX,
        description="When it is due, as `tasks add --due` takes it: 2026-12-01, "
        "2026-12-01T17:00Z, tomorrow, fri 9:30, +3d ... (read in the server's time zone)",
    )
    priority: str | None = Field(
        default=None, max_length=6, description="H, M or L (or high, medium, low)"
    )
    tags: list[str] = Field(
        default_factory=list,
        max_length=TAGS_MAX,
        description=f"Tags: 1 to {TAG_MAX} letters, digits, '_', '-' or '.'",
    )
    project: str | None = Field(
        default=None, max_length=PROJECT_MAX, description="Dot-separated parts, e.g. work.web"
    )

    # Before the limits are checked: a title is stripped first, as the CLI does.
    _title = field_validator("title", mode="before")(_rule(clean_title))
    _description = field_validator("description", mode="before")(_rule(clean_description))
    _priority = field_validator("priority")(_rule(clean_priority))
    _tags = field_validator("tags")(_rule(clean_tags, list))
    _project = field_validator("project")(_rule(clean_project))


class TaskPatch(TaskIn):
    """A partial update (`PATCH /tasks/{id}`): only the fields given change. `null`
    clears `description`, `due`, `priority` or `project` (so does an empty
    description); `tags` replaces the task's tags (`[]` clears them); `done`
    marks the task done or not done. The title, tags and done cannot be null."""

    model_config = _CONFIG

    # Not optional, yet not required: a field left out keeps its value, and
    # pydantic never validates a default, so only an explicit null is refused.
    title: str = Field(default=None, max_length=TITLE_MAX)  # type: ignore[assignment]
    tags: list[str] = Field(
        default=None,  # type: ignore[arg-type]
        max_length=TAGS_MAX,
        description="The task's tags from now on, replacing its own ([] clears them)",
    )
    done: bool = Field(default=None, description="Done (true) or not done (false)")  # type: ignore[assignment]
