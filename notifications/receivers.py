"""Reactions to billing's signals (billing never imports notifications)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from billing.models import Invoice
from notifications.services.messages import invoice_pay_link_enqueue
from payments.models import OutboxEvent

# The payments topics notifications reacts to (subscribed in NotificationsConfig.ready).
TOPICS = {
    "payment.succeeded": "notifications.issue_payment_receipt",
    "refund.succeeded": "notifications.issue_refund_receipt",
}


def on_invoice_issued(sender: Any, *, invoice: Invoice, **_: Any) -> None:
    """Inside ``invoice_issue``'s transaction: the pay-link SMS joins the invoice's commit."""
    invoice_pay_link_enqueue(invoice=invoice)


def _relay_soon() -> None:
    from payments.tasks import relay_outbox

    relay_outbox.delay()


def on_outbox_event_saved(sender: Any, *, instance: OutboxEvent, created: bool, **_: Any) -> None:
    """An event we react to was written: relay the outbox right after its commit instead of
    waiting for beat (payments relays on commit only for payment successes; a refund's
    receipt should not wait, and the embedded default has no beat). The relay takes each
    event under ``SKIP LOCKED``, so an extra relay publishes nothing twice."""
    if created and instance.topic in TOPICS:
        transaction.on_commit(_relay_soon, robust=True)
