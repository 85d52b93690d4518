"""The operations log for people and scripts: what undo and redo did, the
history, and one operation in detail."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from taskcli.domain.models import PUBLIC_FIELDS
from taskcli.render.json_output import check_rows, task_dict
from taskcli.render.output import is_terminal, write
from taskcli.render.text import age, literal, timestamp

# Tasks named in an undo or redo message; beyond it, how many more.
_NAMED = 10
_VERBS = {
    # (kind, undo?): what happened to the tasks
    ("add", True): "removed",
    ("add", False): "added again",
    ("change", True): "restored",
    ("change", False): "changed again",
    ("rm", True): "restored",
    ("rm", False): "deleted again",
    ("import", False): "imported again",
}


def operation_dict(operation: Any) -> dict[str, Any]:
    """An operation as JSON: a public contract, like a task's."""
    return {
        "seq": operation.seq,
        "at": timestamp(operation.at),
        "command": operation.command,
        "count": operation.count,
        "undone": bool(operation.undone),
        # Who ran it (null for operations logged before taskcli recorded it): the
        # operating-system user, and the database role on PostgreSQL.
        "os_user": operation.os_user,
        "db_user": operation.db_user,
    }


def undone(done: Any, undo: bool, json_: bool) -> None:
    """What an undo (or a redo) did: one line, or {"operation", "tasks"}."""
    operation = done.operation
    if json_:
        for tasks in (done.present, done.removed):
            if tasks:
                check_rows(tasks)
        tasks = [{**task_dict(task), "deleted": False} for task in done.present]
        tasks += [{**task_dict(task), "deleted": True} for task in done.removed]
        tasks.sort(key=lambda task: task["id"])
        payload = {"operation": operation_dict(operation), "tasks": tasks}
        write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    for tasks in (done.present, done.removed):
        if tasks:
            check_rows(tasks[:_NAMED])
    tasks = sorted([*done.present, *done.removed], key=lambda task: task.id)
    named = ", ".join(f"task {task.id}: {literal(task.title)}" for task in tasks[:_NAMED])
    if len(tasks) > _NAMED:
        named += f" and {len(tasks) - _NAMED} more"
    if operation.kind == "import" and undo:
        # An import made some tasks (its undo removes them) and changed others.
        counts = [(len(done.removed), "removed"), (len(done.present), "restored")]
        verb = " and ".join(f"{what} {count}" for count, what in counts if count) + " tasks:"
    else:
        verb = _VERBS[(operation.kind, undo)]
    head = "Undid" if undo else "Redid"
    write(f"{head} #{operation.seq} {literal(operation.command)}: {verb} {named}\n")


def history_list(operations: Sequence[Any], json_: bool) -> None:
    """The log, newest first: number, when, command, tasks, whether undone."""
    if json_:
        write(json.dumps([operation_dict(op) for op in operations], ensure_ascii=False) + "\n")
        return
    if not is_terminal():
        write(
            "".join(
                f"{op.seq}\t{timestamp(op.at)}\t{literal(op.command)}\t{op.count}\t"
                f"{'undone' if op.undone else ''}\t{literal(_by(op))}\n"
                for op in operations
            )
        )
        return
    if not operations:
        write("No changes recorded yet.\n")
        return
    now = datetime.now(timezone.utc)
    seq_width = max(len(str(op.seq)) for op in operations) + 1
    count_width = max(5, *(len(str(op.count)) for op in operations))
    by_width = max(2, *(len(literal(_by(op))) for op in operations))
    write(
        f"{'#':>{seq_width}}  {'When':>4}  {'Tasks':>{count_width}}  Undone  "
        f"{'By':<{by_width}}  Command\n"
    )
    for op in operations:
        mark = "undone" if op.undone else ""
        write(
            f"{'#' + str(op.seq):>{seq_width}}  {age(op.at, now):>4}  "
            f"{op.count:>{count_width}}  {mark:<6}  {literal(_by(op)):<{by_width}}  "
            f"{literal(op.command)}\n"
        )


def _by(operation: Any) -> str:
    """Who ran an operation: the OS user, with the database role when it differs."""
    user, role = operation.os_user, operation.db_user
    if user is None:
        return role or ""
    return user if role in (None, user) else f"{user} as {role}"


def operation_detail(operation: Any, tasks: Sequence[tuple[int, Any, Any]], json_: bool) -> None:
    """One operation and each task's before and after."""
    if json_:
        payload = {
            "operation": operation_dict(operation),
            "tasks": [
                {
                    "id": task_id,
                    "before": None if before is None else task_dict(before),
                    "after": None if after is None else task_dict(after),
                }
                for task_id, before, after in tasks
            ],
        }
        write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    state = " (undone)" if operation.undone else ""
    by = f" by {literal(_by(operation))}" if _by(operation) else ""
    write(
        f"#{operation.seq} {literal(operation.command)}{state}: {timestamp(operation.at)}{by}, "
        f"{operation.count} task{'s' if operation.count != 1 else ''}\n"
    )
    for task_id, before, after in tasks:
        title = literal((after or before).title)
        if before is None:
            write(f"  task {task_id}: {title}: added\n")
        elif after is None:
            write(f"  task {task_id}: {title}: deleted\n")
        else:
            write(f"  task {task_id}: {title}\n")
            old, new = task_dict(before), task_dict(after)
            for name in PUBLIC_FIELDS:
                if old[name] != new[name]:
                    write(f"    {name}: {_shown(old[name])} -> {_shown(new[name])}\n")


def _shown(value: Any) -> str:
    return literal(json.dumps(value, ensure_ascii=False))
