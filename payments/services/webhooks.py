"""Provider webhooks: stored first, then applied; never applied twice, never moved backwards.

``webhook_receive`` inserts the event with ``INSERT … ON CONFLICT (provider, event_id) DO
NOTHING``: a redelivery (providers retry, and Stripe sends an event more than once) finds
the row and is acknowledged without being applied again. ``webhook_apply`` then applies it
under a lock on the event row (a savepoint inside the storing transaction, or its own
transaction when the retry job calls it), and records what it did (``outcome``) together
with its effect: the payment's transition and the event's ``applied_at`` commit or roll back
together. An event that fails to apply stays stored with ``attempts`` and ``last_error``
for ``webhook_retry_unapplied`` (beat); after ``WEBHOOK_MAX_ATTEMPTS`` it is parked for a
human.

Stripe events move payments through ``payment_transition``, which ignores a move to an
earlier stage, so an old event delivered last (``processing`` after ``succeeded``) cannot
undo a newer one. Bank-feed transfers are matched in ``payments.services.bank_transfers``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from config.audit.services import audit_change
from payments.errors import IllegalTransition
from payments.models import Payment, PaymentStatus, Provider, WebhookEvent, WebhookProvider
from payments.providers.bank_feeds import casso_transactions, sepay_transaction
from payments.selectors.webhooks import webhook_event_ids_unapplied
from payments.services.bank_transfers import bank_transfer_apply
from payments.services.transitions import payment_transition

logger = logging.getLogger(__name__)

OUTCOME_LENGTH = WebhookEvent._meta.get_field("outcome").max_length or 80
ERROR_LENGTH = WebhookEvent._meta.get_field("last_error").max_length or 300
EVENT_TYPE_LENGTH = WebhookEvent._meta.get_field("event_type").max_length or 80

# What each Stripe event means for our payment.
INTENT_EVENTS: dict[str, str] = {
    "payment_intent.processing": PaymentStatus.PROCESSING,
    "payment_intent.succeeded": PaymentStatus.SUCCEEDED,
    "payment_intent.payment_failed": PaymentStatus.FAILED,
    "payment_intent.canceled": PaymentStatus.CANCELED,
}
READER_EVENTS: dict[str, str] = {
    "terminal.reader.action_succeeded": PaymentStatus.SUCCEEDED,
    "terminal.reader.action_failed": PaymentStatus.FAILED,
}
REFUND_EVENTS = frozenset(
    {
        "charge.refunded",
        "charge.refund.updated",
        "refund.created",
        "refund.updated",
        "refund.failed",
    }
)
PAYOUT_EVENTS = frozenset({"payout.paid", "payout.failed"})
OUTCOME_REFUND_IGNORED = "ignored: refunds are applied by the refunds service"
OUTCOME_AMOUNT_MISMATCH = "amount_mismatch"


class PaymentNotFoundForEvent(LookupError):
    """The event names a payment we do not (yet) have: kept for the retry job."""


# --- storing ---------------------------------------------------------------------------


def webhook_receive(
    *,
    provider: str,
    event_id: str,
    event_type: str,
    payload: Mapping[str, Any],
    occurred_at: datetime | None,
) -> tuple[WebhookEvent, bool]:
    """Store a provider event once, then apply it. Returns (event, created).

    A duplicate (same provider and event id, also when delivered concurrently: the second
    insert waits for the first transaction) is not stored or applied again: ``created`` is
    False. Storing and applying share one transaction (one commit per delivery), applying in
    a savepoint: an event that fails to apply is still kept, with its failure, and retried;
    only a failure to store raises, and then the provider delivers it again."""
    with transaction.atomic():
        return _store_and_apply(
            provider=provider,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            occurred_at=occurred_at,
        )


def _store_and_apply(
    *,
    provider: str,
    event_id: str,
    event_type: str,
    payload: Mapping[str, Any],
    occurred_at: datetime | None,
) -> tuple[WebhookEvent, bool]:
    table = WebhookEvent._meta.db_table
    received_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} "  # noqa: S608 - table name from model meta
            "(provider, event_id, event_type, payload, received_at, occurred_at, attempts,"
            " last_error, outcome) VALUES (%s, %s, %s, %s, %s, %s, 0, '', '')"
            " ON CONFLICT (provider, event_id) DO NOTHING RETURNING id",
            [
                provider,
                event_id,
                event_type[:EVENT_TYPE_LENGTH],
                WebhookEvent._meta.get_field("payload").get_db_prep_save(dict(payload), connection),
                connection.ops.adapt_datetimefield_value(received_at),
                connection.ops.adapt_datetimefield_value(occurred_at),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        logger.info("webhook %s:%s is a duplicate delivery; acknowledged", provider, event_id)
        return WebhookEvent.objects.get(provider=provider, event_id=event_id), False
    # The row as just stored (no read back): this transaction inserted it, so no one else
    # can see, lock or apply it before this transaction ends.
    event = WebhookEvent(
        pk=row[0],
        provider=provider,
        event_id=event_id,
        event_type=event_type[:EVENT_TYPE_LENGTH],
        payload=dict(payload),
        received_at=received_at,
        occurred_at=occurred_at,
        attempts=0,
        last_error="",
        outcome="",
    )
    event._state.adding = False
    return webhook_apply(event=event, stored_here=True), True


# --- applying --------------------------------------------------------------------------


def webhook_apply(*, event: WebhookEvent, stored_here: bool = False) -> WebhookEvent:
    """Apply a stored event once, in one transaction with its effects. Never raises for a
    failure to apply: it is recorded (``attempts``, ``last_error``) and left for the retry
    job. Takes a lock on the event row, so a delivery and the retry job cannot both apply
    it; an event already applied is returned unchanged. ``stored_here``: the caller's
    transaction inserted ``event`` (as it is in memory), which is lock enough.

    Applying runs in a savepoint: on a failure its effects roll back, and the failure is
    recorded in the storing transaction, which keeps the event."""
    try:
        with transaction.atomic():
            if stored_here:
                locked = event
            else:
                locked = WebhookEvent.objects.select_for_update().get(pk=event.pk)
            if locked.applied_at is not None:
                return locked
            outcome = _apply(locked)
            locked.applied_at = timezone.now()
            locked.attempts += 1
            locked.outcome = outcome[:OUTCOME_LENGTH]
            locked.last_error = ""
            locked.save(update_fields=["applied_at", "attempts", "outcome", "last_error"])
            # The provider's news applied (a payment succeeded, money held for a person...):
            # recorded with it, by the public caller of the webhook or the retry job.
            audit_change(
                f"webhook.{locked.provider}", locked, ("event_type", "outcome", "attempts")
            )
    except Exception as exc:
        try:
            return _record_failure(event, exc)
        except DatabaseError:  # the database itself is down: the retry job finds it later
            logger.exception("webhook %s: could not record its failure", event.pk)
            return event
    logger.info("webhook %s:%s applied: %s", locked.provider, locked.event_id, locked.outcome)
    return locked


def _record_failure(event: WebhookEvent, exc: Exception) -> WebhookEvent:
    with transaction.atomic():
        locked = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        if locked.applied_at is not None:  # applied meanwhile by another worker
            return locked
        locked.attempts += 1
        locked.last_error = f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]
        parked = locked.attempts >= settings.WEBHOOK_MAX_ATTEMPTS
        if parked:
            locked.outcome = "parked: failed too often, needs a person"
        locked.save(update_fields=["attempts", "last_error", "outcome"])
    # The exception's class and the ids only: a bank memo may name the payer.
    log = logger.error if parked else logger.warning
    log(
        "webhook %s:%s failed to apply (attempt %s%s): %s",
        locked.provider,
        locked.event_id,
        locked.attempts,
        ", parked" if parked else "",
        type(exc).__name__,
    )
    return locked


def webhook_retry_unapplied(*, batch_size: int = 100) -> int:
    """Apply stored events that failed before (beat). Events that reached
    ``WEBHOOK_MAX_ATTEMPTS`` are parked and skipped. Returns how many were applied now."""
    applied = 0
    for pk in webhook_event_ids_unapplied(limit=batch_size):
        event = webhook_apply(event=WebhookEvent(pk=pk))
        applied += event.applied_at is not None
    return applied


def _apply(event: WebhookEvent) -> str:
    if event.provider == WebhookProvider.STRIPE:
        return _apply_stripe(event)
    if event.provider == WebhookProvider.CASSO:
        (transfer,) = casso_transactions({"error": 0, "data": event.payload})
    elif event.provider == WebhookProvider.SEPAY:
        transfer = sepay_transaction(event.payload)
    else:  # pragma: no cover - the model's choices
        raise ValueError(f"unknown webhook provider {event.provider!r}")
    return bank_transfer_apply(transfer=transfer)


# --- Stripe ----------------------------------------------------------------------------


def stripe_event_time(created: Any) -> datetime | None:
    """Stripe's ``created`` (unix seconds) as an aware datetime."""
    if isinstance(created, int) and not isinstance(created, bool):
        return datetime.fromtimestamp(created, tz=UTC)
    return None


