"""Who may call the finance API: finance and admin staff; every other caller is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from config.identity.models import DeviceKind, Role
from config.identity.services import role_group
from tests.assertions import assert_error

FINANCE_ENDPOINTS = [
    "/api/v1/ledger/accounts",
    "/api/v1/ledger/entries",
    "/api/v1/ledger/trial-balance",
    "/api/v1/ledger/export?format=csv",
    "/api/v1/ledger/export?format=xlsx",
]

# caller -> expected status on every finance endpoint
CALLERS = {
    Role.FINANCE: 200,
    Role.ADMIN: 200,
    Role.CASHIER: 403,
    Role.SUPERVISOR: 403,
    DeviceKind.KIOSK: 403,
    DeviceKind.HIS: 403,
    "anonymous": 401,
}


@pytest.fixture
def client_as(
    anon_client: APIClient,
    staff_client: Callable[..., APIClient],
    device_client: Callable[..., tuple[APIClient, Any]],
) -> Callable[[str], APIClient]:
    def make(caller: str) -> APIClient:
        if caller in Role.values:
            return staff_client(caller)
        if caller in DeviceKind.values:
            return device_client(caller)[0]
        return anon_client

    return make


@pytest.mark.parametrize("endpoint", FINANCE_ENDPOINTS)
@pytest.mark.parametrize(("caller", "status"), CALLERS.items(), ids=list(CALLERS))
def test_finance_endpoint_answers_by_caller(
    client_as: Callable[[str], APIClient], endpoint: str, caller: str, status: int
) -> None:
    response: Any = client_as(caller).get(endpoint)

    if status == 200:
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    elif status == 403:
        assert_error(response, 403, "permission_denied")
    else:
        assert_error(response, 401, "authentication_required")


def test_user_in_several_groups_holds_each_role(
    db: None, staff_client: Callable[..., APIClient]
) -> None:
    client = staff_client(Role.CASHIER)
    get_user_model().objects.get().groups.add(role_group(Role.FINANCE))

    assert client.get("/api/v1/ledger/accounts").status_code == 200


def test_group_unknown_to_vienphi_grants_nothing(
    db: None, staff_client: Callable[..., APIClient]
) -> None:
    client = staff_client(Role.CASHIER)
    get_user_model().objects.get().groups.set([Group.objects.create(name="Finance")])

    assert_error(client.get("/api/v1/ledger/accounts"), 403, "permission_denied")
