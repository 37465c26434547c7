"""Advance deposits (tạm ứng) and discharge: an advance is a liability to the
patient until discharge applies it; what is left over is owed back; voiding an invoice that
an advance paid gives the advance back."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.chart import DEPOSIT_LIABILITY, MAIN_CASH, REFUND_OWED
from billing.errors import InvalidAmount
from billing.models import Encounter, EncounterKind, EncounterStatus, Invoice, InvoiceStatus
from billing.money import Money
from billing.selectors.invoices import deposit_balance, patient_deposit_balance, refund_owed
from billing.services.deposits import deposit_receive, encounter_discharge
from billing.services.encounters import EncounterClosed
from billing.services.invoices import invoice_issue
from tests.assertions import assert_error, assert_invoice_agrees_with_books, balance, row_counts
from tests.billing.builders import charges_post, encounter_new, patient_with_coverage, price_item

pytestmark = pytest.mark.django_db

_source = iter(range(1, 1_000_000))


def deposit(encounter: Encounter, amount: int, source_id: str | None = None) -> None:
    deposit_receive(
        encounter=encounter,
        amount=Money(amount, "VND"),
        debit_account=MAIN_CASH,
        received_by="thu ngân 1",
        source_type="test",
        source_id=source_id or f"adv-{next(_source)}",
    )


def inpatient_stay(*prices: int, benefit_level: int = 80) -> Encounter:
    """An inpatient stay with one charge per price (80 % card: the patient owes 20 %)."""
    encounter = encounter_new(
        patient=patient_with_coverage(benefit_level=benefit_level), kind=EncounterKind.INPATIENT
    )
    charges_post(encounter, *((price_item(price=price), 1) for price in prices))
    return encounter


def discharge(his: APIClient, encounter: Encounter) -> dict[str, Any]:
    response = his.post(f"/api/v1/encounters/{encounter.pk}/discharge")
    assert response.status_code == 200, response.content
    return response.json()


def test_deposit_balances_are_kept_per_encounter_and_per_patient() -> None:
    patient = patient_with_coverage()
    stay = encounter_new(patient=patient, kind=EncounterKind.INPATIENT)
    visit = encounter_new(patient=patient)
    someone_else = encounter_new(kind=EncounterKind.INPATIENT)

    deposit(stay, 1_000_000)
    deposit(stay, 200_000)
    deposit(visit, 500_000)
    deposit(someone_else, 3_000_000)

    assert deposit_balance(encounter=stay) == 1_200_000
    assert deposit_balance(encounter=visit) == 500_000
    assert patient_deposit_balance(patient=patient) == 1_700_000
    assert -balance(DEPOSIT_LIABILITY, stay.ledger_reference) == 1_200_000


def test_a_deposit_is_held_not_applied_before_discharge(cashier: APIClient) -> None:
    encounter = inpatient_stay(5_000_000)
    deposit(encounter, 2_000_000)

    invoice = invoice_issue(encounter=encounter, issued_by="test")

    assert invoice.status == InvoiceStatus.ISSUED
    assert deposit_balance(encounter=encounter) == 2_000_000
    assert_invoice_agrees_with_books(invoice, staff=cashier)


def test_a_deposit_is_recorded_once_per_source() -> None:
    encounter = inpatient_stay(5_000_000)
    deposit(encounter, 2_000_000, source_id="pay_42")
    before = row_counts()

    deposit(encounter, 2_000_000, source_id="pay_42")

    assert row_counts() == before
    assert deposit_balance(encounter=encounter) == 2_000_000


@pytest.mark.parametrize("amount", [0, -500_000])
def test_a_deposit_must_be_positive(amount: int) -> None:
    encounter = inpatient_stay(5_000_000)
    before = row_counts()

    with pytest.raises(InvalidAmount):
        deposit(encounter, amount)

    assert row_counts() == before


def test_no_deposit_is_taken_for_a_discharged_encounter() -> None:
    encounter = inpatient_stay(5_000_000)
    encounter_discharge(encounter=encounter, by="test")
    before = row_counts()

    with pytest.raises(EncounterClosed):
        deposit(encounter, 1_000_000)

    assert row_counts() == before


def test_deposits_short_of_the_patient_share_leave_an_amount_due(
    his: APIClient, cashier: APIClient
) -> None:
    encounter = inpatient_stay(3_000_000, 2_000_000)  # patient share 1,000,000
    deposit(encounter, 300_000)
    deposit(encounter, 300_000)

    body = discharge(his, encounter)

    assert (
        body["deposits_applied"],
        body["amount_due"],
        body["refund_owed"],
        body["deposit_balance"],
    ) == (
        600_000,
        400_000,
        0,
        0,
    )
    assert body["encounter"]["status"] == EncounterStatus.CLOSED
    [invoice] = Invoice.objects.filter(encounter=encounter)
    assert (invoice.patient_share, invoice.status) == (1_000_000, InvoiceStatus.PARTIALLY_PAID)
    assert body["invoices"][0]["amount_due"] == 400_000
    assert refund_owed(encounter=encounter) == 0
    assert_invoice_agrees_with_books(invoice, staff=cashier)


def test_deposits_over_the_patient_share_leave_a_refund_owed(
    his: APIClient, cashier: APIClient
) -> None:
    encounter = inpatient_stay(5_000_000)  # patient share 1,000,000
    deposit(encounter, 1_500_000)

    body = discharge(his, encounter)

    assert (
        body["deposits_applied"],
        body["amount_due"],
        body["refund_owed"],
        body["deposit_balance"],
    ) == (
        1_000_000,
        0,
        500_000,
        0,
    )
    [invoice] = Invoice.objects.filter(encounter=encounter)
    assert invoice.status == InvoiceStatus.PAID
    assert -balance(REFUND_OWED, encounter.ledger_reference) == 500_000
    assert -balance(DEPOSIT_LIABILITY, encounter.ledger_reference) == 0
    assert_invoice_agrees_with_books(invoice, staff=cashier)


def test_discharge_applies_deposits_to_the_oldest_invoice_first(
    his: APIClient, cashier: APIClient
) -> None:
    encounter = inpatient_stay(1_000_000)  # patient share 200,000, billed mid-stay
    first = invoice_issue(encounter=encounter, issued_by="test")
    charges_post(encounter, (price_item(price=1_500_000), 1))  # 300,000 more at discharge
    deposit(encounter, 400_000)

    body = discharge(his, encounter)

    first_body, last_body = body["invoices"]
    assert first_body["id"] == first.public_id
    assert (first_body["status"], first_body["amount_due"]) == (InvoiceStatus.PAID, 0)
    assert (last_body["status"], last_body["amount_due"]) == (InvoiceStatus.PARTIALLY_PAID, 100_000)
    assert (body["deposits_applied"], body["amount_due"], body["refund_owed"]) == (
        400_000,
        100_000,
        0,
    )
    for invoice in Invoice.objects.filter(encounter=encounter):
        assert_invoice_agrees_with_books(invoice, staff=cashier)


def test_discharge_with_nothing_billed_owes_the_whole_deposit_back(his: APIClient) -> None:
    encounter = encounter_new(kind=EncounterKind.INPATIENT)
    deposit(encounter, 700_000)

    body = discharge(his, encounter)

    assert (body["invoices"], body["amount_due"], body["refund_owed"], body["deposit_balance"]) == (
        [],
        0,
        700_000,
        0,
    )


def test_an_encounter_is_discharged_once(his: APIClient) -> None:
    encounter = inpatient_stay(1_000_000)
    deposit(encounter, 100_000)
    discharge(his, encounter)
    before = row_counts()

    response = his.post(f"/api/v1/encounters/{encounter.pk}/discharge")

    assert_error(response, 409, "encounter_closed")
    assert row_counts() == before


@pytest.mark.parametrize(
    ("advance", "applied", "refund"),
    [(600_000, 600_000, 0), (1_500_000, 1_000_000, 500_000)],
    ids=["deposit-short-of-the-share", "deposit-over-the-share"],
)
def test_voiding_an_invoice_paid_from_a_deposit_gives_the_deposit_back(
    his: APIClient,
    cashier: APIClient,
    supervisor: APIClient,
    advance: int,
    applied: int,
    refund: int,
) -> None:
    encounter = inpatient_stay(5_000_000)  # patient share 1,000,000
    deposit(encounter, advance)
    discharge(his, encounter)
    [invoice] = Invoice.objects.filter(encounter=encounter)
    assert deposit_balance(encounter=encounter) == 0
    assert_invoice_agrees_with_books(invoice, staff=cashier)

    response = supervisor.post(
        f"/api/v1/invoices/{invoice.public_id}/void", {"reason": "hủy hóa đơn"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == InvoiceStatus.VOID
    assert deposit_balance(encounter=encounter) == applied
    assert patient_deposit_balance(patient=encounter.patient) == applied
    assert refund_owed(encounter=encounter) == refund
    # Everything the patient advanced is again the patient's: held, or owed back.
    assert deposit_balance(encounter=encounter) + refund_owed(encounter=encounter) == advance
    assert_invoice_agrees_with_books(invoice, staff=cashier)
