"""Celery tasks of notifications: thin, named, ids only (never personal data), idempotent
(``acks_late``): a redelivered task finds the receipt issued, the PDF stored, the message
sent or taken. The base ``ReliableTask`` (config.tasks) counts deliveries,
retries database and network trouble with backoff and parks a task that keeps failing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction

from config.durability import commits_unflushed
from config.tasks import ReliableTask
from notifications.backends import SendError
from notifications.models import Message, Receipt
from notifications.selectors import payments_missing_receipt, refunds_missing_receipt
from notifications.services.dispatch import follow_ups_by_caller
from notifications.services.messages import (
    SendOutcome,
    message_send,
    messages_due,
    messages_queued,
    messages_send,
)
from notifications.services.pdfs import (
    receipt_pdfs_refresh,
    receipt_pdfs_render,
    receipts_missing_pdf,
)
from notifications.services.receipts import receipt_issue_for_payment, receipt_issue_for_refund
from notifications.services.zalo_tokens import zalo_token_refresh_due

logger = logging.getLogger(__name__)


@shared_task(name="notifications.issue_payment_receipt", base=ReliableTask)
def issue_payment_receipt(event_id: int, payment_id: int, **_: object) -> int | None:
    """Subscriber of ``payment.succeeded``: the payment's (or deposit's) receipt, its
    messages sent and its PDF rendered here once it is committed."""
    with follow_ups_by_caller() as issued:
        receipt = receipt_issue_for_payment(payment_id=payment_id)
    _follow_up_after_commit(issued, receipt)
    return receipt.pk if receipt is not None else None


@shared_task(name="notifications.issue_refund_receipt", base=ReliableTask)
def issue_refund_receipt(event_id: int, refund_id: int, **_: object) -> int | None:
    """Subscriber of ``refund.succeeded``: the refund receipt (and the payment's, if its
    own event has not arrived yet), followed up like a payment's."""
    with follow_ups_by_caller() as issued:
        receipt = receipt_issue_for_refund(refund_id=refund_id)
    _follow_up_after_commit(issued, receipt)
    return receipt.pk if receipt is not None else None


def _follow_up_after_commit(
    issued: list[tuple[Receipt, list[Message]]], receipt: Receipt | None
) -> None:
    """The receipts just issued (with the messages written with them), and the one
    returned (issued by an earlier delivery of this task that may have died before its
    follow-up: its queued messages and stored PDFs are read), followed up once committed."""
    fresh = {each.pk: (each, messages) for each, messages in issued}
    if receipt is not None and receipt.pk not in fresh:
        transaction.on_commit(partial(_follow_up, receipt, None), robust=True)
    for each, messages in fresh.values():
        transaction.on_commit(partial(_follow_up, each, messages), robust=True)


def _follow_up(receipt: Receipt, messages: list[Message] | None) -> None:
    """What issuing ``receipt`` sets off, done in this worker (see
    ``notifications.services.dispatch``): its queued messages sent, its channel's PDF
    rendered and stored. Both are idempotent; a step that fails goes to its own task.
    ``messages``: those this task wrote with the receipt (None: an earlier delivery's).
    The receipt itself is committed durably by now; what is written here is redone by beat
    if a database crash loses it, so its commits do not wait for the disk."""
    with commits_unflushed():
        _send_and_render(receipt, messages)


def _send_and_render(receipt: Receipt, messages: list[Message] | None) -> None:
    if messages is None:
        for message_id in messages_queued(receipt=receipt):
            _send_here([message_id], partial(_send_one, message_id))
    elif messages:
        _send_here([message.pk for message in messages], partial(messages_send, messages=messages))
    try:
        receipt_pdfs_render(receipt_id=receipt.pk, receipt=receipt, new=messages is not None)
    except Exception as error:
        logger.warning("receipt %s PDF handed to its task: %s", receipt.pk, type(error).__name__)
        render_receipt_pdfs.delay(receipt.pk)


def _send_one(message_id: int) -> list[SendOutcome]:
    return [message_send(message_id=message_id)]


def _send_here(message_ids: list[int], send: Callable[[], list[SendOutcome]]) -> None:
    """``send()`` here, a later try scheduled for each message that failed transiently;
    if ``send`` itself fails (the database, mostly), each message goes to its own task,
    retried with backoff (one already taken here is found taken there)."""
    try:
        outcomes = send()
    except Exception as error:
        for message_id in message_ids:
            logger.warning("message %s handed to its task: %s", message_id, type(error).__name__)
            send_message.delay(message_id)
        return
    for message_id, outcome in zip(message_ids, outcomes, strict=True):
        if outcome.retry_in is not None:
            send_message.apply_async((message_id,), countdown=outcome.retry_in)


@shared_task(name="notifications.issue_missing_receipts", base=ReliableTask)
def issue_missing_receipts() -> int:
    """Beat, the end-to-end safety net of the outbox: payments and refunds that succeeded a
    while ago without a receipt (their event was published, then lost with the broker's
    queue) get it now, here, through the same idempotent services as the event's
    subscribers. Returns how many receipts were issued."""
    issued = 0
    for payment_id in payments_missing_receipt():
        if receipt_issue_for_payment(payment_id=payment_id) is not None:
            issued += 1
    for refund_id in refunds_missing_receipt():
        if receipt_issue_for_refund(refund_id=refund_id) is not None:
            issued += 1
    if issued:
        logger.warning("%s receipts issued by the sweep: their events' tasks were lost", issued)
    return issued


@shared_task(name="notifications.render_receipt_pdfs", base=ReliableTask)
def render_receipt_pdfs(receipt_id: int) -> int:
    return receipt_pdfs_render(receipt_id=receipt_id)


@shared_task(name="notifications.refresh_invoice_receipt_pdfs", base=ReliableTask)
def refresh_invoice_receipt_pdfs(invoice_id: int) -> int:
    """The invoice's e-invoice was issued: its receipts' stored PDFs now name it."""
    return receipt_pdfs_refresh(invoice_id=invoice_id)


@shared_task(name="notifications.send_message", base=ReliableTask)
def send_message(message_id: int) -> str:
    """Send one message; after a transient failure, schedule the next try (backoff)."""
    outcome = message_send(message_id=message_id)
    if outcome.retry_in is not None:
        send_message.apply_async((message_id,), countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="notifications.send_due_messages", base=ReliableTask)
def send_due_messages() -> int:
    """Beat: send again messages whose task was lost."""
    due = messages_due()
    for message_id in due:
        send_message.delay(message_id)
    return len(due)


@shared_task(name="notifications.render_missing_pdfs", base=ReliableTask)
def render_missing_pdfs() -> int:
    """Beat: render PDFs whose render task was lost."""
    missing = receipts_missing_pdf()
    for receipt_id in missing:
        render_receipt_pdfs.delay(receipt_id)
    return len(missing)


@shared_task(name="notifications.refresh_zalo_token", base=ReliableTask)
def refresh_zalo_token() -> bool:
    """Beat: refresh the Zalo OA access token before it expires (once across workers)."""
    if not settings.ZALO_ENABLED:
        return False
    try:
        return zalo_token_refresh_due()
    except SendError as error:  # Zalo unreachable, or the OA must be connected again
        logger.warning("zalo token refresh failed: %s", error)
        return False
