"""Checks the billing scenarios make: after every operation an invoice says exactly what
its sub-ledger says and its shares add up (pitfall 15); a refused request wrote nothing."""

from __future__ import annotations

from django.db.models import Sum
from rest_framework.test import APIClient

from billing.models import (
    Charge,
    Deposit,
    DocumentSequence,
    Encounter,
    InsuranceCoverage,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    JournalEntry,
    JournalLine,
    LookupAudit,
    Patient,
)
from billing.selectors.invoices import invoice_balance


def receivable(account_code: str, invoice: Invoice) -> int:
    """Debits minus credits on ``account_code`` for the invoice, summed straight from the
    journal lines (not through the code under test)."""
    totals = JournalLine.objects.filter(
        account__code=account_code, reference=invoice.ledger_reference
    ).aggregate(debit=Sum("debit"), credit=Sum("credit"))
    return (totals["debit"] or 0) - (totals["credit"] or 0)


def assert_invoice_agrees_with_books(invoice: Invoice, *, staff: APIClient | None = None) -> None:
    """Amount due == the patient receivable of the invoice; the fund's receivable == its
    share; total == insurance share + patient share, line by line and in sum; the status
    follows from what is due. With ``staff``, the API shows the same figures."""
    invoice = Invoice.objects.get(pk=invoice.pk)
    lines = list(invoice.lines.all())
    assert lines, "an invoice always has lines"
    for line in lines:
        assert line.amount == line.insurance_share + line.patient_share
        assert line.insurance_share >= 0
        assert line.patient_share >= 0
    assert invoice.total == invoice.insurance_share + invoice.patient_share
    assert invoice.total == sum(line.amount for line in lines)
    assert invoice.insurance_share == sum(line.insurance_share for line in lines)
    assert invoice.patient_share == sum(line.patient_share for line in lines)

    due = receivable("1311", invoice)
    assert invoice_balance(invoice).amount_due == due
    if invoice.status == InvoiceStatus.VOID:
        assert due == 0
        assert receivable("1312", invoice) == 0
    else:
        assert receivable("1312", invoice) == invoice.insurance_share
        if due <= 0:
            assert invoice.status == InvoiceStatus.PAID
        elif due < invoice.patient_share:
            assert invoice.status == InvoiceStatus.PARTIALLY_PAID
        else:
            assert invoice.status == InvoiceStatus.ISSUED

    if staff is not None:
        response = staff.get(f"/api/v1/invoices/{invoice.pk}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == invoice.status
        assert body["amount_due"] == due
        paid = 0 if invoice.status == InvoiceStatus.VOID else invoice.patient_share - due
        assert body["amount_paid"] == paid
        assert (body["total"], body["insurance_share"], body["patient_share"]) == (
            invoice.total,
            invoice.insurance_share,
            invoice.patient_share,
        )


_COUNTED = (
    Patient,
    InsuranceCoverage,
    Encounter,
    Charge,
    Invoice,
    InvoiceLine,
    Deposit,
    JournalEntry,
    JournalLine,
    LookupAudit,
)


def row_counts() -> dict[str, int]:
    """Rows per billing table, and the numbers handed out so far (a refused issue must not
    burn one)."""
    counts = {model.__name__: model.objects.count() for model in _COUNTED}
    counts["numbers_issued"] = sum(s.last_number for s in DocumentSequence.objects.all())
    return counts
