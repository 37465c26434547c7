"""The outbox of patient messages: enqueue in the event's transaction, send after commit.

    queued → sending → sent
                     ↘ queued (transient failure, retried later with exponential backoff)
                     ↘ failed (permanent failure, or MESSAGE_MAX_ATTEMPTS reached)

Sending claims the row under a lock (``queued → sending``) and commits before calling the
provider, so a duplicate task finds it taken and sends nothing; no transaction is held
across the provider call. A message's ``dedupe_key`` is unique: an event handled twice
finds the message it made. A worker that dies mid-send leaves the row ``sending``; beat
puts it back in the queue after ``MESSAGE_STALE_MINUTES`` (at-least-once, the gateway's
``RequestId`` stops eSMS from sending that SMS twice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import OPEN_INVOICE_STATUSES, Invoice, Patient
from billing.money import format_vnd
from billing.public_ids import mint_public_id
from billing.selectors.invoices import deposit_balance, invoice_balances
from config.tasks import backoff_seconds
from config.text import ascii_fold
from notifications.backends import PermanentSendError, SendError, TransientSendError, sms_backend
from notifications.backends.email import email_send
from notifications.errors import RecipientMissing
from notifications.models import Message, MessageChannel, MessageStatus, Receipt, ReceiptKind

logger = logging.getLogger(__name__)


def _send_soon(message_id: int) -> None:
    from notifications.tasks import send_message

    send_message.delay(message_id)


def message_enqueue(
    *,
    channel: str,
    template: str,
    recipient: str,
    context: dict[str, Any],
    dedupe_key: str,
    receipt: Receipt | None = None,
    invoice: Invoice | None = None,
) -> Message:
    """Write a message to the outbox (in the caller's transaction) and send it after
    commit. Idempotent per ``dedupe_key``: the existing message is returned, not resent."""
    existing = Message.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    language = settings.MESSAGE_LANGUAGE
    context = {"hospital": settings.HOSPITAL_NAME, **context}
    body = str(render_to_string(f"notifications/messages/{template}.{language}.txt", context))
    subject = ""
    if channel == MessageChannel.SMS:
        body = ascii_fold(body)  # SMS go out without diacritics
    else:
        subject = render_to_string(
            f"notifications/messages/{template}.{language}.subject.txt", context
        ).strip()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                channel=channel,
                template=template,
                language=language,
                recipient=recipient,
                subject=subject[:200],
                body=body.strip(),
                dedupe_key=dedupe_key,
                receipt=receipt,
                invoice=invoice,
            )
    except IntegrityError:  # a concurrent handler of the same event made it first
        return Message.objects.get(dedupe_key=dedupe_key)
    transaction.on_commit(lambda: _send_soon(message.pk), robust=True)
    return message


def _contacts(patient: Patient) -> dict[str, str]:
    return {MessageChannel.SMS: patient.phone, MessageChannel.EMAIL: patient.email}


def receipt_patient(receipt: Receipt) -> Patient:
    payment = receipt.payment
    if payment.invoice_id is not None:
        return Invoice.objects.select_related("patient").get(pk=payment.invoice_id).patient
    assert payment.encounter is not None
    return payment.encounter.patient


def _receipt_message(receipt: Receipt, channel: str, recipient: str, dedupe_key: str) -> Message:
    return message_enqueue(
        channel=channel,
        template="refund_receipt" if receipt.kind == ReceiptKind.REFUND else "receipt",
        recipient=recipient,
        context={
            "title": receipt.content["title"],
            "number": receipt.display_number,
            "amount": format_vnd(receipt.amount, symbol=False),
            "url": receipt.content["verification_url"],
        },
        dedupe_key=dedupe_key,
        receipt=receipt,
    )


def receipt_messages_enqueue(*, receipt: Receipt) -> list[Message]:
    """The receipt link by every channel in ``RECEIPT_MESSAGE_CHANNELS`` the patient has a
    contact for (once per receipt and channel)."""
    contacts = _contacts(receipt_patient(receipt))
    return [
        _receipt_message(receipt, channel, contacts[channel], f"receipt:{receipt.pk}:{channel}")
        for channel in settings.RECEIPT_MESSAGE_CHANNELS
        if contacts.get(channel)
    ]


def receipt_resend(*, receipt: Receipt, channel: str) -> Message:
    """A new message with the receipt link to the patient's current contact (the API's
    resend; the API's Idempotency-Key keeps a double click from sending two)."""
    recipient = _contacts(receipt_patient(receipt)).get(channel, "")
    if not recipient:
        raise RecipientMissing(param="channel")
    with transaction.atomic():
        key = f"receipt:{receipt.pk}:{channel}:resend:{mint_public_id(length=32)}"
        return _receipt_message(receipt, channel, recipient, key)


def _left_to_pay(invoice: Invoice) -> int:
    """What the patient still has to pay on a new invoice once the encounter's advances go
    to its open invoices, oldest first (as discharge applies them in the same transaction,
    after the invoice is issued)."""
    balances = invoice_balances(
        Invoice.objects.filter(
            encounter_id=invoice.encounter_id, status__in=OPEN_INVOICE_STATUSES, pk__lte=invoice.pk
        )
    )
    older = sum(b.amount_due for pk, b in balances.items() if pk != invoice.pk)
    advances = max(deposit_balance(encounter=invoice.encounter) - older, 0)
    return max(balances[invoice.pk].amount_due - advances, 0) if invoice.pk in balances else 0


def invoice_pay_link_enqueue(*, invoice: Invoice) -> Message | None:
    """The pay-link SMS for a newly issued invoice whose patient has a phone and still has
    something to pay after the encounter's advances (amount, hospital, invoice number and
    link only: no name). Runs in ``invoice_issue``'s transaction."""
    from payments.paylinks import pay_link_token

    patient = invoice.patient
    to_pay = _left_to_pay(invoice) if patient.phone else 0
    if to_pay <= 0:
        return None
    token = pay_link_token(invoice=invoice)
    return message_enqueue(
        channel=MessageChannel.SMS,
        template="pay_link",
        recipient=patient.phone,
        context={
            "number": invoice.display_number,
            "amount": format_vnd(to_pay, symbol=False),
            "url": f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/pay/{token}",
        },
        dedupe_key=f"invoice:{invoice.pk}:pay_link:sms",
        invoice=invoice,
    )


@dataclass(frozen=True)
class SendOutcome:
    status: str
    retry_in: float | None = None


def _claim(message_id: int) -> Message | None:
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != MessageStatus.QUEUED:
            return None
        message.status = MessageStatus.SENDING
        message.attempts += 1
        message.save(update_fields=["status", "attempts", "updated_at"])
        return message


def _deliver(message: Message) -> str:
    # The same id on every retry of one try-series: the gateway drops a repeat of an SMS it
    # accepted but whose answer we lost.
    request_id = f"vienphi-msg-{message.pk}" + (f"-r{message.resends}" if message.resends else "")
    if message.channel == MessageChannel.SMS:
        backend: Any = sms_backend()
        return str(
            backend.send(recipient=message.recipient, body=message.body, request_id=request_id)
        )
    return email_send(
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        request_id=request_id,
    )


def retry_delay(attempts: int) -> float:
    """The wait after ``attempts`` failed tries (the tasks' backoff, without jitter: the
    message's ``next_attempt_at`` shows it)."""
    return backoff_seconds(
        attempts,
        base=settings.MESSAGE_RETRY_BASE_SECONDS,
        ceiling=settings.MESSAGE_RETRY_MAX_SECONDS,
    )


def _record_failure(message: Message, error: SendError) -> SendOutcome:
    now = timezone.now()
    exhausted = message.attempts >= settings.MESSAGE_MAX_ATTEMPTS
    if isinstance(error, TransientSendError) and not exhausted:
        delay: float | None = retry_delay(message.attempts)
        status, next_at = MessageStatus.QUEUED, now + timedelta(seconds=delay or 0)
    else:
        delay, status, next_at = None, MessageStatus.FAILED, None
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=status, last_error=str(error)[:300], next_attempt_at=next_at, updated_at=now
    )
    logger.warning(
        "message %s attempt %s: %s (%s)",
        message.pk,
        message.attempts,
        "permanent" if isinstance(error, PermanentSendError) else "transient",
        error,
    )
    return SendOutcome(status=status, retry_in=delay)


