"""The server decides amounts (pitfall 14): what may still be paid on an invoice."""

from __future__ import annotations

from django.db.models import Sum

from billing.errors import CurrencyMismatch, InvalidAmount
from billing.models import OPEN_INVOICE_STATUSES, Invoice
from billing.selectors.invoices import invoice_balance
from payments.errors import AmountExceedsDue, InvoiceNotPayable, InvoicePaymentsInFlight
from payments.models import ACTIVE_STATUSES, Payment


def invoice_payable_amount(*, invoice: Invoice) -> int:
    """What is due less what in-flight payments (pending, processing) have reserved.

    Call it with the invoice row locked so two payments cannot both reserve the rest."""
    reserved = (
        Payment.objects.filter(invoice=invoice, status__in=ACTIVE_STATUSES).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    return invoice_balance(invoice).amount_due - reserved


def check_invoice_amount(*, invoice: Invoice, amount: int, currency: str) -> None:
    if type(amount) is not int or amount <= 0:
        raise InvalidAmount(param="amount")
    if currency != invoice.currency:
        raise CurrencyMismatch(
            f"The invoice is in {invoice.currency}.",
            param="currency",
            detail={"invoice_currency": invoice.currency},
        )
    if invoice.status not in OPEN_INVOICE_STATUSES:
        raise InvoiceNotPayable(detail={"status": invoice.status})
    payable = invoice_payable_amount(invoice=invoice)
    if amount > payable:
        raise AmountExceedsDue(
            f"At most {payable} {invoice.currency} can be paid now.",
            param="amount",
            detail={"payable": payable},
        )


def refuse_void_with_payments_in_flight(invoice: Invoice) -> None:
    """A void guard (see ``billing.services.invoices.VOID_GUARDS``), run under the invoice's
    row lock — the lock every new payment of the invoice takes too."""
    in_flight = list(
        Payment.objects.filter(invoice=invoice, status__in=ACTIVE_STATUSES).values_list(
            "public_id", flat=True
        )
    )
    if in_flight:
        raise InvoicePaymentsInFlight(detail={"payments": in_flight})
