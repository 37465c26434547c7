"""Zalo's delivery webhook: a signed event moves a Zalo message to delivered (and read, if
Zalo ever sends that for ZNS), only forward; a forged, foreign or unknown event is refused
with a 4xx and logged without personal data; the admin and the receipt API show the status."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from config.identity.models import Role
from notifications.models import Message, MessageChannel, MessageStatus
from notifications.services.messages import message_send
from tests.assertions import assert_error
from tests.fakes.zalo_server import FakeZalo
from tests.notifications.builders import PHONE, issued

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(zalo: FakeZalo) -> Message:
    """A receipt's Zalo message, accepted by Zalo."""
    message = Message.objects.get(receipt=issued(), channel=MessageChannel.ZALO)
    assert message_send(message_id=message.pk).status == MessageStatus.SENT
    message.refresh_from_db()
    return message


def _post(client: Client, body: bytes, headers: dict[str, str]) -> Any:
    return client.post("/webhooks/zalo", body, content_type="application/json", headers=headers)


def test_a_signed_delivery_event_marks_the_message_delivered_and_the_receipt_api_shows_it(
    client: Client, zalo: FakeZalo, sent: Message, staff_client: Callable[..., APIClient]
) -> None:
    response = _post(client, *zalo.signed_event("user_received_message", sent.provider_message_id))

    assert response.status_code == 200
    assert response.json() == {"received": True, "updated": True}
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED
    assert sent.delivered_at is not None
    assert sent.receipt is not None
    body = staff_client(Role.CASHIER).get(f"/api/v1/receipts/{sent.receipt.public_id}").json()
    (shown,) = [m for m in body["messages"] if m["channel"] == "zalo"]
    assert shown["status"] == "delivered"
    assert shown["delivered_at"] is not None
    assert shown["read_at"] is None


def test_a_seen_event_marks_it_read_and_a_late_or_repeated_delivery_changes_nothing(
    client: Client, zalo: FakeZalo, sent: Message
) -> None:
    delivered = zalo.signed_event("user_received_message", sent.provider_message_id)
    seen = zalo.signed_event("user_seen_message", sent.provider_message_id)

    answers = [_post(client, *event).json()["updated"] for event in (seen, delivered, delivered)]

    assert answers == [True, False, False]
    sent.refresh_from_db()
    assert sent.status == MessageStatus.READ
    assert sent.read_at is not None
    assert sent.delivered_at is not None  # reading implies it reached the phone


def test_the_timestamp_may_come_in_a_header(client: Client, zalo: FakeZalo, sent: Message) -> None:
    event = zalo.signed_event(
        "user_received_message", sent.provider_message_id, timestamp_in="header"
    )

    assert _post(client, *event).status_code == 200


@pytest.mark.parametrize(
    ("forgery", "status", "code", "param"),
    [
        ("another_secret", 401, "zalo_signature_invalid", None),
        ("no_signature", 401, "zalo_signature_invalid", None),
        ("another_app", 400, "zalo_event_invalid", "app_id"),
        ("unknown_msg_id", 404, "zalo_message_unknown", "message.msg_id"),
        ("not_json", 400, "zalo_event_invalid", None),
    ],
)
def test_a_forged_foreign_or_unknown_event_is_refused_and_logged_without_personal_data(
    client: Client,
    zalo: FakeZalo,
    sent: Message,
    caplog: pytest.LogCaptureFixture,
    forgery: str,
    status: int,
    code: str,
    param: str | None,
) -> None:
    msg_id = "0" * 32 if forgery == "unknown_msg_id" else sent.provider_message_id
    body, headers = zalo.signed_event(
        "user_received_message",
        msg_id,
        secret="not-the-oa-secret" if forgery == "another_secret" else "fake-zalo-oa-secret-key",
        app_id="999" if forgery == "another_app" else "1743556593977626805",
    )
    if forgery == "no_signature":
        headers = {}
    if forgery == "not_json":
        body = b"mac=not json"

    with caplog.at_level(logging.INFO):
        response = _post(client, body, headers)

    assert_error(response, status, code, param=param)
    assert "zalo webhook refused" in caplog.text
    assert PHONE not in caplog.text
    assert "8361729405518237451" not in caplog.text  # the Zalo user id of the event
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT


def test_a_signed_event_of_another_kind_is_acknowledged_and_ignored(
    client: Client, zalo: FakeZalo, sent: Message
) -> None:
    response = _post(client, *zalo.signed_event("user_send_text", sent.provider_message_id))

    assert response.json() == {"received": True, "ignored": True}
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT


def test_the_webhook_is_refused_while_zalo_is_not_configured(
    client: Client, zalo: FakeZalo, settings: Any, sent: Message
) -> None:
    settings.ZALO_ENABLED = False

    response = _post(client, *zalo.signed_event("user_received_message", sent.provider_message_id))

    assert_error(response, 503, "zalo_not_configured")
