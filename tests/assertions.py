"""Assertions shared by the tests: the API's error body, the books read straight from the
journal lines (never through the code under test), an invoice agreeing with its books, and
what a refused request must not have written."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum
from rest_framework.test import APIClient

from billing.chart import INSURANCE_RECEIVABLE, PATIENT_RECEIVABLE
from billing.insurance import SplitInput, rules_for_visit, split
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
        if line.is_adjustment:  # moves a share between the fund and the patient
            assert line.amount == 0
        else:
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
        response = staff.get(f"/api/v1/invoices/{invoice.public_id}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == invoice.status
        assert body["amount_due"] == due
        # A void invoice, or a give-back (negative share), has nothing paid on it.
        nothing_paid = invoice.status == InvoiceStatus.VOID or invoice.patient_share < 0
        paid = 0 if nothing_paid else invoice.patient_share - due
        assert body["amount_paid"] == paid
        assert (body["total"], body["insurance_share"], body["patient_share"]) == (
            invoice.total,
            invoice.insurance_share,
            invoice.patient_share,
        )


def assert_visit_adds_up_to_one_bill(encounter: Encounter) -> None:
    """Across the visit's invoices that are not void, the fund's and the patient's totals are
    the split of the visit's billed charges as one bill, and so are their receivables in the
    ledger. Every invoice also agrees with its own books."""
    invoices = list(Invoice.objects.filter(encounter=encounter).exclude(status=InvoiceStatus.VOID))
    lines = list(
        InvoiceLine.objects.filter(invoice__in=invoices, charge__isnull=False)
        .select_related("charge")
        .order_by("invoice_id", "id")
    )
    assert sorted(line.charge.pk for line in lines if line.charge) == sorted(
        Charge.objects.filter(encounter=encounter, invoice__isnull=False).values_list(
            "pk", flat=True
        )
    ), "every billed charge is on exactly one invoice that is not void"
    rules = rules_for_visit(encounter=encounter)
    one_bill = split(
        [
            SplitInput(x.quantity, x.unit_price, x.charge.insurance_unit_price, x.charge.on_demand)
            for x in lines
            if x.charge is not None
        ],
        rules,
    )
    fund = sum(s.insurance for s in one_bill)
    patient = sum(s.patient for s in one_bill)
    assert sum(i.insurance_share for i in invoices) == fund
    assert sum(i.patient_share for i in invoices) == patient
    every = Invoice.objects.filter(encounter=encounter)  # a void one nets to zero
    assert sum(balance(INSURANCE_RECEIVABLE, i.ledger_reference) for i in every) == fund
    paid = sum(i.patient_share - invoice_balance(i).amount_due for i in invoices)
    assert sum(balance(PATIENT_RECEIVABLE, i.ledger_reference) for i in every) == patient - paid
    for invoice in every:
        assert_invoice_agrees_with_books(invoice)


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
