"""What the pay page shows for one invoice: the bill exactly as the API gives it, the
phone's payment in flight (its QR code or card form), how the last one ended when it
brought no money, and the receipts once the invoice is paid."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from billing.identifiers import mask_name
from billing.models import EInvoice, EInvoiceStatus, Invoice, InvoiceStatus
from billing.selectors.einvoices import issued_einvoice
from billing.selectors.invoices import invoice_advances_applied
from notifications.models import Receipt
from payments.models import ACTIVE_STATUSES, Payment, PaymentChannel, PaymentStatus

ENDED_WITHOUT_MONEY = (PaymentStatus.FAILED, PaymentStatus.EXPIRED, PaymentStatus.CANCELED)


class PageState:
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


@dataclass(frozen=True)
class PayPage:
    invoice: Invoice
    bill: dict[str, Any]
    patient_name: str
    advances_applied: int
    state: str
    payment: Payment | None = None  # the phone's payment in flight
    last_ended: Payment | None = None  # the phone's latest payment that brought no money
    in_flight_elsewhere: bool = False  # a kiosk or the desk is taking a payment right now
    receipts: list[Receipt] = field(default_factory=list)
    # The invoice's e-invoice once issued (where to look it up), else None.
    einvoice: dict[str, Any] | None = None

    @property
    def fingerprint(self) -> str:
        """Changes whenever what the page shows changes (what the status poll compares)."""
        parts = [
            self.state,
            str(self.bill["amount_due"]),
            f"{self.payment.public_id}:{self.payment.status}" if self.payment else "-",
            f"{self.last_ended.public_id}:{self.last_ended.status}" if self.last_ended else "-",
            str(self.in_flight_elsewhere),
            ",".join(receipt.public_id for receipt in self.receipts),
            _einvoice_state(self.einvoice),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    @property
    def final(self) -> bool:
        """Nothing more will change: void, or paid with every receipt issued and the
        e-invoice issued with its tax authority's code (or none on its way)."""
        if self.state == PageState.VOID:
            return True
        return (
            self.state == PageState.PAID
            and bool(self.receipts)
            and self.receipts_complete
            and not self.einvoice_coming
        )

    @property
    def einvoice_coming(self) -> bool:
        """The e-invoice (or its tax authority's code) is on its way: the page keeps asking."""
        if self.einvoice is not None:
            return not self.einvoice["tax_authority_code"]
        return EInvoice.objects.filter(
            invoice=self.invoice,
            status__in=(EInvoiceStatus.PENDING, EInvoiceStatus.SENDING),
        ).exists()

    @property
    def receipts_complete(self) -> bool:
        paid = Payment.objects.filter(
            invoice=self.invoice,
            status__in=(PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED),
        ).count()
        return len(self.receipts) >= paid


def pay_page(*, invoice: Invoice, bill: dict[str, Any]) -> PayPage:
    """The page of ``invoice`` as its pay link shows it now; ``bill`` is the invoice as the
    API serializes it (the page shows exactly the API's figures)."""
    name = mask_name(invoice.patient.full_name)
    advances = invoice_advances_applied(invoice)
    receipts = list(
        Receipt.objects.filter(payment__invoice=invoice, refund__isnull=True).order_by(
            "issued_at", "id"
        )
    )
    if invoice.status == InvoiceStatus.VOID:
        state = PageState.VOID
    elif invoice.status == InvoiceStatus.PAID or bill["amount_due"] <= 0:
        state = PageState.PAID
    else:
        state = PageState.OPEN
    if state != PageState.OPEN:
        einvoice = issued_einvoice(invoice_id=invoice.pk) if state == PageState.PAID else None
        return PayPage(invoice, bill, name, advances, state, receipts=receipts, einvoice=einvoice)
    phone = Payment.objects.filter(invoice=invoice, channel=PaymentChannel.PHONE)
    in_flight = phone.filter(status__in=ACTIVE_STATUSES).order_by("-created_at", "-id").first()
    last = phone.order_by("-created_at", "-id").first()
    elsewhere = (
        Payment.objects.filter(invoice=invoice, status__in=ACTIVE_STATUSES)
        .exclude(channel=PaymentChannel.PHONE)
        .exists()
    )
    return PayPage(
        invoice,
        bill,
        name,
        advances,
        state,
        receipts=receipts,
        payment=in_flight,
        last_ended=last if last is not None and last.status in ENDED_WITHOUT_MONEY else None,
        in_flight_elsewhere=elsewhere,
    )


def _einvoice_state(einvoice: dict[str, Any] | None) -> str:
    if einvoice is None:
        return "-"
    corrections = ",".join(c["number"] for c in einvoice["corrections"])
    return f"{einvoice['number']}:{einvoice['tax_authority_code']}:{corrections}"


def pay_page_receipt(*, invoice: Invoice, public_id: str) -> Receipt | None:
    """The receipt of ``invoice`` with this public id (what its pay link may download), or
    None."""
    return (
        Receipt.objects.filter(public_id=public_id, payment__invoice=invoice, refund__isnull=True)
        .select_related("payment")
        .first()
    )


def pay_page_payment(*, invoice: Invoice, public_id: str) -> Payment | None:
    """A payment the phone started on ``invoice`` (its QR image is shown), or None."""
    return Payment.objects.filter(
        public_id=public_id, invoice=invoice, channel=PaymentChannel.PHONE
    ).first()
