"""Celery tasks of payments: thin wrappers over services, scheduled by beat.

Every task is idempotent (``acks_late``: a task redelivered after a worker died does no harm),
takes ids (or nothing), never model instances or personal data, and has an explicit name. The
base ``ReliableTask`` counts deliveries, retries transient errors with backoff and parks a
message that keeps failing (``config.tasks``).
"""

from __future__ import annotations

from datetime import date

from celery import shared_task

from config.tasks import ReliableTask
from payments.outbox import outbox_relay
from payments.services.housekeeping import payments_cancel_abandoned, payments_sync_stuck
from payments.services.idempotency import idempotency_prune
from payments.services.matching import reconciliation_match
from payments.services.payments import payment_expire_due
from payments.services.refund_einvoices import refund_einvoice_adjust, refunds_einvoice_sweep
from payments.services.refunds import refunds_resend_approved
from payments.services.settlement import (
    stripe_payout_settle,
    stripe_payouts_recent,
    stripe_settlement_configured,
)
from payments.services.statement_inbox import statement_inbox_import
from payments.services.webhooks import webhook_retry_unapplied


@shared_task(name="payments.relay_outbox", base=ReliableTask)
def relay_outbox() -> int:
    """Publish outbox events to their subscribers (after each commit that wrote some, and
    every few seconds from beat in case a process died between commit and publish)."""
    return outbox_relay()


@shared_task(name="payments.expire_qr_payments", base=ReliableTask)
def expire_qr_payments() -> int:
    return payment_expire_due()


@shared_task(name="payments.sync_stuck_payments", base=ReliableTask)
def sync_stuck_payments() -> int:
    """Ask Stripe about payments stuck in flight, then cancel abandoned phone card forms."""
    return payments_sync_stuck() + payments_cancel_abandoned()


@shared_task(name="payments.retry_webhook_events", base=ReliableTask)
def retry_webhook_events() -> int:
    return webhook_retry_unapplied()


@shared_task(name="payments.adjust_einvoice_for_refund", base=ReliableTask)
def adjust_einvoice_for_refund(event_id: int, refund_id: int, **_: object) -> int | None:
    """Subscriber of ``refund.succeeded``: the adjusting e-invoice of a refund that lowers
    what was paid for the services (once per refund)."""
    einvoice = refund_einvoice_adjust(refund_id=refund_id)
    return einvoice.pk if einvoice is not None else None


@shared_task(name="payments.adjust_missing_refund_einvoices", base=ReliableTask)
def adjust_missing_refund_einvoices() -> int:
    """Beat, the safety net of the outbox: refunds whose adjustment task was lost."""
    return refunds_einvoice_sweep()


@shared_task(name="payments.prune_idempotency_keys", base=ReliableTask)
def prune_idempotency_keys() -> int:
    return idempotency_prune()


@shared_task(name="payments.resend_approved_refunds", base=ReliableTask)
def resend_approved_refunds() -> int:
    return refunds_resend_approved()


@shared_task(name="payments.import_statement_inbox", base=ReliableTask)
def import_statement_inbox() -> int:
    """Import the statement files waiting in the watched folder (``STATEMENT_INBOX``)."""
    return statement_inbox_import()


@shared_task(name="payments.run_matcher", base=ReliableTask)
def run_matcher(*, today: str | None = None, full: bool = False) -> int:
    """Match statement lines with what the ledger expects (after each import, and by beat);
    ``today`` (ISO date) judges the SLA as of another day; ``full`` enrols VietQR captures of
    any date, not only those since the previous run (after loading captures made elsewhere)."""
    return reconciliation_match(
        today=date.fromisoformat(today) if today else None, full=full
    ).matched


@shared_task(name="payments.settle_stripe_payout", base=ReliableTask)
def settle_stripe_payout(*, payout_id: str) -> str:
    """Settle one Stripe payout (on ``payout.paid``/``payout.failed``); then match."""
    record = stripe_payout_settle(payout_id=payout_id)
    reconciliation_match()
    return str(record.status)


@shared_task(name="payments.settle_stripe_payouts", base=ReliableTask)
def settle_stripe_payouts() -> int:
    """Daily: settle the paid payouts of the last week a webhook did not bring."""
    if not stripe_settlement_configured():
        return 0
    pending = stripe_payouts_recent()
    for payout_id in pending:
        settle_stripe_payout.delay(payout_id=payout_id)
    return len(pending)
