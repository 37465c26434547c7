"""Recovery for payments stuck in flight: ask the provider for the truth (beat).

A card payment can stay ``pending``/``processing`` when its webhook was lost or our process
died between Stripe's answer and our commit. Asking Stripe again (the same intent, found by
its id) and recording the answer through the state machine settles it; doing so twice is
harmless.
"""

from __future__ import annotations

import logging

from config.errors import DomainError
from payments.models import Payment, PaymentStatus
from payments.selectors.payments import payments_abandoned, payments_stuck_in_flight
from payments.services.payments import payment_cancel, payment_sync_from_provider

logger = logging.getLogger(__name__)


def payments_sync_stuck(*, limit: int = 200) -> int:
    """Sync every stuck payment with Stripe; returns how many changed status. A provider
    error on one payment is logged and the next one is tried (the next run retries it)."""
    changed = 0
    for pk in payments_stuck_in_flight(limit=limit):
        payment = Payment.objects.get(pk=pk)
        before = payment.status
        try:
            payment = payment_sync_from_provider(payment=payment)
        except DomainError as exc:
            logger.warning("payment %s: sync with the provider failed (%s)", pk, exc.code)
            continue
        changed += payment.status != before
    return changed


def payments_cancel_abandoned(*, limit: int = 200) -> int:
    """Cancel phone card payments left ``pending`` longer than ``CARD_PAYMENT_TTL_MINUTES``
    (the patient closed the page): their reservation would block paying the invoice any
    other way. The intent is canceled at Stripe first; one that succeeded meanwhile is
    recorded as succeeded instead. Returns how many were canceled."""
    canceled = 0
    for payment in payments_abandoned(limit=limit):
        try:
            payment = payment_cancel(payment=payment)
        except DomainError as exc:
            logger.warning("payment %s: not canceled (%s)", payment.pk, exc.code)
            continue
        canceled += payment.status == PaymentStatus.CANCELED
    return canceled
