"""Cost and volume: messages per channel and day, with the Zalo messages that fell back and
the ones sent in their place, for the admin and (later) the metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from notifications.models import Message, MessageChannel, MessageStatus
from notifications.selectors import MessageVolume, message_volume
from notifications.services.messages import message_send
from tests.fakes.zalo_server import FakeZalo
from tests.notifications.builders import PHONE, issued

pytestmark = pytest.mark.django_db


def _zalo_message() -> Message:
    """A receipt's Zalo message (the invoice's pay-link message is left out of the counts)."""
    receipt = issued()
    Message.objects.filter(template="pay_link").delete()
    return Message.objects.get(receipt=receipt, channel=MessageChannel.ZALO)


def test_messages_are_counted_per_channel_and_day_with_the_ones_that_fell_back(
    zalo: FakeZalo,
) -> None:
    delivered = _zalo_message()
    message_send(message_id=delivered.pk)
    zalo.no_zalo.add("84912345678")
    fell_back = _zalo_message()
    message_send(message_id=fell_back.pk)
    sms = Message.objects.get(fallback_of=fell_back)
    message_send(message_id=sms.pk)
    yesterday = timezone.now() - timedelta(days=1)
    Message.objects.filter(pk=delivered.pk).update(created_at=yesterday)
    today = timezone.localdate()

    volume = message_volume(since=today - timedelta(days=1), until=today)

    zalo_day = yesterday.astimezone(timezone.get_default_timezone()).date()
    assert MessageVolume(zalo_day, "zalo", 1, 1, 0, 0, 0, 0, 0) in volume
    by_channel = {row.channel: row for row in volume if row.day == today}
    assert by_channel["zalo"] == MessageVolume(today, "zalo", 1, 0, 0, 0, 1, 1, 0)
    assert by_channel["sms"] == MessageVolume(today, "sms", 1, 1, 0, 0, 0, 0, 1)
    assert by_channel["email"].messages == 2  # the copies of both receipts
    assert message_volume(since=today + timedelta(days=1), until=today + timedelta(days=2)) == []


def test_the_admin_shows_the_volume_and_lists_the_messages_that_fell_back(
    zalo: FakeZalo, admin_user: User
) -> None:
    zalo.no_zalo.add("84912345678")
    fell_back = _zalo_message()
    message_send(message_id=fell_back.pk)
    client = Client()
    client.force_login(admin_user)

    page = client.get("/admin/notifications/message/volume/")
    listing = client.get("/admin/notifications/message/?fallback=fell_back")
    instead = client.get("/admin/notifications/message/?fallback=instead")
    detail = client.get(f"/admin/notifications/message/{fell_back.pk}/change/")
    connection = client.get("/admin/notifications/zalotoken/")

    assert page.status_code == listing.status_code == instead.status_code == 200
    text = page.content.decode()
    assert "<td>zalo</td><td>1</td><td>0</td><td>0</td><td>0</td><td>1</td><td>1</td>" in text
    assert "quota left today: 500 of 500" not in text  # nothing was accepted: quota unknown
    assert f"/admin/notifications/message/{fell_back.pk}/change/" in listing.content.decode()
    assert PHONE not in listing.content.decode() + instead.content.decode()
    assert "delivered at" in detail.content.decode().lower()
    assert connection.status_code == 200
    assert Message.objects.get(fallback_of=fell_back).status == MessageStatus.QUEUED
