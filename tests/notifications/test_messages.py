"""Sending patient messages through the real protocols: SMS to a local fake eSMS.vn gateway
over HTTP, e-mail through Django's SMTP backend to a local fake SMTP server. Transient
failures wait and retry with backoff, permanent ones stop, a sent message never goes out
again; recipients never reach the logs."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.header import decode_header, make_header
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from billing.models import EncounterKind
from billing.services.deposits import encounter_discharge
from notifications.models import Message, MessageChannel, MessageStatus
from notifications.services.messages import message_send, messages_due, retry_delay
from tests.billing.builders import charges_post, price_item
from tests.fakes.sms_gateway import BRAND_NAME, FakeSmsGateway
from tests.fakes.smtp_server import FakeSmtp
from tests.notifications.builders import (
    EMAIL,
    PATIENT_NAME,
    PHONE,
    issued,
    paid,
    patient_encounter,
    receipt_invoice,
)

pytestmark = pytest.mark.django_db


def _message(receipt_channel: str) -> Message:
    return Message.objects.get(receipt=issued(), channel=receipt_channel)


def test_a_receipt_sms_goes_out_in_esms_format_without_personal_data_beyond_the_link(
    messaging: tuple[FakeSmsGateway, FakeSmtp],
) -> None:
    gateway, _ = messaging
    message = _message(MessageChannel.SMS)

    outcome = message_send(message_id=message.pk)

    message.refresh_from_db()
    assert outcome.status == message.status == MessageStatus.SENT
    (request,) = gateway.requests
    assert request["Phone"] == PHONE
    assert (request["Brandname"], request["SmsType"], request["IsUnicode"]) == (
        BRAND_NAME,
        "2",
        "0",
    )
    assert request["RequestId"] == f"vienphi-msg-{message.pk}"
    assert message.provider_message_id == gateway.delivered[request["RequestId"]]["SMSID"]
    content = request["Content"]
    assert "120.000" in content
    assert message.receipt.verification_code in content  # type: ignore[union-attr]
    assert content.isascii()
    assert "Hang" not in content
    assert PATIENT_NAME not in content


def test_a_receipt_email_is_delivered_over_smtp(messaging: tuple[FakeSmsGateway, FakeSmtp]) -> None:
    _, smtp = messaging
    message = _message(MessageChannel.EMAIL)

    assert message_send(message_id=message.pk).status == MessageStatus.SENT

    (delivered,) = smtp.messages
    assert delivered["To"] == EMAIL
    subject = str(make_header(decode_header(delivered["Subject"])))
    assert subject.endswith(f"biên lai {message.receipt.display_number}")  # type: ignore[union-attr]
    payload = delivered.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.decode().strip() == message.body
    message.refresh_from_db()
    assert message.provider_message_id == delivered["Message-ID"]


@pytest.mark.parametrize("fault", ["transient", "http503"])
def test_a_transient_gateway_failure_is_retried_later_with_backoff(
    messaging: tuple[FakeSmsGateway, FakeSmtp], settings: Any, fault: str
) -> None:
    gateway, _ = messaging
    settings.MESSAGE_RETRY_BASE_SECONDS = 30
    gateway.fail_next(2, fault)
    message = _message(MessageChannel.SMS)

    first = message_send(message_id=message.pk)
    second = message_send(message_id=message.pk)
    third = message_send(message_id=message.pk)

    assert (first.status, first.retry_in) == (MessageStatus.QUEUED, 30)
    assert (second.status, second.retry_in) == (MessageStatus.QUEUED, 60)
    assert third.status == MessageStatus.SENT
    message.refresh_from_db()
    assert message.attempts == 3
    assert len(gateway.requests) == 3
    assert len({r["RequestId"] for r in gateway.requests}) == 1


def test_backoff_doubles_and_stays_below_the_brokers_visibility_timeout(settings: Any) -> None:
    settings.MESSAGE_RETRY_BASE_SECONDS = 30
    settings.MESSAGE_RETRY_MAX_SECONDS = 1800

    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert (
        retry_delay(20) == 900 <= settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] / 4
    )


def test_a_permanent_failure_stops_at_once(messaging: tuple[FakeSmsGateway, FakeSmtp]) -> None:
    gateway, _ = messaging
    gateway.fail_next(1, "permanent")
    message = _message(MessageChannel.SMS)

    outcome = message_send(message_id=message.pk)
    again = message_send(message_id=message.pk)

    assert (outcome.status, outcome.retry_in) == (MessageStatus.FAILED, None)
    assert again.status == MessageStatus.FAILED
    message.refresh_from_db()
    assert message.attempts == 1
    assert "146" in message.last_error
    assert len(gateway.requests) == 1


def test_wrong_gateway_credentials_are_permanent(
    messaging: tuple[FakeSmsGateway, FakeSmtp], settings: Any
) -> None:
    settings.SMS_SECRET_KEY = "wrong"
    message = _message(MessageChannel.SMS)

    assert message_send(message_id=message.pk).status == MessageStatus.FAILED
    message.refresh_from_db()
    assert "101" in message.last_error


def test_after_max_attempts_a_transient_failure_gives_up(
    messaging: tuple[FakeSmsGateway, FakeSmtp], settings: Any
) -> None:
    gateway, _ = messaging
    settings.MESSAGE_MAX_ATTEMPTS = 3
    gateway.fail_next(5, "transient")
    message = _message(MessageChannel.SMS)

    outcomes = [message_send(message_id=message.pk).status for _ in range(4)]

    assert outcomes == ["queued", "queued", "failed", "failed"]
    assert len(gateway.requests) == 3


def test_an_unreachable_gateway_is_transient(settings: Any) -> None:
    settings.SMS_BACKEND = "esms"
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/nothing-listens-here"
    message = _message(MessageChannel.SMS)

    assert message_send(message_id=message.pk).status == MessageStatus.QUEUED
    message.refresh_from_db()
    assert "unreachable" in message.last_error


@pytest.mark.parametrize(
    ("code", "status"), [(451, MessageStatus.QUEUED), (550, MessageStatus.FAILED)]
)
def test_smtp_4xx_is_retried_and_5xx_is_final(
    messaging: tuple[FakeSmsGateway, FakeSmtp], code: int, status: str
) -> None:
    _, smtp = messaging
    smtp.fail_next_recipient(code)
    message = _message(MessageChannel.EMAIL)

    assert message_send(message_id=message.pk).status == status
    assert smtp.messages == []


def test_a_sent_message_is_never_sent_again(messaging: tuple[FakeSmsGateway, FakeSmtp]) -> None:
    gateway, _ = messaging
    message = _message(MessageChannel.SMS)

    statuses = [message_send(message_id=message.pk).status for _ in range(3)]

    assert statuses == [MessageStatus.SENT] * 3
    assert len(gateway.requests) == 1


def test_the_console_backend_logs_a_masked_number_only(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.SMS_BACKEND = "console"
    message = _message(MessageChannel.SMS)

    with caplog.at_level(logging.INFO):
        assert message_send(message_id=message.pk).status == MessageStatus.SENT

    assert "091****678" in caplog.text
    assert PHONE not in caplog.text


def test_beat_finds_messages_whose_task_was_lost() -> None:
    receipt = issued()
    sms, email = (Message.objects.get(receipt=receipt, channel=c) for c in ("sms", "email"))
    long_ago = timezone.now() - timedelta(hours=1)
    Message.objects.filter(pk=sms.pk).update(updated_at=long_ago)
    Message.objects.filter(pk=email.pk).update(status=MessageStatus.SENDING, updated_at=long_ago)
    fresh = Message.objects.filter(receipt=issued()).values_list("pk", flat=True)

    due = messages_due()

    assert set(due) == {sms.pk, email.pk}
    assert not set(fresh) & set(due)
    assert Message.objects.get(pk=email.pk).status == MessageStatus.QUEUED


def test_the_admin_lists_failed_messages_masked_and_resends_them(
    admin_user: User, messaging: tuple[FakeSmsGateway, FakeSmtp]
) -> None:
    gateway, _ = messaging
    gateway.fail_next(1, "permanent")
    message = _message(MessageChannel.SMS)
    message_send(message_id=message.pk)
    client = Client()
    client.force_login(admin_user)

    listing = client.get("/admin/notifications/message/?delivery=failed")
    response = client.post(
        "/admin/notifications/message/", {"action": "resend", "_selected_action": [message.pk]}
    )

    assert listing.status_code == 200
    assert "091****678" in listing.content.decode()
    assert PHONE not in listing.content.decode()
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts, message.resends) == (MessageStatus.QUEUED, 0, 1)
    assert message_send(message_id=message.pk).status == MessageStatus.SENT
    refused, resent = gateway.requests
    assert resent["RequestId"] == f"{refused['RequestId']}-r1"


def test_an_invoice_issued_to_a_patient_with_a_phone_queues_a_pay_link_sms(
    client: Client,
) -> None:
    invoice = receipt_invoice()

    sms = Message.objects.get(invoice=invoice, template="pay_link")

    assert (sms.channel, sms.recipient) == (MessageChannel.SMS, PHONE)
    assert "120.000" in sms.body
    assert invoice.display_number in sms.body
    assert "Hang" not in sms.body
    link = sms.body.split("Thanh toan tai: ")[1].split()[0]
    page = client.get(urlsplit(link).path)  # the phone's pay page of that invoice
    assert page.status_code == 200
    assert invoice.display_number in page.content.decode()


def test_no_pay_link_sms_without_a_phone() -> None:
    invoice = receipt_invoice(phone="")

    assert not Message.objects.filter(invoice=invoice).exists()


def test_the_console_backend_never_logs_a_pay_links_token(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.SMS_BACKEND = "console"
    sms = Message.objects.get(invoice=receipt_invoice(), template="pay_link")
    token = urlsplit(sms.body.split()[-1]).path.rsplit("/", 1)[1]

    with caplog.at_level(logging.INFO):
        assert message_send(message_id=sms.pk).status == MessageStatus.SENT

    assert "/p/<token>" in caplog.text
    assert token not in caplog.text


def test_the_receipt_admin_is_read_only_and_lists_no_names(admin_user: User) -> None:
    receipt = issued()
    client = Client()
    client.force_login(admin_user)

    listing = client.get("/admin/notifications/receipt/")
    detail = client.get(f"/admin/notifications/receipt/{receipt.pk}/change/")

    assert listing.status_code == detail.status_code == 200
    assert receipt.display_number in listing.content.decode()
    assert PATIENT_NAME not in listing.content.decode()
    assert b'name="_save"' not in detail.content


def test_an_address_the_mail_library_rejects_counts_as_an_attempt_and_logs_no_address(
    messaging: tuple[FakeSmsGateway, FakeSmtp], settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MESSAGE_MAX_ATTEMPTS = 2
    message = _message(MessageChannel.EMAIL)
    Message.objects.filter(pk=message.pk).update(recipient="bad\nheader@example.vn")

    with caplog.at_level(logging.INFO):
        statuses = [message_send(message_id=message.pk).status for _ in range(3)]

    assert statuses == ["queued", "failed", "failed"]
    message.refresh_from_db()
    assert message.last_error == "unexpected ValueError"
    assert "header@example.vn" not in caplog.text


@pytest.mark.parametrize(("advance", "sms_amount"), [(2_000_000, None), (50_000, "70.000")])
def test_at_discharge_the_pay_link_sms_asks_only_what_the_advances_leave_to_pay(
    advance: int, sms_amount: str | None
) -> None:
    encounter, _ = patient_encounter(kind=EncounterKind.INPATIENT)
    paid(encounter=encounter, amount=advance)
    charges_post(
        encounter,
        (price_item(price=500_000), 1),
        (price_item(price=20_000, insurance_price=None), 1),
    )

    result = encounter_discharge(encounter=encounter, by="test")

    (invoice,) = result.invoices
    assert invoice.patient_share == 120_000
    sms = Message.objects.filter(invoice=invoice, template="pay_link").first()
    if sms_amount is None:
        assert sms is None
    else:
        assert sms is not None
        assert f"thanh toan {sms_amount} dong" in sms.body
