"""Many terminals issuing receipts at once, on PostgreSQL with real threads and
connections. Numbers are unique and contiguous per series; a transaction that rolls back
gives its number back; one payment handled by many workers at once gets one receipt."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from config.celery import app
from notifications.models import Message, MessageChannel, MessageStatus, Receipt
from notifications.services.messages import message_send
from notifications.services.receipts import receipt_issue_for_payment
from notifications.tasks import issue_payment_receipt
from payments.models import Payment, PaymentChannel
from tests.concurrency import run_at_once, wait_for_a_lock_wait
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.smtp_server import FakeSmtp
from tests.notifications.builders import paid, receipt_invoice

pytestmark = [
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def events_left_for_the_workers(transactional_db: None) -> Iterator[None]:
    """Payments succeed through the state machine, but their events stay in the outbox
    (published to a queue no worker reads) so that the test's threads are the workers."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager


class RolledBack(Exception):
    pass


def _payments(count: int, channel: str) -> list[Payment]:
    invoice = receipt_invoice(phone="", email="")
    return [paid(invoice=invoice, amount=1_000, channel=channel) for _ in range(count)]


def test_many_terminals_issuing_at_once_get_unique_contiguous_numbers_per_series() -> None:
    payments = _payments(12, PaymentChannel.DESK) + _payments(12, PaymentChannel.KIOSK)

    outcomes = run_at_once(
        len(payments), lambda i: receipt_issue_for_payment(payment_id=payments[i].pk)
    )

    assert all(isinstance(receipt, Receipt) for receipt in outcomes), outcomes
    numbers: defaultdict[str, list[int]] = defaultdict(list)
    for receipt in Receipt.objects.all():
        numbers[receipt.symbol].append(receipt.number)
    assert len(numbers) == 2
    for series in numbers.values():
        assert sorted(series) == list(range(1, 13))


def test_transactions_that_roll_back_give_their_numbers_back() -> None:
    payments = _payments(16, PaymentChannel.DESK)

    def issue(index: int) -> int:
        with transaction.atomic():
            receipt = receipt_issue_for_payment(payment_id=payments[index].pk)
            assert receipt is not None
            if index % 2:
                raise RolledBack()  # e.g. the caller's later step failed
            return receipt.number

    outcomes = run_at_once(len(payments), issue)

    assert sum(isinstance(outcome, RolledBack) for outcome in outcomes) == 8
    assert sorted(Receipt.objects.values_list("number", flat=True)) == list(range(1, 9))
    later = receipt_issue_for_payment(payment_id=payments[1].pk)
    assert later is not None
    assert later.number == 9


def test_one_payment_handled_by_many_workers_at_once_gets_one_receipt_and_one_message_each() -> (
    None
):
    payment = paid(invoice=receipt_invoice())

    outcomes = run_at_once(8, lambda _: receipt_issue_for_payment(payment_id=payment.pk))

    assert {receipt.pk for receipt in outcomes} == {Receipt.objects.get().pk}
    assert Receipt.objects.get().number == 1
    assert sorted(
        Message.objects.filter(receipt__isnull=False).values_list("channel", flat=True)
    ) == [
        "email",
        "sms",
    ]


def test_a_message_sent_by_many_workers_at_once_goes_out_once(
    messaging: tuple[FakeSmsGateway, FakeSmtp],
) -> None:
    """The claim is one conditional UPDATE (queued → sending): of eight workers sending
    the same message at once, one sends it and the others find it taken."""
    gateway, _ = messaging
    payment = paid(invoice=receipt_invoice())
    receipt = receipt_issue_for_payment(payment_id=payment.pk)
    sms = Message.objects.get(receipt=receipt, channel=MessageChannel.SMS)

    outcomes = run_at_once(8, lambda _: message_send(message_id=sms.pk).status)

    assert all(isinstance(status, str) for status in outcomes), outcomes
    assert MessageStatus.SENT in outcomes
    assert len(gateway.requests) == 1
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == (MessageStatus.SENT, 1)


def test_what_a_receipts_task_writes_after_the_receipt_commits_does_not_wait_for_the_disk(
    settings: Any,
) -> None:
    """The receipt is committed durably first; the messages' claims and ``sent`` marks and
    the PDF's row (beat redoes them if a database crash loses them) commit without waiting
    for the disk, and the connection is back to durable commits afterwards."""
    settings.SMS_BACKEND = "console"
    payment = paid(invoice=receipt_invoice())

    with CaptureQueriesContext(connection) as queries:
        issue_payment_receipt(event_id=0, payment_id=payment.pk)

    sqls = [query["sql"] for query in queries.captured_queries]
    unflushed = sqls.index("SET synchronous_commit TO off")
    receipt_written = next(
        i for i, sql in enumerate(sqls) if sql.startswith('INSERT INTO "notifications_receipt"')
    )
    assert receipt_written < unflushed
    after = sqls[unflushed:]
    # Both messages claimed by one UPDATE, both marked sent by one.
    assert sum(sql.startswith('UPDATE "notifications_message"') for sql in after) == 2
    assert any(sql.startswith('INSERT INTO "notifications_receiptpdf"') for sql in after)
    assert after[-1] == "RESET synchronous_commit"
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
    statuses = Message.objects.filter(receipt__payment=payment).values_list("status", flat=True)
    assert sorted(statuses) == [MessageStatus.SENT, MessageStatus.SENT]


def test_a_handler_that_waited_for_the_payments_lock_returns_the_receipt_issued_meanwhile(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The payment is locked and read with its receipt's id in one statement, whose
    snapshot is older than the lock: a duplicate that waited while the first handler
    issued the receipt reads no receipt, fails on one-receipt-per-payment, gives its
    number back and runs again — returning the first one's receipt, nothing sent twice."""
    payment = paid(invoice=receipt_invoice(), amount=1_000)
    issued_not_committed, commit = threading.Event(), threading.Event()
    outcomes: dict[str, Any] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                outcomes["first"] = receipt_issue_for_payment(payment_id=payment.pk)
                issued_not_committed.set()
                commit.wait(timeout=30)
        finally:
            connection.close()

    def duplicate() -> None:
        try:
            issued_not_committed.wait(timeout=30)
            outcomes["duplicate"] = receipt_issue_for_payment(payment_id=payment.pk)
        except Exception as error:
            outcomes["duplicate"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=duplicate)]
    for thread in threads:
        thread.start()
    assert issued_not_committed.wait(timeout=30)
    wait_for_a_lock_wait("the duplicate")
    with caplog.at_level(logging.INFO, logger="notifications.services.receipts"):
        commit.set()
        for thread in threads:
            thread.join(timeout=30)

    receipt = Receipt.objects.get()
    assert outcomes["first"].pk == receipt.pk
    assert isinstance(outcomes["duplicate"], Receipt), outcomes
    assert outcomes["duplicate"].pk == receipt.pk
    assert receipt.number == 1
    assert Message.objects.filter(receipt=receipt).count() == 2
    assert "receipt issued by a concurrent handler: read again" in caplog.messages
    later = receipt_issue_for_payment(payment_id=paid(invoice=payment.invoice, amount=1_000).pk)
    assert later is not None
    assert later.number == 2  # the duplicate's number came back