def message_send(*, message_id: int) -> SendOutcome:
    """Send one queued message once. Returns its new status and, after a transient failure
    with attempts left, how long to wait before the next try. Every attempt counts, also
    one that fails in an unexpected way, so no message is tried forever."""
    message = _claim(message_id)
    if message is None:
        current = Message.objects.filter(pk=message_id).values_list("status", flat=True).first()
        return SendOutcome(status=current or "missing")
    try:
        provider_id = _deliver(message)
    except SendError as error:
        return _record_failure(message, error)
    except Exception as error:  # a bug or a malformed address; its text may hold the address
        return _record_failure(message, TransientSendError(f"unexpected {type(error).__name__}"))
    now = timezone.now()
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=MessageStatus.SENT,
        provider_message_id=provider_id[:100],
        sent_at=now,
        next_attempt_at=None,
        last_error="",
        updated_at=now,
    )
    return SendOutcome(status=MessageStatus.SENT)


def message_requeue(*, message: Message) -> bool:
    """Put a failed message back in the queue with fresh attempts (the admin's resend);
    sent after commit. Returns False for a message that is not failed."""
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, status=MessageStatus.FAILED).update(
            status=MessageStatus.QUEUED,
            attempts=0,
            resends=F("resends") + 1,
            next_attempt_at=None,
            updated_at=timezone.now(),
        )
        if updated:
            transaction.on_commit(lambda: _send_soon(message.pk), robust=True)
    return bool(updated)


def messages_due(*, limit: int = 200) -> list[int]:
    """Messages whose send task was lost (beat): queued and overdue by
    ``MESSAGE_STALE_MINUTES``, or left ``sending`` that long by a worker that died (put back
    in the queue)."""
    cutoff = timezone.now() - timedelta(minutes=settings.MESSAGE_STALE_MINUTES)
    # update() leaves updated_at as it was, so these count as overdue below.
    Message.objects.filter(status=MessageStatus.SENDING, updated_at__lte=cutoff).update(
        status=MessageStatus.QUEUED, next_attempt_at=None
    )
    overdue = Q(next_attempt_at__isnull=True, updated_at__lte=cutoff) | Q(
        next_attempt_at__lte=cutoff
    )
    return list(
        Message.objects.filter(overdue, status=MessageStatus.QUEUED)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
