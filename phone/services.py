"""Starting a payment from the pay page."""

from __future__ import annotations

import time

from django.core.cache import cache

from billing.models import Invoice
from payments.errors import RequestInProgress
from payments.models import ACTIVE_STATUSES, Payment, PaymentChannel
from payments.paylinks import PayLinkPrincipal
from payments.selectors.payments import invoice_payable_amount
from payments.services.channels import payment_take
from payments.services.payments import payment_cancel


def pay_page_payment_start(*, invoice: Invoice, method: str, attempt: str) -> Payment:
    """Start paying what is left of ``invoice`` by ``method`` (``vietqr`` or ``card``) from
    its pay page, as the pay-link holder.

    ``attempt`` is the one-time value of the form the patient submitted: the same form sent
    twice (a double tap, a retried request) finds the payment the first one started, and
    ``payment_create`` (idempotent per key, under the invoice's row lock) makes one payment
    however many arrive at once. A new attempt first cancels the phone's own payment still
    in flight (the QR code or card form the patient is leaving; never a payment of another
    channel), so that what it reserved is payable again. Errors are ``payment_take``'s and
    ``payment_cancel``'s (``payment_state_conflict`` when the payment being left succeeded
    in the meantime)."""
    key = f"paypage:{invoice.pk}:{attempt}"
    earlier = Payment.objects.filter(invoice=invoice, idempotency_key=key).first()
    if earlier is not None:
        return earlier
    # One execution per attempt at a time: a concurrent duplicate waits for the first one's
    # payment instead of canceling it as "the payment being left".
    if not cache.add(f"paypage-attempt:{key}", 1, timeout=60):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            earlier = Payment.objects.filter(invoice=invoice, idempotency_key=key).first()
            if earlier is not None:
                return earlier
            time.sleep(0.2)
        raise RequestInProgress()
    leaving = Payment.objects.filter(
        invoice=invoice, channel=PaymentChannel.PHONE, status__in=ACTIVE_STATUSES
    )
    for payment in leaving:
        payment_cancel(payment=payment)
    return payment_take(
        payer=PayLinkPrincipal(invoice.pk),
        method=method,
        amount=invoice_payable_amount(invoice=invoice),
        currency=invoice.currency,
        idempotency_key=key,
        invoice_public_id=invoice.public_id,
    )
