"""Zalo messages: hand one to ZNS with a fresh token, and apply Zalo's delivery events.

There may be no "read" event for ZNS: Zalo documents ``user_seen_message`` for Official
Account messages; whether it is sent for ZNS is (check). ``user_received_message`` (the
message reached the phone) is the usual last status of a Zalo message.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F
from django.db.models.functions import Coalesce

from notifications.backends import TransientSendError
from notifications.backends.zalo import ZaloTokenRejected, zns_send
from notifications.errors import ZaloMessageUnknown
from notifications.models import Message, MessageChannel, MessageStatus
from notifications.services.zalo_tokens import (
    zalo_access_token,
    zalo_quota_record,
    zalo_token_refresh,
)

# Zalo's webhook events that move a message on, and to what.
ZALO_DELIVERY_EVENTS = {
    "user_received_message": MessageStatus.DELIVERED,
    "user_seen_message": MessageStatus.READ,  # (check) for ZNS
}


def zalo_message_deliver(*, message: Message, tracking_id: str) -> str:
    """Send a Zalo message once; returns Zalo's ``msg_id``. When Zalo refuses the access
    token, the token is refreshed (once across workers: ``zalo_token_refresh``) and the
    message sent once more; refused again, it is a transient failure. No transaction is
    open here."""

    def send(access_token: str) -> str:
        accepted = zns_send(
            phone=message.recipient,
            template_id=message.zns_template_id,
            template_data=message.zns_template_data,
            tracking_id=tracking_id,
            access_token=access_token,
        )
        zalo_quota_record(accepted=accepted)
        return accepted.msg_id

    token = zalo_access_token()
    try:
        return send(token.value)
    except ZaloTokenRejected:
        fresh = zalo_token_refresh(seen_version=token.version)
    try:
        return send(fresh.value)
    except ZaloTokenRejected as error:
        raise TransientSendError(f"{error} (again after a refresh)") from None


def zalo_event_apply(*, event_name: str, msg_id: str, at: datetime) -> bool:
    """Move the Zalo message ``msg_id`` to ``delivered`` or ``read`` (at ``at``). Only
    forward: a repeated or late event changes nothing (False). Raises
    :class:`ZaloMessageUnknown` when no Zalo message of ours has that ``msg_id``."""
    status = ZALO_DELIVERY_EVENTS[event_name]
    message = (
        Message.objects.filter(channel=MessageChannel.ZALO, provider_message_id=msg_id)
        .only("pk")
        .first()
    )
    if message is None or not msg_id:
        raise ZaloMessageUnknown(param="message.msg_id")
    mine = Message.objects.filter(pk=message.pk)
    if status == MessageStatus.DELIVERED:
        return bool(mine.filter(status=MessageStatus.SENT).update(status=status, delivered_at=at))
    return bool(
        mine.filter(status__in=[MessageStatus.SENT, MessageStatus.DELIVERED]).update(
            status=status, read_at=at, delivered_at=Coalesce(F("delivered_at"), at)
        )
    )
