"""The operations on tasks: synchronous, one short transaction per call, never printing.

tasks   TaskService(store, clock)
"""

from taskcli.service.tasks import Progress, TaskService

__all__ = ["Progress", "TaskService"]
