"""The kiosk lookup: one identifier in, the masked name and open invoices out; rate-limited
per kiosk, audited, and the identifier never written down or logged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from billing.models import InvoiceStatus, LookupAudit, Patient
from billing.services.invoices import invoice_issue
from config.identity.models import DeviceKind, Role
from tests.assertions import assert_error, row_counts
from tests.billing.builders import (
    charges_post,
    citizen_id_new,
    encounter_new,
    patient_with_coverage,
    payment_post,
    price_item,
)

pytestmark = pytest.mark.django_db

CARD = "DN4010123456789"
LOOKUP = "/api/v1/kiosk/lookup"


@pytest.fixture(autouse=True)
def fresh_throttle() -> Iterator[None]:
    """Lookups counted by an earlier test (or run) must not throttle this one."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def citizen_id() -> str:
    return citizen_id_new(province="079", century_sex="1", year="92")


@pytest.fixture
def patient(citizen_id: str) -> Patient:
    """Nguyễn Văn An, 80 % card: one invoice issued, one partly paid, one paid."""
    patient = patient_with_coverage(benefit_level=80, citizen_id=citizen_id, insurance_number=CARD)
    for price in (1_000_000, 2_000_000, 500_000):
        encounter = encounter_new(patient=patient)
        charges_post(encounter, (price_item(price=price, name="Khám nội"), 1))
        invoice_issue(encounter=encounter, issued_by="test")
    _issued, partly, paid = patient.invoices.order_by("id")
    payment_post(partly, 150_000)
    payment_post(paid, 100_000)
    return patient


def lookup(client: APIClient, **identifier: str) -> Any:
    return client.post(LOOKUP, identifier, format="json")


@pytest.mark.parametrize(
    "identifier",
    ["citizen_id", "patient_code", "card", "social_insurance_number"],
)
def test_a_kiosk_finds_the_open_invoices_by_each_identifier(
    kiosk: tuple[APIClient, Any], patient: Patient, citizen_id: str, identifier: str
) -> None:
    sent = {
        "citizen_id": {"citizen_id": citizen_id},
        "patient_code": {"patient_code": patient.code},
        "card": {"insurance_number": CARD},
        "social_insurance_number": {"insurance_number": CARD[-10:]},
    }[identifier]

    response = lookup(kiosk[0], **sent)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["patient_id"], body["masked_name"]) == (patient.pk, "N. V. An")
    assert [(i["status"], i["amount_due"]) for i in body["invoices"]] == [
        (InvoiceStatus.ISSUED, 200_000),
        (InvoiceStatus.PARTIALLY_PAID, 250_000),
    ]
    assert body["amount_due"] == 450_000
    [line] = body["invoices"][0]["lines"]
    assert (line["name"], line["amount"], line["insurance_share"], line["patient_share"]) == (
        "Khám nội",
        1_000_000,
        800_000,
        200_000,
    )
    text = response.content.decode()
    assert citizen_id not in text
    assert "Nguyễn" not in text


def test_a_kiosk_finds_a_patient_whose_insurance_number_is_the_citizen_id(
    kiosk: tuple[APIClient, Any],
) -> None:
    citizen_id = citizen_id_new()
    patient = patient_with_coverage(insurance_number=citizen_id)

    response = lookup(kiosk[0], insurance_number=citizen_id)

    assert response.status_code == 200, response.content
    assert response.json()["patient_id"] == patient.pk


def test_an_unknown_identifier_is_not_found_and_audited(
    kiosk: tuple[APIClient, Any], patient: Patient
) -> None:
    client, device = kiosk

    response = lookup(client, citizen_id="001085999999")

    assert_error(response, 404, "patient_not_found")
    audit = LookupAudit.objects.get()
    assert (audit.device_id, audit.identifier_kind, audit.patient, audit.found) == (
        device.pk,
        "citizen_id",
        None,
        False,
    )


@pytest.mark.parametrize(
    "sent",
    [
        {},
        {"citizen_id": "001085012345", "patient_code": "BN1"},
        {"citizen_id": "", "patient_code": ""},
    ],
    ids=["none", "two", "blank"],
)
def test_a_lookup_takes_exactly_one_identifier(
    kiosk: tuple[APIClient, Any], sent: dict[str, str]
) -> None:
    before = row_counts()

    response = lookup(kiosk[0], **sent)

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("parameter_missing", "parameter_invalid")
    assert row_counts() == before


def test_a_malformed_citizen_id_is_refused_at_the_kiosk(kiosk: tuple[APIClient, Any]) -> None:
    response = lookup(kiosk[0], citizen_id="0010850123")

    assert_error(response, 400, "invalid_citizen_id", param="citizen_id")
    assert "0010850123" not in response.content.decode()


def test_lookups_are_rate_limited_per_kiosk(
    kiosk: tuple[APIClient, Any],
    device_client: Callable[[str], tuple[APIClient, Any]],
    patient: Patient,
    settings: Any,
) -> None:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "kiosk_lookup": "3/min"},
    }
    client = kiosk[0]
    for _ in range(3):
        assert lookup(client, patient_code=patient.code).status_code == 200
    audits = LookupAudit.objects.count()

    response = lookup(client, patient_code=patient.code)

    error = assert_error(response, 429, "rate_limited")
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 61
    assert error["detail"] == {"retry_after_seconds": retry_after}
    assert LookupAudit.objects.count() == audits
    # Another kiosk, maybe behind the same NAT, is not held back.
    assert lookup(device_client(DeviceKind.KIOSK)[0], patient_code=patient.code).status_code == 200


def test_every_lookup_is_audited_and_logged_without_the_identifier(
    kiosk: tuple[APIClient, Any],
    patient: Patient,
    citizen_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, device = kiosk
    caplog.set_level(logging.DEBUG)

    lookup(client, citizen_id=citizen_id)
    lookup(client, insurance_number=CARD)
    lookup(client, citizen_id="001085999999")

    audits = LookupAudit.objects.order_by("id")
    assert [(a.device_id, a.identifier_kind, a.patient_id, a.found) for a in audits] == [
        (device.pk, "citizen_id", patient.pk, True),
        (device.pk, "insurance_number", patient.pk, True),
        (device.pk, "citizen_id", None, False),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM billing_lookupaudit")
        rows = cursor.fetchall()
    for row in rows:
        for value in row:
            for secret in (citizen_id, "001085999999", CARD, CARD[-10:]):
                assert secret not in str(value)
    assert any("kiosk lookup" in record.getMessage() for record in caplog.records)
    for record in caplog.records:
        message = record.getMessage()
        for secret in (citizen_id, "001085999999", CARD, CARD[-10:], patient.full_name):
            assert secret not in message, record.name


@pytest.mark.parametrize(
    "caller", [DeviceKind.HIS, Role.CASHIER, Role.SUPERVISOR], ids=["his", "cashier", "supervisor"]
)
def test_only_kiosks_may_look_up(
    device_client: Callable[[str], tuple[APIClient, Any]],
    staff_client: Callable[[str], APIClient],
    patient: Patient,
    caller: str,
) -> None:
    client = device_client(caller)[0] if caller in DeviceKind.values else staff_client(caller)

    assert_error(lookup(client, patient_code=patient.code), 403, "permission_denied")
    assert not LookupAudit.objects.exists()
