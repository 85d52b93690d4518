"""Property-based testing of the HTTP API against its own OpenAPI schema
(schemathesis): whatever a client sends, no 500, and every response is one the
schema declares, in the shape it declares."""

from __future__ import annotations

from datetime import timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from taskcli.api.app import context, create_app
from taskcli.cli.context import AppContext

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


APP = create_app()
# The context the app runs with: one over a temporary database (see _store).
CURRENT: dict[str, AppContext] = {}
APP.dependency_overrides[context] = lambda: CURRENT["context"]
# Loaded through the app itself (schemathesis.pytest.from_fixture would make the
# app per test, but relies on a pytest internal that pytest 9 removed).
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _store(tmp_path_factory):
    from taskcli.domain.models import TaskCreate

    folder = tmp_path_factory.mktemp("schema")
    app_context = AppContext(db_path=folder / "t.db", busy_timeout=2.0, zone=timezone.utc)
    # Some tasks for the routes that take an id to find.
    for n in range(5):
        app_context.service.add(TaskCreate(title=f"task {n}", tags=["seed"], priority="M"))
    CURRENT["context"] = app_context
    yield
    CURRENT.clear()


@schema.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_no_500_and_every_response_as_the_schema_says(case):
    case.call_and_validate(checks=CHECKS)
