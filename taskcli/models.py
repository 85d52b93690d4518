"""Moved to taskcli.domain.models (kept while other modules move)."""

from taskcli.domain.models import *  # noqa: F403
from taskcli.domain.models import StoredTime, Task, TaskCreate, TaskRow, TaskUpdate  # noqa: F401
