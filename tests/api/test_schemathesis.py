"""The whole OpenAPI schema fuzzed against the app (schemathesis, in-process over WSGI), as the
admin and as the HIS: no answer is a 5xx, and every answer is one the schema documents (status,
content type, body, headers). Bounded (a fixed number of examples per operation, derandomized)
so that it stays well under two minutes on 2 cores."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.identity.models import DeviceKind, Role
from config.identity.services import device_create, staff_create, token_issue
from config.wsgi import application
from tests.api.test_authorization_matrix import _expected

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# The health probes answer a documented 503 by design when a worker or beat is not seen (no
# worker runs here): every check but "no 5xx" applies to them.
HEALTH_PROBES = {"/healthz", "/readyz"}
# The HIS is refused (403, before any input is read) everywhere but its own operations and
# the public ones, as the authorization matrix proves for every operation: it fuzzes those.
HIS_MAY_CALL = {operation for operation, row in _expected().items() if row["his"] == "ok"}
# Measured on this machine (2 cores shared by 8 engineers), the whole file alone with -p
# no:cacheprovider, test database creation included, two runs at once beside the others'
# suites: 3 examples 348 s wall / 44 s CPU, 6 examples 371 s / 47 s. The count is not what
# costs (fixed costs are: the test database, the schema, a fixture per case); 3 keeps the
# CPU lowest. SCHEMATHESIS_EXAMPLES sets another number for a longer run by hand.
EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "3"))


@pytest.fixture(autouse=True)
def connection_kept_across_requests() -> Iterator[None]:
    """The WSGI handler closes the database connection when a request ends; the test's
    transaction lives on it, so (as Django's test client does) the requests keep it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(params=["admin", "his"])
def credentials(request: pytest.FixtureRequest, db: None) -> tuple[str, str]:
    """Who calls, and their ``Authorization`` header."""
    if request.param == "admin":
        _, password = staff_create(username="fuzz-admin", role=Role.ADMIN)
        _, key = token_issue(username="fuzz-admin", password=password)
        return "admin", f"Token {key}"
    _, key = device_create(kind=DeviceKind.HIS, name="fuzz-his")
    return "his", f"Device {key}"


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
def test_the_api_answers_what_its_schema_says(
    case: schemathesis.Case, credentials: tuple[str, str]
) -> None:
    caller, authorization = credentials
    if caller == "his" and (case.method.upper(), case.path) not in HIS_MAY_CALL:
        pytest.skip("403 for the HIS whatever the input (tests/api/test_authorization_matrix.py)")
    checks = CHECKS[1:] if case.path in HEALTH_PROBES else CHECKS
    case.call_and_validate(headers={"Authorization": authorization}, checks=checks)
