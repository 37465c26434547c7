"""Assertions shared by the tests: the API's error body, the books read straight from the
journal lines (never through the code under test), an invoice agreeing with its books, and
what a refused request must not have written."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum
from rest_framework.test import APIClient

from billing.chart import INSURANCE_RECEIVABLE, PATIENT_RECEIVABLE
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
from billing.selectors.ledger import trial_balance


def assert_error(response: Any, status: int, code: str, param: str | None = None) -> dict:
    """The response is ``status`` with ``{"error": {"code", "message", "param"?, "detail"?}}``
    and nothing else; returns the inner ``error`` object."""
    assert response.status_code == status, getattr(response, "content", response)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "param", "detail"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error.get("param") == param
    return error


def balance(account_code: str, reference: str | None = None) -> int:
    """Debits minus credits on an account (optionally on one sub-ledger ``reference``, such
    as ``invoice.ledger_reference``), summed straight from the journal lines."""
    lines = JournalLine.objects.filter(account__code=account_code)
    if reference is not None:
        lines = lines.filter(reference=reference)
    totals = lines.aggregate(debit=Sum("debit"), credit=Sum("credit"))
    return (totals["debit"] or 0) - (totals["credit"] or 0)


def assert_trial_balance_balanced() -> None:
    rows = trial_balance()
    assert sum(row.debit_total for row in rows) == sum(row.credit_total for row in rows)


def assert_invoice_agrees_with_books(invoice: Invoice, *, staff: APIClient | None = None) -> None:
    """Amount due == the patient receivable of the invoice; the fund's receivable == its
    share; total == insurance share + patient share, line by line and in sum; the status
    follows from what is due. With ``staff``, the API shows the same figures. (Every figure
    is derived from the ledger, so no two places may disagree.)"""
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

    due = balance(PATIENT_RECEIVABLE, invoice.ledger_reference)
    assert invoice_balance(invoice).amount_due == due
    if invoice.status == InvoiceStatus.VOID:
        assert due == 0
        assert balance(INSURANCE_RECEIVABLE, invoice.ledger_reference) == 0
    else:
        assert balance(INSURANCE_RECEIVABLE, invoice.ledger_reference) == invoice.insurance_share
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
