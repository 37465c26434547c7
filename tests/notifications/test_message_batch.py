"""A receipt's task sends the messages it wrote together (``messages_send``): one UPDATE
claims them all, each goes to its provider, one UPDATE marks the delivered ones sent. A
failure is recorded for its message alone, as ``message_send`` records it; of workers
sending the same messages at once, one sends each (through the local fake gateway and SMTP
server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.celery import app
from notifications.models import Message, MessageChannel, MessageStatus, Receipt
from notifications.services.messages import messages_send
from tests.concurrency import run_at_once
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.smtp_server import FakeSmtp
from tests.notifications.builders import issued

pytestmark = pytest.mark.django_db


def _written(receipt: Receipt) -> list[Message]:
    """The receipt's SMS and e-mail copy, as fresh copies (what its task holds)."""
    messages = list(Message.objects.filter(receipt=receipt).order_by("id"))
    assert [message.channel for message in messages] == [
        MessageChannel.SMS,
        MessageChannel.EMAIL,
    ]
    return messages


def test_a_receipts_messages_are_claimed_by_one_update_and_marked_sent_by_one(
    messaging: tuple[FakeSmsGateway, FakeSmtp],
) -> None:
    gateway, smtp = messaging
    sms, email = _written(issued())

    with CaptureQueriesContext(connection) as sent:
        outcomes = messages_send(messages=[sms, email])

    assert [outcome.status for outcome in outcomes] == [MessageStatus.SENT, MessageStatus.SENT]
    updates = [q["sql"] for q in sent.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(sent.captured_queries) == len(updates) == 2
    (request,) = gateway.requests
    (delivered,) = smtp.messages
    sms.refresh_from_db()
    email.refresh_from_db()
    assert (sms.status, sms.attempts, email.status, email.attempts) == ("sent", 1, "sent", 1)
    assert sms.provider_message_id == gateway.delivered[request["RequestId"]]["SMSID"]
    assert email.provider_message_id == delivered["Message-ID"]
    assert sms.sent_at is not None
    assert email.sent_at is not None
    assert sms.next_attempt_at is None


@pytest.mark.parametrize(
    ("fault", "status", "retried"),
    [("transient", MessageStatus.QUEUED, True), ("permanent", MessageStatus.FAILED, False)],
)
def test_a_failure_in_the_batch_is_recorded_for_its_message_and_the_other_is_sent(
    messaging: tuple[FakeSmsGateway, FakeSmtp],
    settings: Any,
    fault: str,
    status: str,
    retried: bool,
) -> None:
    gateway, smtp = messaging
    settings.MESSAGE_RETRY_BASE_SECONDS = 30
    gateway.fail_next(1, fault)
    sms, email = _written(issued())

    failed, sent = messages_send(messages=[sms, email])

    assert (failed.status, failed.retry_in) == (status, 30 if retried else None)
    assert (sent.status, sent.retry_in) == (MessageStatus.SENT, None)
    sms.refresh_from_db()
    email.refresh_from_db()
    assert (sms.status, sms.attempts, sms.provider_message_id) == (status, 1, "")
    assert sms.last_error
    assert (sms.next_attempt_at is not None) is retried
    assert (email.status, email.attempts) == (MessageStatus.SENT, 1)
    assert len(smtp.messages) == 1


def test_a_message_no_longer_queued_is_not_sent_and_its_status_is_returned(
    messaging: tuple[FakeSmsGateway, FakeSmtp],
) -> None:
    gateway, smtp = messaging
    sms, email = _written(issued())
    Message.objects.filter(pk=sms.pk).update(status=MessageStatus.SENT)

    outcomes = messages_send(messages=[sms, email])

    assert [outcome.status for outcome in outcomes] == [MessageStatus.SENT, MessageStatus.SENT]
    assert gateway.requests == []
    assert len(smtp.messages) == 1
    sms.refresh_from_db()
    assert sms.attempts == 0  # not claimed here


@pytest.fixture
def tasks_left_for_the_workers() -> Iterator[None]:
    """Tasks sent after commit go to a queue no worker reads: the test's threads are the
    workers."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("tasks_left_for_the_workers")
def test_workers_sending_a_receipts_messages_at_once_send_each_once(
    messaging: tuple[FakeSmsGateway, FakeSmtp],
) -> None:
    """Eight workers, each with its own copies of the rows: one claim takes both, the
    others find them taken and send nothing."""
    gateway, smtp = messaging
    receipt = issued()

    outcomes = run_at_once(8, lambda _: messages_send(messages=_written(receipt)))

    assert all(isinstance(outcome, list) for outcome in outcomes), outcomes
    sms, _ = _written(receipt)
    receipt_sms = [r for r in gateway.requests if r["RequestId"] == f"vienphi-msg-{sms.pk}"]
    assert len(receipt_sms) == 1
    assert len(smtp.messages) == 1
    rows = Message.objects.filter(receipt=receipt).values_list("status", "attempts")
    assert sorted(rows) == [(MessageStatus.SENT, 1), (MessageStatus.SENT, 1)]
