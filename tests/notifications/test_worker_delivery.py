"""Receipts and messages on a real Celery worker (a separate process on the Redis broker)
sending to a local fake eSMS gateway over HTTP and a local fake SMTP server: a payment event
delivered three times gives one receipt and one message per channel; a transient gateway
failure is retried with backoff until it goes through; a permanent one stops."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifications.models import Message, MessageChannel, MessageStatus, Receipt
from notifications.tasks import issue_payment_receipt
from payments.models import OutboxEvent
from tests.celery_worker import celery_worker, wait_until  # noqa: F401 (fixture)
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.smtp_server import FakeSmtp
from tests.notifications.builders import paid, receipt_invoice, refunded
from tests.notifications.conftest import messaging_settings

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker_sends_to_the_fakes", "celery_worker"),
]


@pytest.fixture
def worker_sends_to_the_fakes(
    transactional_db: None,
    monkeypatch: pytest.MonkeyPatch,
    fake_sms_gateway: FakeSmsGateway,
    fake_smtp: FakeSmtp,
    tmp_path: Path,
) -> None:
    """The worker process reads its settings from the environment it is started with."""
    for name, value in messaging_settings(fake_sms_gateway, fake_smtp).items():
        monkeypatch.setenv(name, str(value).lower() if isinstance(value, bool) else str(value))
    monkeypatch.setenv("MESSAGE_RETRY_BASE_SECONDS", "0.2")
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path))


def _sent_or_failed(message: Message) -> bool:
    message.refresh_from_db()
    return message.status in (MessageStatus.SENT, MessageStatus.FAILED)


def _requests_for(gateway: FakeSmsGateway, message: Message) -> list[dict[str, object]]:
    return [r for r in gateway.requests if r["RequestId"] == f"vienphi-msg-{message.pk}"]


def test_an_event_delivered_three_times_sends_one_receipt_per_channel_retrying_transients(
    fake_sms_gateway: FakeSmsGateway, fake_smtp: FakeSmtp
) -> None:
    invoice = receipt_invoice()
    pay_link = Message.objects.get(invoice=invoice)
    assert wait_until(lambda: _sent_or_failed(pay_link)), "the pay-link SMS never went out"
    fake_sms_gateway.fail_next(2, "transient")

    payment = paid(invoice=invoice)  # its event is relayed to the worker after commit
    event = OutboxEvent.objects.get(topic="payment.succeeded")
    for _ in range(2):  # the same event again, as a relay that crashed before marking it
        issue_payment_receipt.apply_async(kwargs={"event_id": event.pk, "payment_id": payment.pk})

    assert wait_until(lambda: Message.objects.filter(receipt__isnull=False).count() == 2)
    sms = Message.objects.get(receipt__isnull=False, channel=MessageChannel.SMS)
    email = Message.objects.get(receipt__isnull=False, channel=MessageChannel.EMAIL)
    assert wait_until(lambda: _sent_or_failed(sms) and _sent_or_failed(email))
    assert Receipt.objects.count() == 1
    assert (sms.status, sms.attempts) == (MessageStatus.SENT, 3)
    assert len(_requests_for(fake_sms_gateway, sms)) == 3
    assert email.status == MessageStatus.SENT
    assert len(fake_smtp.messages) == 1
    assert Receipt.objects.get().verification_code in str(fake_smtp.messages[0].get_payload())
    assert pay_link.status == MessageStatus.SENT


def test_a_refund_receipt_message_refused_for_good_is_not_retried(
    fake_sms_gateway: FakeSmsGateway, fake_smtp: FakeSmtp
) -> None:
    payment = paid(invoice=receipt_invoice(email=""))
    assert wait_until(lambda: Receipt.objects.filter(payment=payment).exists())
    assert wait_until(
        lambda: Message.objects.filter(receipt__isnull=False, status=MessageStatus.SENT).exists()
    )
    fake_sms_gateway.fail_next(1, "permanent")

    refunded(payment, 50_000)  # its event is relayed to the worker after commit

    assert wait_until(lambda: Receipt.objects.filter(refund__isnull=False).exists())
    sms = Message.objects.get(receipt__refund__isnull=False)
    assert wait_until(lambda: _sent_or_failed(sms))
    assert (sms.status, sms.attempts, sms.next_attempt_at) == (MessageStatus.FAILED, 1, None)
    assert "146" in sms.last_error
    assert len(_requests_for(fake_sms_gateway, sms)) == 1
