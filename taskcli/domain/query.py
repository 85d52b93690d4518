"""What a listing asks for."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """Which tasks a listing includes."""

    PENDING = "pending"
    DONE = "done"
    ALL = "all"
