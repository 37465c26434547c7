"""Issuing receipts: one per successful payment or deposit, one per completed refund.

Issuing runs in one transaction that

1. locks the payment row, so duplicate or concurrent events for one payment serialise and
   the second finds the receipt the first made (also backed by unique constraints: one
   receipt per payment, one per refund);
2. takes the next number of the series (one per channel for payments, one for advances,
   one for refunds) with ``sequence_next`` (the sequence row stays locked
   until commit; a rollback gives the number back, so numbers are gap-free per form and
   symbol and restart each year with the symbol's year digits);
3. writes the frozen content and the patient's messages (outbox rows);
4. on commit, asks Celery to render the PDFs and to send the messages (unless the caller
   does that itself: ``notifications.services.dispatch``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from billing.services.sequences import sequence_next
from config.compiled import CompiledInsert, CompiledQuery
from notifications.models import Receipt, ReceiptChannel, ReceiptKind, new_verification_code
from notifications.services.content import receipt_content, receipt_series, series_for
from notifications.services.dispatch import issued_here, tasks_after_commit
from notifications.services.messages import receipt_messages_enqueue
from payments.models import CAPTURED_STATUSES, Payment, PaymentPurpose, Refund, RefundStatus

logger = logging.getLogger(__name__)


def _render_soon(receipt_id: int) -> None:
    from notifications.tasks import render_receipt_pdfs

    render_receipt_pdfs.delay(receipt_id)


_NEW_RECEIPT = CompiledInsert(Receipt)


def _issue(
    *,
    kind: str,
    payment: Payment,
    channel: str,
    amount: int,
    refund: Refund | None = None,
    reverses: Receipt | None = None,
) -> Receipt:
    issued_at = timezone.now()
    year = timezone.localdate(issued_at).year
    form, symbol = receipt_series(series=series_for(kind=kind, channel=channel), year=year)
    code = new_verification_code()
    [receipt] = _NEW_RECEIPT.insert(
        [
            Receipt(
                kind=kind,
                payment=payment,
                refund=refund,
                reverses=reverses,
                channel=channel,
                form=form,
                symbol=symbol,
                number=sequence_next(series=f"receipt:{form}{symbol}", year=year),
                issued_at=issued_at,
                currency=payment.currency,
                amount=amount,
                verification_code=code,
                device=payment.created_by_device,
                content=receipt_content(
                    kind=kind,
                    channel=channel,
                    payment=payment,
                    amount=amount,
                    issued_at=issued_at,
                    code=code,
                    refund=refund,
                    reverses=reverses.display_number if reverses is not None else "",
                ),
            )
        ]
    )
    messages = receipt_messages_enqueue(receipt=receipt)
    if tasks_after_commit():
        transaction.on_commit(lambda: _render_soon(receipt.pk), robust=True)
    else:
        issued_here(receipt, messages)
    logger.info("receipt %s issued for payment %s", receipt.display_number, payment.pk)
    return receipt


def _payment_receipt(payment: Payment) -> Receipt:
    """The payment's receipt: the one it has (``issued_receipt_id``, read with the locked
    payment), else a new one."""
    existing_id = payment.issued_receipt_id  # type: ignore[attr-defined]
    if existing_id is not None:
        existing = Receipt.objects.get(pk=existing_id)
        existing.payment = payment
        return existing
    return _issue(
        kind=ReceiptKind.DEPOSIT
        if payment.purpose == PaymentPurpose.DEPOSIT
        else ReceiptKind.PAYMENT,
        payment=payment,
        channel=ReceiptChannel(payment.channel),
        amount=payment.amount,
    )


def _payment_with_receipt_id(payment_id: int) -> QuerySet[Payment]:
    receipt = Receipt.objects.filter(payment=OuterRef("pk"), refund__isnull=True).order_by()
    return (
        Payment.objects.select_for_update(no_key=True, of=("self",))
        .select_related(
            "created_by_device", "created_by_user", "invoice__patient", "encounter__patient"
        )
        .annotate(issued_receipt_id=Subquery(receipt.values("pk")[:1]))
        .filter(pk=payment_id)
    )


# Compiled once per connection: every receipt's task starts with this statement.
_PAYMENT_LOCKED = CompiledQuery(_payment_with_receipt_id, payment_id=int)


def _payment_locked(payment_id: int) -> Payment:
    """The payment, locked until commit (only its own row), with what its receipt's
    content and messages read — who took it, the invoice's or the deposit's patient — and
    ``issued_receipt_id``, the id of its receipt (None: none yet), in one statement.

    That id comes from the statement's snapshot, taken before the lock is granted: a
    concurrent handler of the same payment that waited for the lock while the first one
    issued the receipt reads None, and its INSERT fails on ``receipt_one_per_payment``
    (:func:`_retried_once_on_conflict` runs it again)."""
    payment = _PAYMENT_LOCKED.first(payment_id=payment_id)
    if payment is None:
        raise Payment.DoesNotExist(f"payment {payment_id} does not exist")
    return payment


def _retried_once_on_conflict(issue: Callable[[], Receipt | None]) -> Receipt | None:
    """``issue()`` in a transaction, and once more in a new one if it fails on a unique
    constraint: a concurrent handler issued the receipt while this one waited for the
    payment's lock (the number this one took rolls back with it: none is lost), and the
    second run finds that receipt. Any other conflict fails again and is raised; so is a
    failed commit (nothing is retried once ``issue()`` has returned)."""
    conflict = False
    try:
        with transaction.atomic():
            try:
                return issue()
            except IntegrityError:
                conflict = True
                raise
    except IntegrityError:
        if not conflict:
            raise
        logger.info("receipt issued by a concurrent handler: read again")
    with transaction.atomic():
        return issue()


def receipt_issue_for_payment(*, payment_id: int) -> Receipt | None:
    """The receipt of a captured payment or deposit, issued on the first call and returned
    as it is on every later one (never a second receipt, number or message). ``None`` for
    a payment that never succeeded."""

    def issue() -> Receipt | None:
        payment = _payment_locked(payment_id)
        if payment.status not in CAPTURED_STATUSES:
            logger.warning("payment %s is %s: no receipt", payment.pk, payment.status)
            return None
        return _payment_receipt(payment)

    return _retried_once_on_conflict(issue)


def receipt_issue_for_refund(*, refund_id: int) -> Receipt | None:
    """The refund receipt of a completed refund, reversing the payment's receipt (issued
    first if its own event has not arrived yet). Idempotent like
    :func:`receipt_issue_for_payment`; issued in the refund series (at the desk)."""

    def issue() -> Receipt | None:
        refund = Refund.objects.get(pk=refund_id)
        payment = _payment_locked(refund.payment_id)
        if refund.status != RefundStatus.SUCCEEDED:
            logger.warning("refund %s is %s: no receipt", refund.pk, refund.status)
            return None
        existing = Receipt.objects.filter(refund=refund).first()
        if existing is not None:
            return existing
        original = _payment_receipt(payment)
        return _issue(
            kind=ReceiptKind.REFUND,
            payment=payment,
            channel=ReceiptChannel.DESK,
            amount=refund.amount,
            refund=refund,
            reverses=original,
        )

    return _retried_once_on_conflict(issue)
