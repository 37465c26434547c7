"""The server decides amounts, never the client: a payment of an invoice may not exceed what is
still payable (``payments.selectors.payments.invoice_payable_amount``)."""

from __future__ import annotations

from billing.errors import CurrencyMismatch
from billing.models import OPEN_INVOICE_STATUSES, Invoice
from billing.money import positive_amount
from payments.errors import AmountExceedsDue, InvoiceNotPayable, InvoicePaymentsInFlight
from payments.selectors.payments import invoice_payable_amount, payment_ids_in_flight


def check_invoice_amount(*, invoice: Invoice, amount: int, currency: str) -> None:
    positive_amount(amount)
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
    in_flight = payment_ids_in_flight(invoice=invoice)
    if in_flight:
        raise InvoicePaymentsInFlight(detail={"payments": in_flight})