def _apply_stripe(event: WebhookEvent) -> str:
    payload = event.payload
    obj: Mapping[str, Any] = (payload.get("data") or {}).get("object") or {}
    if event.event_type in REFUND_EVENTS:
        return OUTCOME_REFUND_IGNORED
    if event.event_type in INTENT_EVENTS:
        payment = _payment_for_intent(obj)
        if not _amount_matches(event, payment, obj):
            return OUTCOME_AMOUNT_MISMATCH
        target = INTENT_EVENTS[event.event_type]
        error = obj.get("last_payment_error") or {}
        failure_code = error.get("decline_code") or error.get("code") or ""
        failure_message = error.get("message") or ""
    elif event.event_type in READER_EVENTS:
        action = obj.get("action") or {}
        if action.get("type", "process_payment_intent") != "process_payment_intent":
            return f"ignored: reader action {action.get('type')}"
        intent_id = (action.get("process_payment_intent") or {}).get("payment_intent")
        payment = _payment_for_intent({"id": intent_id})
        target = READER_EVENTS[event.event_type]
        failure_code = action.get("failure_code") or ""
        failure_message = action.get("failure_message") or ""
    elif event.event_type in PAYOUT_EVENTS:
        return _queue_settlement(str(obj.get("id") or ""))
    else:
        return f"ignored: {event.event_type} is not used"
    return _move(event, payment, target, failure_code, failure_message)


