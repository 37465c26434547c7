"""In-process: payment and refund events delivered three times each, shuffled,
give one receipt per payment and per refund and one message per receipt and channel; the
beat jobs pick up what a lost task left behind."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from celery.signals import task_prerun
from django.utils import timezone

from notifications.models import Message, MessageChannel, Receipt, ReceiptKind, ReceiptPdf
from notifications.tasks import (
    issue_payment_receipt,
    issue_refund_receipt,
    render_missing_pdfs,
    send_due_messages,
)
from payments.models import OutboxEvent
from tests.notifications.builders import issued, paid, receipt_invoice, refunded

pytestmark = pytest.mark.django_db


def test_events_delivered_three_times_shuffled_give_one_receipt_and_message_each() -> None:
    payment = paid(invoice=receipt_invoice())
    refund = refunded(payment, 40_000)
    deliveries: list[Any] = []
    for event in OutboxEvent.objects.all():
        task = issue_payment_receipt if event.topic == "payment.succeeded" else issue_refund_receipt
        deliveries += [(task, {"event_id": event.pk, **event.payload})] * 3
    random.Random(3).shuffle(deliveries)

    for task, kwargs in deliveries:
        task.apply(kwargs=kwargs)

    assert len(deliveries) == 6
    receipts = {r.kind: r for r in Receipt.objects.filter(payment=payment)}
    assert set(receipts) == {ReceiptKind.PAYMENT, ReceiptKind.REFUND}
    assert receipts[ReceiptKind.REFUND].refund == refund
    assert receipts[ReceiptKind.REFUND].reverses == receipts[ReceiptKind.PAYMENT]
    for receipt in receipts.values():
        channels = Message.objects.filter(receipt=receipt).values_list("channel", flat=True)
        assert sorted(channels) == [MessageChannel.EMAIL, MessageChannel.SMS]


def test_messages_can_be_written_in_english(settings: Any) -> None:
    settings.MESSAGE_LANGUAGE = "en"

    receipt = issued()

    sms = Message.objects.get(receipt=receipt, channel=MessageChannel.SMS)
    email = Message.objects.get(receipt=receipt, channel=MessageChannel.EMAIL)
    assert sms.body.startswith(f"{'Benh vien Da khoa Demo Ha Noi'}: received 120.000 VND.")
    assert email.subject.endswith(f"receipt {receipt.display_number}")
    assert sms.language == email.language == "en"


def test_beat_renders_pdfs_and_sends_messages_whose_tasks_were_lost(settings: Any) -> None:
    settings.SMS_BACKEND = "console"
    receipt = issued()
    long_ago = timezone.now() - timedelta(hours=1)
    Message.objects.filter(receipt=receipt).update(updated_at=long_ago)

    # ``.result``, not ``.get()``: eager tasks run concurrently by threaded tests elsewhere
    # in this process can leave Celery's process-wide "join would block" flag set.
    fresh = render_missing_pdfs.apply().result
    settings.RECEIPT_PDF_STALE_MINUTES = 0
    rendered = render_missing_pdfs.apply().result
    sent = send_due_messages.apply().result

    assert fresh == 0  # its render task may still be on its way
    assert rendered == 1
    assert sent == 2
    assert set(Message.objects.filter(receipt=receipt).values_list("status", flat=True)) == {"sent"}
    assert ReceiptPdf.objects.filter(receipt=receipt).count() == 1


def test_a_refund_receipt_is_issued_right_after_the_refund_commits_without_beat(
    django_capture_on_commit_callbacks: Any,
) -> None:
    payment = paid(invoice=receipt_invoice())

    with django_capture_on_commit_callbacks(execute=True):
        refund = refunded(payment, 25_000)

    receipt = Receipt.objects.get(refund=refund)
    assert receipt.amount == 25_000
    assert receipt.reverses == Receipt.objects.get(payment=payment, refund__isnull=True)
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 0


def test_the_receipt_task_renders_the_pdf_and_sends_the_messages_itself(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """One task per receipt: the issuing task sends the receipt's messages and stores its
    PDF once the receipt is committed, with no render or send task of their own (each
    delivery costs a worker more than the work); a refund's task does the same for the
    payment's receipt it issues first."""
    settings.SMS_BACKEND = "console"
    payment = paid(invoice=receipt_invoice())
    refund = refunded(payment, 30_000)
    ran: list[str] = []

    def record(sender: Any = None, **_: Any) -> None:
        ran.append(sender.name)

    task_prerun.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            issue_refund_receipt.apply(kwargs={"event_id": 2, "refund_id": refund.pk})
        with django_capture_on_commit_callbacks(execute=True):
            issue_payment_receipt.apply(kwargs={"event_id": 1, "payment_id": payment.pk})
    finally:
        task_prerun.disconnect(record)

    assert ran == ["notifications.issue_refund_receipt", "notifications.issue_payment_receipt"]
    receipts = Receipt.objects.filter(payment=payment)
    assert receipts.count() == 2
    assert ReceiptPdf.objects.filter(receipt__in=receipts).count() == 2
    statuses = Message.objects.filter(receipt__in=receipts).values_list("status", flat=True)
    assert len(statuses) == 4
    assert set(statuses) == {"sent"}


def test_the_receipt_task_reads_and_writes_what_it_needs_once(
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    """The receipt's task, issue to PDF stored and both messages sent, in at most 12
    statements as counted here, savepoints included (37, then 20 before): the payment is
    locked and read with its invoice, its patient and its receipt's id in one statement;
    the number is one UPDATE (here the series' first, so its row is inserted too); the
    messages are written by one INSERT without a look-up or savepoint (their key names
    the receipt made in the same transaction), claimed by one conditional UPDATE and
    marked sent by one; the follow-up uses the rows it wrote instead of reading them
    again."""
    settings.SMS_BACKEND = "console"
    payment = paid(invoice=receipt_invoice())

    with django_assert_max_num_queries(12), django_capture_on_commit_callbacks(execute=True):
        issue_payment_receipt.apply(kwargs={"event_id": 1, "payment_id": payment.pk})

    receipt = Receipt.objects.get(payment=payment)
    assert ReceiptPdf.objects.filter(receipt=receipt).count() == 1
    assert set(Message.objects.filter(receipt=receipt).values_list("status", flat=True)) == {"sent"}
