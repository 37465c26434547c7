"""Zalo notifications (ZNS) through the real protocol against a local fake Zalo: a receipt or a
pay link goes by Zalo first; a phone without Zalo, or a permanent ZNS failure, gets the SMS
instead, once; transient failures retry with the messages' backoff; an expired token is
refreshed once and the message sent again; the patient's preference wins; parameters fit
ZNS's limits and carry nothing personal."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from config.identity.models import Role
from notifications.models import Message, MessageChannel, MessageStatus, ZaloToken
from notifications.services.messages import message_fall_back, message_send
from notifications.zns import zns_template
from tests.assertions import assert_error
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.zalo_server import FakeZalo
from tests.notifications.builders import PATIENT_NAME, PHONE, issued, receipt_invoice

pytestmark = pytest.mark.django_db

ZALO_PHONE = "84912345678"


def _by_channel(**filters: Any) -> dict[str, Message]:
    return {m.channel: m for m in Message.objects.filter(**filters)}


def _receipt_by_zalo() -> tuple[Any, Message]:
    receipt = issued()
    return receipt, Message.objects.get(receipt=receipt, channel=MessageChannel.ZALO)


def test_a_receipt_goes_by_zalo_in_zns_format_with_an_email_copy_and_no_sms(
    zalo: FakeZalo, fake_sms_gateway: FakeSmsGateway
) -> None:
    receipt = issued()
    messages = _by_channel(receipt=receipt)
    assert set(messages) == {MessageChannel.ZALO, MessageChannel.EMAIL}
    message = messages[MessageChannel.ZALO]

    outcome = message_send(message_id=message.pk)

    assert outcome.status == MessageStatus.SENT
    (request,) = zalo.sends
    assert request["phone"] == ZALO_PHONE
    assert request["template_id"] == "1002"
    assert request["tracking_id"] == f"vienphi-msg-{message.pk}"
    assert request["template_data"] == {
        "hospital_name": "Bệnh viện Đa khoa Demo Hà Nội",
        "receipt_code": receipt.display_number,
        "amount": "120.000",
        "paid_at": receipt.content["issued_on"],
        "receipt_url": receipt.content["verification_url"],
    }
    sent = json.dumps(request, ensure_ascii=False)
    assert PATIENT_NAME not in sent
    assert not re.search(r"\d{12}", sent)  # no citizen ID
    message.refresh_from_db()
    assert message.provider_message_id in zalo.messages
    assert message.sent_at is not None
    assert fake_sms_gateway.requests == []
    assert ZaloToken.objects.get().remaining_quota == 499


def test_a_pay_link_goes_by_zalo_with_its_link_as_a_parameter(zalo: FakeZalo) -> None:
    invoice = receipt_invoice()
    message = Message.objects.get(invoice=invoice)
    assert message.channel == MessageChannel.ZALO

    assert message_send(message_id=message.pk).status == MessageStatus.SENT

    (request,) = zalo.sends
    data = request["template_data"]
    assert request["template_id"] == "1001"
    assert (data["invoice_code"], data["amount"]) == (invoice.display_number, "120.000")
    assert data["pay_url"].startswith("http://127.0.0.1:8000/p/")


@pytest.mark.parametrize(("phones", "code"), [("no_zalo", "-118"), ("cannot_receive", "-114")])
def test_a_phone_without_zalo_gets_the_sms_instead_once(
    zalo: FakeZalo, fake_sms_gateway: FakeSmsGateway, phones: str, code: str
) -> None:
    getattr(zalo, phones).add(ZALO_PHONE)
    receipt, message = _receipt_by_zalo()

    outcome = message_send(message_id=message.pk)
    again = message_send(message_id=message.pk)
    fallback_again = message_fall_back(message=message)

    assert outcome.status == again.status == MessageStatus.FAILED
    message.refresh_from_db()
    assert f"ZNS {code}" in message.last_error
    sms = Message.objects.get(fallback_of=message)
    assert fallback_again == sms
    assert (sms.channel, sms.recipient, sms.receipt) == (MessageChannel.SMS, PHONE, receipt)
    assert receipt.display_number in sms.body
    assert message_send(message_id=sms.pk).status == MessageStatus.SENT
    assert message_send(message_id=sms.pk).status == MessageStatus.SENT
    assert len(fake_sms_gateway.requests) == 1
    assert len(zalo.sends) == 1
    assert Message.objects.filter(receipt=receipt, channel=MessageChannel.SMS).count() == 1


@pytest.mark.parametrize("failure", ["template_data_invalid", "quota_exceeded"])
def test_a_permanent_zns_failure_falls_back_to_sms_and_alerts_a_person(
    zalo: FakeZalo, settings: Any, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    if failure == "quota_exceeded":
        zalo.remaining_quota = 0
    else:  # the hospital's template has parameters our mapping does not fill
        settings.ZALO_TEMPLATE_PARAMS = {"receipt": {"receipt_code": "number:code"}}
    _, message = _receipt_by_zalo()

    with caplog.at_level(logging.INFO):
        outcome = message_send(message_id=message.pk)

    assert outcome.status == MessageStatus.FAILED
    message.refresh_from_db()
    expected = "ZNS -115" if failure == "quota_exceeded" else "ZNS -112"
    assert expected in message.last_error
    assert Message.objects.get(fallback_of=message).channel == MessageChannel.SMS
    alerts = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("needs attention" in r.getMessage() for r in alerts)
    assert PHONE not in caplog.text
    assert ZALO_PHONE not in caplog.text


@pytest.mark.parametrize("fault", [-100, "http503"])
def test_a_transient_zns_failure_is_retried_with_backoff_and_does_not_fall_back(
    zalo: FakeZalo, settings: Any, fault: int | str
) -> None:
    settings.MESSAGE_RETRY_BASE_SECONDS = 30
    zalo.fail_next(fault, times=2)
    _, message = _receipt_by_zalo()

    outcomes = [message_send(message_id=message.pk) for _ in range(3)]

    assert [(o.status, o.retry_in) for o in outcomes] == [
        (MessageStatus.QUEUED, 30),
        (MessageStatus.QUEUED, 60),
        (MessageStatus.SENT, None),
    ]
    assert not Message.objects.filter(fallback_of=message).exists()
    assert {r["tracking_id"] for r in zalo.sends} == {f"vienphi-msg-{message.pk}"}
    assert len(zalo.messages) == 1


def test_zalo_failing_until_its_attempts_are_used_up_falls_back_once(
    zalo: FakeZalo, settings: Any
) -> None:
    settings.MESSAGE_MAX_ATTEMPTS = 2
    zalo.fail_next(-100, times=5)
    _, message = _receipt_by_zalo()

    statuses = [message_send(message_id=message.pk).status for _ in range(3)]

    assert statuses == [MessageStatus.QUEUED, MessageStatus.FAILED, MessageStatus.FAILED]
    assert Message.objects.filter(fallback_of=message).count() == 1


def test_an_expired_token_is_refreshed_once_and_the_message_sent_again(zalo: FakeZalo) -> None:
    _, message = _receipt_by_zalo()
    version = ZaloToken.objects.get().version
    zalo.expire_access_tokens()

    outcome = message_send(message_id=message.pk)

    assert outcome.status == MessageStatus.SENT
    assert zalo.refresh_calls == 1
    assert len(zalo.sends) == 2  # refused with -220, then accepted with the new token
    assert len(zalo.messages) == 1
    assert ZaloToken.objects.get().version == version + 1


def test_a_refresh_token_zalo_refuses_disconnects_zalo_and_messages_go_by_sms(
    zalo: FakeZalo, caplog: pytest.LogCaptureFixture
) -> None:
    _, message = _receipt_by_zalo()
    zalo.expire_access_tokens()
    zalo.refresh_tokens.clear()  # revoked at Zalo

    with caplog.at_level(logging.INFO):
        outcome = message_send(message_id=message.pk)

    assert outcome.status == MessageStatus.FAILED
    assert ZaloToken.objects.get().needs_authorization
    assert Message.objects.get(fallback_of=message).channel == MessageChannel.SMS
    assert "connect the Official Account again" in caplog.text
    later = set(_by_channel(receipt=issued()))
    assert later == {MessageChannel.SMS, MessageChannel.EMAIL}


@pytest.mark.parametrize(
    ("order", "preferred", "expected"),
    [
        ("zalo,sms,email", "", {MessageChannel.ZALO, MessageChannel.EMAIL}),
        ("zalo,sms,email", "sms", {MessageChannel.SMS, MessageChannel.EMAIL}),
        ("zalo,sms,email", "email", {MessageChannel.EMAIL}),
        ("sms,zalo,email", "", {MessageChannel.SMS, MessageChannel.EMAIL}),
        ("sms,zalo,email", "zalo", {MessageChannel.ZALO, MessageChannel.EMAIL}),
    ],
)
def test_the_patients_preference_wins_over_the_hospitals_order(
    zalo: FakeZalo, settings: Any, order: str, preferred: str, expected: set[str]
) -> None:
    settings.MESSAGE_CHANNELS = order.split(",")

    receipt = issued(invoice=receipt_invoice(preferred_channel=preferred))

    assert set(_by_channel(receipt=receipt)) == expected


def test_a_zalo_message_falls_back_to_the_next_channel_of_the_order(
    zalo: FakeZalo, settings: Any
) -> None:
    settings.MESSAGE_CHANNELS = ["zalo", "email"]
    settings.RECEIPT_EMAIL_COPY = False
    zalo.no_zalo.add(ZALO_PHONE)
    _, message = _receipt_by_zalo()

    message_send(message_id=message.pk)

    assert Message.objects.get(fallback_of=message).channel == MessageChannel.EMAIL


def test_without_zalo_enabled_messages_go_by_sms_and_email_as_before(
    zalo: FakeZalo, settings: Any
) -> None:
    settings.ZALO_ENABLED = False

    receipt = issued()

    assert set(_by_channel(receipt=receipt)) == {MessageChannel.SMS, MessageChannel.EMAIL}


def test_a_link_too_long_for_zns_goes_by_sms(zalo: FakeZalo, settings: Any) -> None:
    settings.PUBLIC_BASE_URL = "https://vienphi.example.vn/" + "x" * 200

    receipt = issued()

    assert set(_by_channel(receipt=receipt)) == {MessageChannel.SMS, MessageChannel.EMAIL}


def test_a_long_hospital_name_is_cut_at_a_word_within_its_type_and_codes_are_never_cut(
    settings: Any,
) -> None:
    settings.ZALO_TEMPLATE_IDS = {"receipt": "1002"}
    context = {
        "hospital": "Bệnh viện Đa khoa Trung ương Quảng Ninh cơ sở hai",
        "number": "5K26TKA-00000042",
        "amount": "1.250.000",
        "issued_on": "04/12/2026",
        "url": "https://vienphi.example.vn/r/ABCDEFGH2345",
    }

    template_id, data = zns_template(template="receipt", context=context)

    assert template_id == "1002"
    assert data["hospital_name"] == "Bệnh viện Đa khoa Trung ương"
    assert len(data["hospital_name"]) <= 30
    assert data["receipt_code"] == "5K26TKA-00000042"


def test_a_template_mapped_to_anything_but_the_offered_values_is_refused(settings: Any) -> None:
    settings.ZALO_TEMPLATE_IDS = {"receipt": "1002"}
    settings.ZALO_TEMPLATE_PARAMS = {"receipt": {"cccd": "citizen_id:code"}}

    with pytest.raises(ImproperlyConfigured, match="citizen_id"):
        zns_template(template="receipt", context={"citizen_id": "001090123456"})


def test_staff_resend_a_receipt_by_zalo_and_zalo_off_is_channel_unavailable(
    zalo: FakeZalo, settings: Any, staff_client: Callable[..., APIClient]
) -> None:
    receipt = issued()
    client = staff_client(Role.CASHIER)

    def resend(key: str) -> Any:
        return client.post(
            f"/api/v1/receipts/{receipt.public_id}/resend",
            {"channel": "zalo"},
            format="json",
            headers={"Idempotency-Key": key},
        )

    sent = resend("zalo-resend-1")
    settings.ZALO_ENABLED = False
    refused = resend("zalo-resend-2")

    assert sent.status_code == 202
    assert sent.json()["channel"] == MessageChannel.ZALO
    resent = Message.objects.get(public_id=sent.json()["id"])
    assert (resent.fallback_channel, resent.fallback_recipient) == (MessageChannel.SMS, PHONE)
    assert_error(refused, 409, "channel_unavailable", param="channel")
