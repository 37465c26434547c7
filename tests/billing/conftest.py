"""Fixtures of the billing tests: the HIS and staff clients most files use, and the default
chart of accounts, by code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import Account
from config.identity.models import DeviceKind, Role
from tests.reference_data import reference_data_load


@pytest.fixture
def his(device_client: Callable[[str], tuple[APIClient, Any]]) -> APIClient:
    return device_client(DeviceKind.HIS)[0]


@pytest.fixture
def cashier(staff_client: Callable[[str], APIClient]) -> APIClient:
    return staff_client(Role.CASHIER)


@pytest.fixture
def supervisor(staff_client: Callable[[str], APIClient]) -> APIClient:
    return staff_client(Role.SUPERVISOR)


@pytest.fixture
def chart(db: None) -> dict[str, Account]:
    """The chart of accounts the migrations load (all VND), by code."""
    reference_data_load()
    return {account.code: account for account in Account.objects.all()}
