"""Hostile input gets a clear 400 with a machine-readable code, never a 500 and never a
silent reinterpretation: dates out of any hospital's range (9999-12-31, 0001-01-01, an
encounter opened in 1579), empty filter values, page sizes and cursors we did not issue, a
phone followed by a newline, and a charge request that would post an absurd amount."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from billing.models import Charge
from config.identity.models import Device, DeviceKind
from tests.assertions import assert_error, row_counts
from tests.billing.builders import encounter_new, patient_with_coverage, price_item

pytestmark = pytest.mark.django_db

# (who, path with its hostile query, the parameter named in the error)
HOSTILE_QUERIES = [
    ("finance", "/api/v1/ledger/export?to=9999-12-31", "to"),
    ("finance", "/api/v1/ledger/export?from=0001-01-01&to=2026-01-31", "from"),
    ("finance", "/api/v1/ledger/export?from=2026-01-01&to=", "to"),
    ("finance", "/api/v1/ledger/trial-balance?as_of=", "as_of"),
    ("finance", "/api/v1/ledger/trial-balance?as_of=9999-12-31T23:59:59Z", "as_of"),
    ("finance", "/api/v1/ledger/trial-balance?as_of=0641-03-16T21:43:48-12:34", "as_of"),
    ("finance", "/api/v1/ledger/trial-balance?as_of=1579-06-01T08:00:00%2B07:00", "as_of"),
    ("finance", "/api/v1/ledger/entries?page_size=-1", "page_size"),
    ("finance", "/api/v1/ledger/entries?page_size=0", "page_size"),
    ("finance", "/api/v1/ledger/entries?page_size=100000", "page_size"),
    ("finance", "/api/v1/ledger/entries?page_size=ten", "page_size"),
    ("finance", "/api/v1/ledger/entries?cursor=AAAA", "cursor"),
    ("finance", "/api/v1/ledger/entries?cursor=", "cursor"),
    ("finance", "/api/v1/ledger/entries?posted_from=0001-01-01T00:00:00Z", "posted_from"),
    ("finance", "/api/v1/ledger/entries?posted_to=9999-12-31T23:59:59Z", "posted_to"),
    ("finance", "/api/v1/ledger/entries?account=", "account"),
    ("finance", "/api/v1/ledger/accounts?type=", "type"),
    ("finance", "/api/v1/invoices?status=", "status"),
    ("finance", "/api/v1/reconciliation/items?status=", "status"),
    ("finance", "/api/v1/reconciliation/items?expected_to=9999-12-31", "expected_to"),
    ("finance", "/api/v1/reconciliation/items?page_size=-1", "page_size"),
    ("finance", "/api/v1/reconciliation/summary?date=9999-12-31", "date"),
    ("finance", "/api/v1/reconciliation/daily?date=", "date"),
    ("auditor", "/api/v1/audit/events?day=0001-01-01", "day"),
    ("auditor", "/api/v1/audit/events?page_size=100000", "page_size"),
    ("auditor", "/api/v1/audit/events?cursor=AAAA", "cursor"),
]


@pytest.fixture
def as_role(staff_client: Callable[..., APIClient]) -> Callable[[str], APIClient]:
    return lambda role: staff_client(role)


@pytest.mark.parametrize(("who", "path", "param"), HOSTILE_QUERIES)
def test_a_hostile_query_is_a_clear_400(
    as_role: Callable[[str], APIClient], who: str, path: str, param: str
) -> None:
    response = as_role(who).get(path)

    assert_error(response, 400, "parameter_invalid", param=param)


@pytest.fixture
def his(device_client: Callable[..., tuple[APIClient, Device]]) -> APIClient:
    return device_client(DeviceKind.HIS)[0]


def _patient(**fields: Any) -> dict[str, Any]:
    return {"code": "BN-HOSTILE-1", "full_name": "Lê Văn Hải", "date_of_birth": "1990-05-17"} | (
        fields
    )


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"date_of_birth": "0001-01-01"}, "date_of_birth"),
        ({"date_of_birth": "9999-12-31"}, "date_of_birth"),
        ({"phone": "0912345678\n"}, "phone"),
        (
            {
                "insurance_number": "HS4010123456789",
                "coverage": {
                    "benefit_level": 80,
                    "valid_from": "0001-01-01",
                    "valid_to": "2026-12-31",
                },
            },
            "coverage.valid_from",
        ),
    ],
)
def test_a_patient_with_a_hostile_field_is_refused_and_nothing_is_written(
    his: APIClient, fields: dict[str, Any], param: str
) -> None:
    before = row_counts()

    response = his.post("/api/v1/patients", _patient(**fields), format="json")

    assert_error(response, 400, "parameter_invalid", param=param)
    assert row_counts() == before


@pytest.mark.parametrize("opened_at", ["1579-03-02T08:00:00+07:00", "9999-12-31T23:59:59Z"])
def test_an_encounter_opened_in_1579_or_9999_is_refused(his: APIClient, opened_at: str) -> None:
    patient = patient_with_coverage()
    before = row_counts()

    response = his.post(
        "/api/v1/encounters",
        {
            "patient_id": patient.pk,
            "his_reference": "HIS-ENC-1579",
            "kind": "outpatient",
            "department": "Khoa Nội",
            "opened_at": opened_at,
        },
        format="json",
    )

    assert_error(response, 400, "parameter_invalid", param="opened_at")
    assert row_counts() == before


def test_a_charge_of_a_far_past_service_time_is_refused(his: APIClient) -> None:
    encounter, item = encounter_new(), price_item()

    response = his.post(
        f"/api/v1/encounters/{encounter.pk}/charges",
        {
            "charges": [
                {
                    "service_code": item.service_code,
                    "quantity": 1,
                    "service_at": "0001-01-01T00:00:00Z",
                }
            ]
        },
        format="json",
    )

    assert_error(response, 400, "parameter_invalid", param="charges[0].service_at")


@override_settings(CHARGE_MAX_LINES_PER_REQUEST=3, CHARGE_MAX_QUANTITY=50)
def test_one_charge_request_cannot_post_an_absurd_amount(his: APIClient) -> None:
    encounter, item = encounter_new(), price_item()
    line = {"service_code": item.service_code, "quantity": 1}
    url = f"/api/v1/encounters/{encounter.pk}/charges"

    too_many = his.post(url, {"charges": [line] * 4}, format="json")
    too_much = his.post(url, {"charges": [line | {"quantity": 51}]}, format="json")
    within = his.post(url, {"charges": [line | {"quantity": 50}] * 3}, format="json")

    assert_error(too_many, 400, "too_many_charge_lines", param="charges")
    assert_error(too_much, 400, "invalid_quantity", param="charges[0].quantity")
    assert within.status_code == 201, within.content
    assert Charge.objects.filter(encounter=encounter).count() == 3


def test_the_default_bounds_are_sensible(settings: Any) -> None:
    assert settings.CHARGE_MAX_LINES_PER_REQUEST == 200
    assert settings.CHARGE_MAX_QUANTITY == 10_000
