"""The whole OpenAPI schema fuzzed against the app (schemathesis, in-process over WSGI): every
operation, called by a caller the authorization matrix lets through (the admin's token where
it may, else the HIS's key, else a kiosk's): no answer is a 5xx, and every answer is one the
schema documents (status, content type, body, headers). Bounded: a fixed number of
derandomized examples per operation, plus schemathesis' coverage phase (each parameter
missing, of the wrong type, at and past its bounds; the methods a path does not have).

Time of the file alone on this machine (2 cores shared by up to 9 engineers' suites):

    cat /proc/loadavg; /usr/bin/time -v .venv/bin/pytest tests/api/test_schemathesis.py \
        -q -p no:cacheprovider; cat /proc/loadavg

  before (every operation as the admin, again as the HIS; test database migrated per run):
    2,762 requests; 276 s wall / 67 s CPU at load average 4.8 -> 7.8, 476 s / 64 s at
    8.8 -> 10.8. 568 of the requests were the admin's 403 on operations only the HIS or a
    kiosk may call, and the HIS fuzzed nothing: its item ended at the coverage phase's first
    request with a method the operation lacks (skipped by a method check).
  after (this file; the database copied from the template, tests/database_template.py):
    2,758 requests, every one past authorization (the admin 61 operations, the HIS 7, a kiosk
    1); 460 s wall / 60 s CPU (54.5 user + 5.4 system) at load average 17.8 -> 20.9.
    The test database's setup: 2.4 s instead of 73 s at load ~18 (its first run after a
    migration changed builds the template once: ~75 s more).
  Idle machine (2026-12-05, main 8031dad, load average 1.3 -> 1.1, template present):
    71 passed in 34 s; 40 s wall / 38 s CPU (33.1 user + 4.5 system) — under two minutes,
    also with the template's one-off build after a migration change (~20-30 s idle).
  At load ~18-20 (every engineer's suite at once) wall is ~7.7 x CPU. The CPU left is the
  requests': ~15 ms of this process per request (Django, the checks, hypothesis) and 2-3
  database round trips.

Where the wall time went (profiled with cProfile and a per-request probe): requests, then the
test database's creation (migrations, 35-80 s under load), then collection (the coverage cases
of every operation are built when the module is collected; the schema is generated once per
process) — not per-case fixtures. So each operation is fuzzed once, by a caller that gets past
authorization (a 403 reads no input: the matrix proves those), the callers are made once per
module (inside one transaction rolled back at the module's end; each operation's cases run in
a savepoint of it), and nothing else is set up per case. SCHEMATHESIS_EXAMPLES sets another
number of examples for a longer run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billing.chart import SUSPENSE
from billing.models import Account
from config.identity.models import DeviceKind, Role
from config.identity.services import device_create, staff_create, token_issue
from config.wsgi import application
from tests.api.test_authorization_matrix import _expected
from tests.reference_data import reference_data_load

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
EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "3"))

# Who fuzzes each operation: the first of these the authorization matrix lets through. Any
# other caller is refused (401/403) before the operation reads its input, for every input:
# tests/api/test_authorization_matrix.py proves that for every operation and caller.
CALLERS = ("admin", "his", "kiosk")
FUZZER = {
    operation: next(caller for caller in CALLERS if row[caller] == "ok")
    for operation, row in _expected().items()
    if any(row[caller] == "ok" for caller in CALLERS)
}


def _fuzzed_by(caller: str) -> Any:
    return schema.include(
        lambda ctx: FUZZER.get((ctx.operation.method.upper(), ctx.operation.path)) == caller
    )


@pytest.fixture(scope="module")
def authorization(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, str]]:
    """Each caller's ``Authorization`` header, made once for the module inside a transaction
    that is rolled back when the module ends (nothing is left for other tests); each
    operation's cases run in a savepoint of it (the ``db`` fixture)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            if not Account.objects.filter(code=SUSPENSE).exists():
                reference_data_load()
            _, password = staff_create(username="fuzz-admin", role=Role.ADMIN)
            _, token = token_issue(username="fuzz-admin", password=password)
            _, his = device_create(kind=DeviceKind.HIS, name="fuzz-his")
            _, kiosk = device_create(kind=DeviceKind.KIOSK, name="fuzz-kiosk")
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield {"admin": f"Token {token}", "his": f"Device {his}", "kiosk": f"Device {kiosk}"}
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


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


def _fuzz_as(caller: str) -> Callable[..., None]:
    @_fuzzed_by(caller).parametrize()
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def test(case: schemathesis.Case, authorization: dict[str, str], db: None) -> None:
        checks = CHECKS[1:] if case.path in HEALTH_PROBES else CHECKS
        case.call_and_validate(headers={"Authorization": authorization[caller]}, checks=checks)

    return test


test_the_api_answers_the_admin_what_its_schema_says = _fuzz_as("admin")
test_the_api_answers_the_his_what_its_schema_says = _fuzz_as("his")
test_the_api_answers_a_kiosk_what_its_schema_says = _fuzz_as("kiosk")


def test_every_operation_is_fuzzed_once_by_a_caller_it_lets_through() -> None:
    fuzzed = {
        caller: {result.ok().label for result in _fuzzed_by(caller).get_all_operations()}
        for caller in CALLERS
    }

    assert set(_expected()) == set(FUZZER)  # the matrix has a row for every operation
    assert {f"{method} {path}" for method, path in FUZZER} == set().union(*fuzzed.values())
    assert sum(len(labels) for labels in fuzzed.values()) == len(FUZZER)
    assert all(fuzzed.values())  # the admin, the HIS and a kiosk each fuzz something
