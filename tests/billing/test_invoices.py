"""Invoices: gap-free numbers, the split snapshot, status from what the books say is due,
and voiding by reversal. After every operation the invoice agrees with its balance
(the balance is read from the ledger)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from billing.chart import (
    INSURANCE_RECEIVABLE,
    PATIENT_RECEIVABLE,
    PHARMACY_REVENUE,
    SERVICE_REVENUE,
    AccountRole,
    account_for,
)
from billing.errors import UnknownAccount
from billing.models import (
    Account,
    Charge,
    Encounter,
    Invoice,
    InvoiceStatus,
    JournalEntry,
    ServiceCategory,
    VatRate,
)
from billing.models.invoices import new_invoice_id
from billing.services.invoices import invoice_issue
from config.identity.models import Role
from tests.assertions import assert_error, assert_invoice_agrees_with_books, balance, row_counts
from tests.billing.builders import (
    HANOI,
    charges_post,
    encounter_new,
    patient_with_coverage,
    payment_post,
    price_item,
)

pytestmark = pytest.mark.django_db


def billed_encounter(*prices: int, benefit_level: int | None = 80) -> Encounter:
    encounter = encounter_new(patient=patient_with_coverage(benefit_level=benefit_level))
    charges_post(encounter, *((price_item(price=price), 1) for price in prices))
    return encounter


def issue(*prices: int, benefit_level: int | None = 80) -> Invoice:
    return invoice_issue(
        encounter=billed_encounter(*prices, benefit_level=benefit_level), issued_by="test"
    )


def void(supervisor: APIClient, invoice: Invoice, reason: str = "lập sai") -> Any:
    return supervisor.post(
        f"/api/v1/invoices/{invoice.public_id}/void", {"reason": reason}, format="json"
    )


# --- numbering -----------------------------------------------------------------------------


def test_invoice_numbers_are_gap_free_per_series_and_year(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, third = (issue(500_000) for _ in range(3))
    with override_settings(INVOICE_SERIES="KB"):
        other_series = issue(500_000)
    new_year = datetime(2027, 1, 1, 0, 5, tzinfo=HANOI)
    monkeypatch.setattr("django.utils.timezone.now", lambda: new_year)
    next_year = issue(500_000)

    assert [(i.series, i.year, i.number) for i in (first, second, third)] == [
        ("HD", 2026, 1),
        ("HD", 2026, 2),
        ("HD", 2026, 3),
    ]
    assert (other_series.series, other_series.year, other_series.number) == ("KB", 2026, 1)
    assert (next_year.series, next_year.year, next_year.number) == ("HD", 2027, 1)
    assert first.display_number == "HD26-0000001"
    assert next_year.display_number == "HD27-0000001"


def test_an_issue_that_fails_does_not_use_up_a_number() -> None:
    first = issue(500_000)
    failing = billed_encounter(300_000)
    Account.objects.filter(code=SERVICE_REVENUE).update(is_active=False)
    with pytest.raises(UnknownAccount):
        invoice_issue(encounter=failing, issued_by="test")
    assert not Invoice.objects.filter(encounter=failing).exists()
    assert not Charge.objects.filter(encounter=failing, invoice__isnull=False).exists()
    Account.objects.filter(code=SERVICE_REVENUE).update(is_active=True)

    second = invoice_issue(encounter=failing, issued_by="test")

    assert (first.number, second.number) == (1, 2)


def test_issuing_with_nothing_to_bill_is_refused(his: APIClient) -> None:
    encounter = encounter_new()
    before = row_counts()

    response = his.post(f"/api/v1/encounters/{encounter.pk}/invoices")

    assert_error(response, 409, "nothing_to_bill")
    assert row_counts() == before


def test_a_second_issue_bills_only_charges_added_since_the_first(his: APIClient) -> None:
    encounter = billed_encounter(400_000)
    first = invoice_issue(encounter=encounter, issued_by="test")
    charges_post(encounter, (price_item(price=600_000), 1))

    response = his.post(f"/api/v1/encounters/{encounter.pk}/invoices")

    assert response.status_code == 201, response.content
    body = response.json()
    assert [line["amount"] for line in body["lines"]] == [600_000]
    assert body["number"] == f"HD26-{first.number + 1:07d}"
    assert_error(his.post(f"/api/v1/encounters/{encounter.pk}/invoices"), 409, "nothing_to_bill")


# --- what an invoice holds and posts -------------------------------------------------------


def test_an_invoice_snapshots_its_lines_with_the_split_and_posts_receivables(
    cashier: APIClient,
) -> None:
    encounter = encounter_new(patient=patient_with_coverage(benefit_level=80))
    exam = price_item(price=700_000, insurance_price=500_000)
    drug = price_item(
        price=105_000, insurance_price=None, category=ServiceCategory.DRUG, vat_rate=VatRate.FIVE
    )
    charges_post(encounter, (exam, 1), (drug, 2))

    invoice = invoice_issue(encounter=encounter, issued_by="test")

    exam_line, drug_line = invoice.lines.all()
    assert (exam_line.amount, exam_line.insurance_share, exam_line.patient_share) == (
        700_000,
        400_000,
        300_000,
    )
    assert (drug_line.amount, drug_line.insurance_share, drug_line.patient_share) == (
        210_000,
        0,
        210_000,
    )
    assert (drug_line.vat_rate, drug_line.vat_amount) == (VatRate.FIVE, 10_000)
    assert (exam_line.vat_rate, exam_line.vat_amount) == (VatRate.KCT, 0)
    assert (invoice.total, invoice.insurance_share, invoice.patient_share) == (
        910_000,
        400_000,
        510_000,
    )
    entry = JournalEntry.objects.get(posting_key=invoice.issue_posting_key)
    posted = {
        (line.account.code, line.debit, line.credit)
        for line in entry.lines.select_related("account")
    }
    assert posted == {
        (PATIENT_RECEIVABLE, 510_000, 0),
        (INSURANCE_RECEIVABLE, 400_000, 0),
        (SERVICE_REVENUE, 0, 700_000),
        (PHARMACY_REVENUE, 0, 200_000),
        (account_for(AccountRole.OUTPUT_VAT, rate="5"), 0, 10_000),
    }
    # The accountant files it under the invoice, each receivable with its customer.
    assert (entry.voucher_type, entry.voucher_number, entry.recorded_by) == (
        "HD",
        invoice.display_number,
        "test",
    )
    counterparties = {line.account.code: line.counterparty for line in entry.lines.all()}
    assert counterparties[PATIENT_RECEIVABLE] == encounter.patient.code
    assert counterparties[INSURANCE_RECEIVABLE] == "BHXH"
    assert_invoice_agrees_with_books(invoice, staff=cashier)


def test_an_invoice_the_fund_covers_in_full_owes_the_patient_nothing(cashier: APIClient) -> None:
    invoice = issue(300_000, 200_000, benefit_level=100)

    assert (invoice.insurance_share, invoice.patient_share, invoice.status) == (
        500_000,
        0,
        InvoiceStatus.PAID,
    )
    assert_invoice_agrees_with_books(invoice, staff=cashier)


# --- status from payments ------------------------------------------------------------------


def test_an_invoice_goes_from_issued_to_partially_paid_to_paid_as_payments_arrive(
    cashier: APIClient,
) -> None:
    invoice = issue(1_000_000, 555_555)  # patient share 200,000 + 111,111
    assert (invoice.patient_share, invoice.status) == (311_111, InvoiceStatus.ISSUED)
    assert_invoice_agrees_with_books(invoice, staff=cashier)

    invoice = payment_post(invoice, 100_000)
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert_invoice_agrees_with_books(invoice, staff=cashier)

    invoice = payment_post(invoice, 211_110)
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert balance(PATIENT_RECEIVABLE, invoice.ledger_reference) == 1
    assert_invoice_agrees_with_books(invoice, staff=cashier)

    invoice = payment_post(invoice, 1)
    assert invoice.status == InvoiceStatus.PAID
    assert balance(PATIENT_RECEIVABLE, invoice.ledger_reference) == 0
    assert_invoice_agrees_with_books(invoice, staff=cashier)


# --- voiding -------------------------------------------------------------------------------


def test_voiding_reverses_the_entries_and_makes_the_charges_billable_again(
    cashier: APIClient, supervisor: APIClient
) -> None:
    encounter = billed_encounter(1_000_000, 250_000)
    invoice = invoice_issue(encounter=encounter, issued_by="test")
    assert_invoice_agrees_with_books(invoice, staff=cashier)

    response = void(supervisor, invoice)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["amount_due"], body["amount_paid"]) == (InvoiceStatus.VOID, 0, 0)
    issue_entry = JournalEntry.objects.get(posting_key=invoice.issue_posting_key)
    reversal = JournalEntry.objects.get(reverses=issue_entry)
    assert sorted(
        (line.account.code, line.debit, line.credit) for line in reversal.lines.all()
    ) == sorted((line.account.code, line.credit, line.debit) for line in issue_entry.lines.all())
    assert not Charge.objects.filter(encounter=encounter, invoice__isnull=False).exists()
    assert_invoice_agrees_with_books(invoice, staff=cashier)

    reissued = invoice_issue(encounter=encounter, issued_by="test")

    assert reissued.number == invoice.number + 1
    assert sorted(line.charge.pk for line in reissued.lines.all() if line.charge) == sorted(
        line.charge.pk for line in Invoice.objects.get(pk=invoice.pk).lines.all() if line.charge
    )
    assert (reissued.total, reissued.patient_share) == (invoice.total, invoice.patient_share)
    assert_invoice_agrees_with_books(invoice, staff=cashier)
    assert_invoice_agrees_with_books(reissued, staff=cashier)

    reissued = payment_post(reissued, reissued.patient_share)
    assert_invoice_agrees_with_books(reissued, staff=cashier)


@pytest.mark.parametrize("paid", [1, 200_000], ids=["partially-paid", "paid"])
def test_voiding_an_invoice_with_payments_on_it_is_refused(
    cashier: APIClient, supervisor: APIClient, paid: int
) -> None:
    invoice = payment_post(issue(1_000_000), paid)
    before = row_counts()

    response = void(supervisor, invoice)

    error = assert_error(response, 409, "invoice_has_payments")
    assert error["detail"] == {"amount_paid": paid}
    assert row_counts() == before
    assert_invoice_agrees_with_books(invoice, staff=cashier)


def test_an_invoice_cannot_be_voided_twice(supervisor: APIClient) -> None:
    invoice = issue(500_000)
    void(supervisor, invoice)
    before = row_counts()

    assert_error(void(supervisor, invoice), 409, "invoice_already_void")
    assert row_counts() == before


def test_voiding_needs_a_supervisor(
    cashier: APIClient, his: APIClient, staff_client: Callable[[str], APIClient]
) -> None:
    invoice = issue(500_000)
    before = row_counts()

    for caller in (cashier, his, staff_client(Role.FINANCE)):
        assert_error(void(caller, invoice), 403, "permission_denied")

    assert row_counts() == before
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.ISSUED


def test_a_void_needs_a_reason(supervisor: APIClient) -> None:
    invoice = issue(500_000)

    response = supervisor.post(f"/api/v1/invoices/{invoice.public_id}/void", {}, format="json")

    assert_error(response, 400, "parameter_missing", param="reason")
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.ISSUED


# --- reading -------------------------------------------------------------------------------


def test_staff_list_a_patients_invoices_by_status(
    cashier: APIClient, supervisor: APIClient
) -> None:
    patient = patient_with_coverage(benefit_level=80)
    invoices = []
    for price in (1_000_000, 2_000_000, 3_000_000):
        encounter = encounter_new(patient=patient)
        charges_post(encounter, (price_item(price=price), 1))
        invoices.append(invoice_issue(encounter=encounter, issued_by="test"))
    issue(4_000_000)  # another patient's
    payment_post(invoices[1], 100_000)
    void(supervisor, invoices[2])

    everything = cashier.get(f"/api/v1/invoices?patient={patient.pk}").json()
    partly = cashier.get(f"/api/v1/invoices?patient={patient.pk}&status=partially_paid").json()

    assert sorted(i["id"] for i in everything) == sorted(i.public_id for i in invoices)
    assert [(i["id"], i["amount_due"], i["amount_paid"]) for i in partly] == [
        (invoices[1].public_id, 300_000, 100_000)
    ]
    assert_error(
        cashier.get("/api/v1/invoices?status=settled"), 400, "parameter_invalid", param="status"
    )
    assert_error(cashier.get(f"/api/v1/invoices/{new_invoice_id()}"), 404, "not_found", param="id")