def _queue_settlement(payout_id: str) -> str:
    """A payout paid or failed: its settlement runs in a task (it lists the payout's
    balance transactions at Stripe), sent after this event's commit."""
    from payments.tasks import settle_stripe_payout  # the tasks import the services

    if not payout_id.startswith("po_"):
        return "ignored: a payout event without a payout id"
    transaction.on_commit(lambda: settle_stripe_payout.delay(payout_id=payout_id))
    return f"settlement queued: {payout_id}"


def _payment_for_intent(intent: Mapping[str, Any]) -> Payment:
    intent_id = intent.get("id") or ""
    public_id = (intent.get("metadata") or {}).get("payment_id") or ""
    payment = None
    if intent_id:
        payment = Payment.objects.filter(
            provider=Provider.STRIPE, provider_reference=intent_id
        ).first()
    if payment is None and public_id:
        payment = Payment.objects.filter(provider=Provider.STRIPE, public_id=public_id).first()
        if payment is not None and payment.provider_reference not in ("", intent_id):
            raise PaymentNotFoundForEvent(
                f"payment {public_id} belongs to intent {payment.provider_reference}, "
                f"not {intent_id}"
            )
    if payment is None:
        raise PaymentNotFoundForEvent(f"no payment for intent {intent_id or '?'}")
    return payment


def _amount_matches(event: WebhookEvent, payment: Payment, intent: Mapping[str, Any]) -> bool:
    amount, currency = intent.get("amount"), str(intent.get("currency") or "").upper()
    if amount == payment.amount and currency == payment.currency:
        return True
    logger.error(
        "stripe event %s: intent amount %s %s differs from payment %s (%s %s); not applied",
        event.event_id,
        amount,
        currency,
        payment.public_id,
        payment.amount,
        payment.currency,
    )
    return False


def _move(
    event: WebhookEvent, payment: Payment, target: str, failure_code: str, failure_message: str
) -> str:
    try:
        payment, applied = payment_transition(
            payment=payment,
            to=target,
            event_at=stripe_event_time(event.payload.get("created")),
            failure_code=failure_code,
            failure_message=failure_message,
        )
    except IllegalTransition:
        applied = False
        payment.refresh_from_db(fields=["status"])
    if applied:
        return target
    if target == PaymentStatus.SUCCEEDED and payment.status not in (
        PaymentStatus.SUCCEEDED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    ):
        # Stripe holds money we could not record: finance must see this one.
        logger.error(
            "stripe event %s: Stripe says payment %s succeeded but it is %s",
            event.event_id,
            payment.public_id,
            payment.status,
        )
        return f"conflict: succeeded at Stripe, payment is {payment.status}"
    return f"unchanged: payment is {payment.status}"
