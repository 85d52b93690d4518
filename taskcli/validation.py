"""Moved to taskcli.domain.validation (kept while other modules move)."""

from taskcli.domain.validation import *  # noqa: F403
