"""On a real Celery worker (a separate process on the Redis broker): a receipt goes by Zalo to
the local fake Zalo; when the fake says the phone has no Zalo account, the patient gets the
SMS instead, once, through the local fake eSMS gateway."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifications.models import Message, MessageChannel, MessageStatus, Receipt
from tests.celery_worker import celery_worker, wait_until  # noqa: F401 (fixture)
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.zalo_server import FakeZalo
from tests.notifications.builders import paid, receipt_invoice
from tests.notifications.conftest import messaging_settings, zalo_settings

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker_sends_to_the_fakes", "celery_worker"),
]

NO_ZALO_PHONE = "0987654321"


@pytest.fixture
def worker_sends_to_the_fakes(
    monkeypatch: pytest.MonkeyPatch,
    zalo: FakeZalo,
    fake_sms_gateway: FakeSmsGateway,
    fake_smtp: FakeSmtp,
    tmp_path: Path,
) -> None:
    """The worker process reads its settings from the environment it is started with (this
    process has them from the ``zalo`` fixture, which also connected the OA)."""
    variables = {**messaging_settings(fake_sms_gateway, fake_smtp), **zalo_settings(zalo)}
    for name, value in variables.items():
        monkeypatch.setenv(name, str(value).lower() if isinstance(value, bool) else str(value))
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path))


def _settled(message: Message) -> bool:
    message.refresh_from_db()
    return message.status in (MessageStatus.SENT, MessageStatus.FAILED)


def _receipt_message(invoice_id: int) -> Message | None:
    return Message.objects.filter(
        receipt__payment__invoice_id=invoice_id, channel=MessageChannel.ZALO
    ).first()


def test_a_worker_sends_a_receipt_by_zalo_then_by_sms_when_the_phone_has_no_zalo(
    zalo: FakeZalo, fake_sms_gateway: FakeSmsGateway
) -> None:
    zalo.no_zalo.add("84987654321")
    on_zalo = receipt_invoice(email="")
    not_on_zalo = receipt_invoice(email="", phone=NO_ZALO_PHONE)

    paid(invoice=on_zalo)  # each event is relayed to the worker after commit
    paid(invoice=not_on_zalo)

    assert wait_until(lambda: Receipt.objects.count() == 2)
    assert wait_until(
        lambda: None not in (_receipt_message(on_zalo.pk), _receipt_message(not_on_zalo.pk))
    )
    by_zalo = _receipt_message(on_zalo.pk)
    refused = _receipt_message(not_on_zalo.pk)
    assert by_zalo is not None
    assert refused is not None
    assert wait_until(lambda: _settled(by_zalo) and _settled(refused))
    assert by_zalo.status == MessageStatus.SENT
    assert zalo.messages[by_zalo.provider_message_id]["template_id"] == "1002"
    assert refused.status == MessageStatus.FAILED
    assert "ZNS -118" in refused.last_error
    assert wait_until(lambda: Message.objects.filter(fallback_of=refused).exists())
    sms = Message.objects.get(fallback_of=refused)
    assert wait_until(lambda: _settled(sms))
    assert (sms.channel, sms.status, sms.recipient) == (
        MessageChannel.SMS,
        MessageStatus.SENT,
        NO_ZALO_PHONE,
    )
    receipt_sms = [
        r for r in fake_sms_gateway.requests if r["RequestId"] == f"vienphi-msg-{sms.pk}"
    ]
    assert len(receipt_sms) == 1
    assert refused.receipt is not None
    assert refused.receipt.display_number in receipt_sms[0]["Content"]
    assert not Message.objects.filter(
        receipt__payment__invoice=on_zalo, channel=MessageChannel.SMS
    ).exists()
