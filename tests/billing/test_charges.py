"""Charges the HIS posts: priced by the server from the price list in force at the time of
service, all or none per batch, idempotent per HIS reference, voided only by a reversal."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import Charge, ChargeStatus, Encounter
from billing.services.deposits import encounter_discharge
from billing.services.invoices import invoice_issue
from tests.assertions import assert_error, row_counts
from tests.billing.builders import charges_post, encounter_new, price_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def encounter() -> Encounter:
    return encounter_new()


def post_charges(his: APIClient, encounter: Encounter, *charges: dict[str, Any]) -> Any:
    return his.post(
        f"/api/v1/encounters/{encounter.pk}/charges", {"charges": list(charges)}, format="json"
    )


def test_a_charge_is_priced_from_the_price_list_in_force_at_the_time_of_service(
    his: APIClient, encounter: Encounter
) -> None:
    old = price_item(
        service_code="XN-CTM",
        price=100_000,
        insurance_price=90_000,
        effective_from=date(2025, 1, 1),
        effective_to=date(2026, 1, 1),
    )
    new = price_item(
        service_code="XN-CTM",
        price=120_000,
        insurance_price=110_000,
        effective_from=date(2026, 1, 1),
    )

    response = post_charges(
        his,
        encounter,
        {"service_code": "XN-CTM", "quantity": 2, "service_at": "2025-12-31T23:30:00+07:00"},
        # 17:30 UTC on 31 December is 00:30 on 1 January in Hà Nội: the new price.
        {"service_code": "XN-CTM", "quantity": 1, "service_at": "2025-12-31T17:30:00Z"},
    )

    assert response.status_code == 201, response.content
    first, second = response.json()
    assert (first["unit_price"], first["insurance_unit_price"], first["amount"]) == (
        100_000,
        90_000,
        200_000,
    )
    assert (second["unit_price"], second["insurance_unit_price"], second["amount"]) == (
        120_000,
        110_000,
        120_000,
    )
    assert [c.price_item_id for c in Charge.objects.order_by("id")] == [old.pk, new.pk]


def test_a_service_without_a_price_on_the_day_is_refused(
    his: APIClient, encounter: Encounter
) -> None:
    price_item(service_code="CĐHA-01", effective_from=date(2026, 1, 1))
    before = row_counts()

    response = post_charges(
        his,
        encounter,
        {"service_code": "CĐHA-01", "quantity": 1, "service_at": "2025-06-01T10:00:00+07:00"},
    )

    assert_error(response, 400, "no_price_in_force", param="charges[0].service_code")
    assert row_counts() == before


def test_the_client_cannot_set_the_price_of_a_charge(his: APIClient, encounter: Encounter) -> None:
    item = price_item(price=250_000, insurance_price=200_000)

    response = post_charges(
        his,
        encounter,
        {
            "service_code": item.service_code,
            "quantity": 2,
            "unit_price": 1,
            "insurance_unit_price": 1,
            "amount": 2,
            "on_demand": True,
        },
    )

    assert response.status_code == 201, response.content
    charge = Charge.objects.get()
    assert (charge.unit_price, charge.insurance_unit_price, charge.amount, charge.on_demand) == (
        250_000,
        200_000,
        500_000,
        False,
    )
    invoice = his.post(f"/api/v1/encounters/{encounter.pk}/invoices", {"total": 1}, format="json")
    assert invoice.json()["total"] == 500_000


@pytest.mark.parametrize(
    ("bad_item", "code", "param"),
    [
        (
            {"service_code": "KHONG-CO", "quantity": 1},
            "unknown_service_code",
            "charges[2].service_code",
        ),
        ({"quantity": 0}, "invalid_quantity", "charges[2].quantity"),
        ({"quantity": -3}, "invalid_quantity", "charges[2].quantity"),
        ({"quantity": "two"}, "parameter_invalid", "charges[2].quantity"),
        ({"service_code": None}, "parameter_missing", "charges[2].service_code"),
    ],
    ids=["unknown-service-code", "zero-quantity", "negative-quantity", "text", "null-code"],
)
def test_a_batch_whose_third_charge_is_bad_writes_none_of_them(
    his: APIClient, encounter: Encounter, bad_item: dict[str, Any], code: str, param: str
) -> None:
    item = price_item()
    good = {"service_code": item.service_code, "quantity": 1}
    before = row_counts()

    response = post_charges(
        his,
        encounter,
        {**good, "his_reference": "CD-1"},
        {**good, "his_reference": "CD-2"},
        {**good, "his_reference": "CD-3", **bad_item},
        {**good, "his_reference": "CD-4"},
    )

    assert_error(response, 400, code, param=param)
    assert row_counts() == before


def test_charges_on_a_discharged_encounter_are_refused(
    his: APIClient, encounter: Encounter
) -> None:
    item = price_item()
    encounter_discharge(encounter=encounter, by="test")
    before = row_counts()

    response = post_charges(his, encounter, {"service_code": item.service_code, "quantity": 1})

    assert_error(response, 409, "encounter_closed")
    assert row_counts() == before


def test_voiding_a_charge_adds_a_reversal_and_the_charge_is_not_billed(
    his: APIClient, encounter: Encounter
) -> None:
    kept, voided = charges_post(
        encounter, (price_item(price=100_000), 1), (price_item(price=70_000), 3)
    )

    response = his.post(
        f"/api/v1/charges/{voided.pk}/void", {"reason": "chỉ định nhầm"}, format="json"
    )

    assert response.status_code == 201, response.content
    reversal = response.json()
    assert (reversal["status"], reversal["quantity"], reversal["reverses_id"]) == (
        ChargeStatus.REVERSAL,
        -3,
        voided.pk,
    )
    assert reversal["amount"] == -210_000
    voided.refresh_from_db()
    assert voided.status == ChargeStatus.VOIDED
    invoice = invoice_issue(encounter=encounter, issued_by="test")
    assert [line.charge_id for line in invoice.lines.all()] == [kept.pk]
    assert invoice.total == 100_000


def test_a_charge_cannot_be_voided_twice(his: APIClient, encounter: Encounter) -> None:
    [charge] = charges_post(encounter, (price_item(), 1))
    his.post(f"/api/v1/charges/{charge.pk}/void", {}, format="json")
    before = row_counts()

    response = his.post(f"/api/v1/charges/{charge.pk}/void", {}, format="json")

    assert_error(response, 409, "charge_already_voided")
    assert row_counts() == before


def test_voiding_an_invoiced_charge_is_refused(his: APIClient, encounter: Encounter) -> None:
    [charge] = charges_post(encounter, (price_item(), 1))
    invoice = invoice_issue(encounter=encounter, issued_by="test")
    before = row_counts()

    response = his.post(f"/api/v1/charges/{charge.pk}/void", {}, format="json")

    error = assert_error(response, 409, "charge_already_invoiced")
    assert error["detail"] == {"invoice_id": invoice.public_id}
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.ACTIVE
    assert row_counts() == before


def test_a_retried_charge_push_with_the_same_references_changes_nothing(
    his: APIClient, encounter: Encounter
) -> None:
    item = price_item()
    batch = [
        {"service_code": item.service_code, "quantity": 1, "his_reference": "CD-100"},
        {"service_code": item.service_code, "quantity": 2, "his_reference": "CD-101"},
    ]
    first = post_charges(his, encounter, *batch)
    before = row_counts()

    retried = post_charges(his, encounter, *batch)

    assert retried.status_code == first.status_code == 201
    assert retried.json() == first.json()
    assert row_counts() == before
    invoice = invoice_issue(encounter=encounter, issued_by="test")
    assert invoice.lines.count() == 2


def test_a_reused_charge_reference_with_other_content_is_refused(
    his: APIClient, encounter: Encounter
) -> None:
    item = price_item()
    post_charges(
        his, encounter, {"service_code": item.service_code, "quantity": 1, "his_reference": "CD-7"}
    )
    before = row_counts()

    response = post_charges(
        his, encounter, {"service_code": item.service_code, "quantity": 5, "his_reference": "CD-7"}
    )

    assert_error(response, 409, "charge_reference_conflict", param="charges[0].his_reference")
    assert row_counts() == before


def test_a_charge_reference_is_not_reused_on_another_encounter(
    his: APIClient, encounter: Encounter
) -> None:
    item = price_item()
    post_charges(
        his, encounter, {"service_code": item.service_code, "quantity": 1, "his_reference": "CD-8"}
    )
    other = encounter_new()

    response = post_charges(
        his, other, {"service_code": item.service_code, "quantity": 1, "his_reference": "CD-8"}
    )

    assert_error(response, 409, "charge_reference_conflict", param="charges[0].his_reference")
    assert not Charge.objects.filter(encounter=other).exists()


@pytest.mark.parametrize("quantity", [10_001, 2**31, 10**20])
def test_an_absurd_quantity_is_refused_not_a_server_error(
    his: APIClient, encounter: Encounter, quantity: int
) -> None:
    item = price_item()
    before = row_counts()

    response = post_charges(
        his, encounter, {"service_code": item.service_code, "quantity": quantity}
    )

    assert_error(response, 400, "invalid_quantity", param="charges[0].quantity")
    assert row_counts() == before
