"""Shared fixtures: API clients authenticated as each role and as each kind of device."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from celery._state import _set_task_join_will_block  # type: ignore[attr-defined]  # not in the stubs
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from billing.chart import SUSPENSE
from billing.models import Account
from config.identity.models import Device, DeviceKind, Role
from config.identity.services import device_create, staff_create, token_issue
from tests.database_template import template_database_use
from tests.device_clients import DeviceClient
from tests.reference_data import reference_data_load

pytest_plugins = ["tests.fakes.fixtures"]

# Hypothesis' defaults time each example (a 200 ms deadline) and the generation of its data
# (the too_slow health check): both fail a correct test when the shared machine is loaded
# (seen: test_ledger_exports' property under load, passing alone). Tests assert results,
# never timings; a test that sets its own health checks lists too_slow itself.
hypothesis_settings.register_profile(
    "vienphi", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("vienphi")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """pytest-django's (a test database per xdist worker), and each is copied from a migrated
    template rather than migrated from nothing (tests/database_template.py)."""
    template_database_use()


@pytest.fixture(autouse=True)
def celery_join_allowed() -> None:
    """Each test starts outside any task, as far as Celery can tell. In-process (eager)
    dispatch marks "inside a task" in one process-wide flag and puts back what it found on
    the way out (``celery.result.denied_join_result``); tasks dispatched from several
    threads at once (the concurrency tests) interleave those saves and can leave the flag
    set, so a later test's ``.delay().get()`` in the same process fails with "Never call
    result.get() within a task!" (seen after the audit chain's ten-thread test)."""
    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def reference_data_present(request: pytest.FixtureRequest) -> None:
    """Every database test starts with the rows migrations load (chart of accounts, role
    groups, BHYT rules), whatever ran before it on this process: a transactional test ends
    by truncating every table, and test files are spread over processes in no fixed order.
    One query when the rows are there (the usual case)."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = {"db", "transactional_db"} & set(request.fixturenames)
    if marker is None and not uses_db:
        return
    transactional = (marker is not None and marker.kwargs.get("transaction", False)) or (
        "transactional_db" in request.fixturenames
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    if not Account.objects.filter(code=SUSPENSE).exists():
        reference_data_load()


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_client(db: None) -> Callable[..., APIClient]:
    """``staff_client(Role.FINANCE)``: a client with a fresh token of a new user in that role."""
    counter = iter(range(1_000_000))

    def make(role: str) -> APIClient:
        username = f"{role}-{next(counter)}"
        _, password = staff_create(username=username, role=role)
        _, key = token_issue(username=username, password=password)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def device_client(db: None) -> Callable[..., tuple[APIClient, Device]]:
    counter = iter(range(1_000_000))

    def make(kind: str) -> tuple[APIClient, Device]:
        device, key = device_create(kind=kind, name=f"{kind}-{next(counter)}")
        return DeviceClient(device, key), device

    return make


@pytest.fixture
def kiosk(device_client: Callable[..., tuple[APIClient, Device]]) -> tuple[APIClient, Device]:
    """A kiosk's client and its device."""
    return device_client(DeviceKind.KIOSK)


@pytest.fixture
def finance_client(staff_client: Callable[..., APIClient]) -> APIClient:
    return staff_client(Role.FINANCE)
