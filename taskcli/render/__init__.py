"""The only package that writes to the terminal.

People at a terminal get rich tables and detail views; pipes get plain lines
with no escape codes; scripts get JSON. rich is imported only when drawing for
a terminal. Text that comes from the data is always shown literally: control,
escape and bidi characters are made visible and rich markup is never interpreted.

    output       the streams: writing, escaping what cannot be encoded, is_terminal, errors
    text         data made inert for a terminal, times, ages
    json_output  tasks as JSON (the contract), derived from the field list
    table        tasks for people: table, tab-separated lines, detail, confirmations
    messages     the command server's state, the delete prompt, the HTTP API's log
    progress_bar a progress bar for long operations
    transfer     export's output (stdout or a file replaced whole), import's summary
"""

from typing import Any

from taskcli.render.messages import (
    confirm_delete,
    log_line,
    server_started,
    server_status,
    servers_stopped,
    serving,
)
from taskcli.render.output import (
    confirm,
    error,
    is_terminal,
    line,
    tolerate_unencodable_output,
    writing,
)
from taskcli.render.progress_bar import PROGRESS_DELAY, Progress, progress
from taskcli.render.text import TaskLike, age, literal, timestamp

# Tasks are shown through the field list (domain.models, and with it SQLModel):
# imported on first use, so `--help`, `--version` and `path` never load it.
_LAZY = {
    "json_array": "json_output",
    "json_object": "json_output",
    "json_value": "json_output",
    "task_dict": "json_output",
    "added_many": "table",
    "confirmations": "table",
    "task_detail": "table",
    "task_list": "table",
    "name_counts": "table",
    "export_chunks": "transfer",
    "write_chunks": "transfer",
    "write_file": "transfer",
    "stopped_by_signal": "transfer",
    "import_summary": "transfer",
    "undone": "history",
    "history_list": "history",
    "operation_detail": "history",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in ("json_output", "table", "history", "transfer"):
        return importlib.import_module(f"taskcli.render.{name}")
    if name in _LAZY:
        value = getattr(importlib.import_module(f"taskcli.render.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PROGRESS_DELAY",
    "Progress",
    "TaskLike",
    "added_many",
    "age",
    "confirm",
    "confirm_delete",
    "confirmations",
    "error",
    "history_list",
    "is_terminal",
    "json_array",
    "json_object",
    "json_value",
    "line",
    "literal",
    "log_line",
    "name_counts",
    "operation_detail",
    "progress",
    "server_started",
    "server_status",
    "servers_stopped",
    "serving",
    "task_detail",
    "task_dict",
    "task_list",
    "timestamp",
    "tolerate_unencodable_output",
    "undone",
    "writing",
]
