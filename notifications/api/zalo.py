"""Zalo's webhook (``POST /webhooks/zalo``): delivery events of our ZNS messages.

Zalo signs each event (``X-ZEvent-Signature``, see ``notifications.backends.zalo``) and wants
HTTP 200 within 2 seconds, else it retries for hours and then disables the app's webhook:
the event is verified and applied with one UPDATE, nothing slow. Refused, with a 4xx and a
log line that carries no personal data (never the body, the phone or Zalo's user id):

* a body that is not an event of our app (``400 zalo_event_invalid``);
* a signature that does not verify (``401 zalo_signature_invalid``): forged or another key;
* a delivery event for a ``msg_id`` we never sent (``404 zalo_message_unknown``).

A correctly signed event of another kind (Zalo sends every event the app subscribed to, to
this one URL) is acknowledged and ignored: refusing it would make Zalo retry it, then
disable the webhook. A repeated event changes nothing (statuses only move forward).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.backends.zalo import webhook_verify
from notifications.errors import (
    ZaloEventInvalid,
    ZaloMessageUnknown,
    ZaloNotConfigured,
    ZaloSignatureInvalid,
)
from notifications.services.zalo import ZALO_DELIVERY_EVENTS, zalo_event_apply
from payments.api.webhooks import WebhookApi

logger = logging.getLogger(__name__)


def _event_time(event: dict[str, Any]) -> datetime:
    """When Zalo says it happened: ``message.delivery_time``, else ``timestamp`` (epoch ms,
    a string or a number), else now."""
    message = event.get("message")
    delivery_time = message.get("delivery_time") if isinstance(message, dict) else None
    for value in (delivery_time, event.get("timestamp")):
        try:
            return datetime.fromtimestamp(int(str(value)) / 1000, tz=UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            continue
    return timezone.now()


def _event(raw: bytes) -> dict[str, Any]:
    try:
        event = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        event = None
    if not isinstance(event, dict):
        logger.warning("zalo webhook refused: the body is not a JSON object")
        raise ZaloEventInvalid("The body is not a JSON object.")
    if str(event.get("app_id", "")) != settings.ZALO_APP_ID:
        logger.warning("zalo webhook refused: not for this app")
        raise ZaloEventInvalid("The event is not for this application.", param="app_id")
    return event


@extend_schema(exclude=True)
class ZaloWebhookApi(WebhookApi):
    def post(self, request: Request) -> Response:
        if not (settings.ZALO_ENABLED and settings.ZALO_APP_ID and settings.ZALO_OA_SECRET_KEY):
            logger.error("zalo webhook received but Zalo is not configured on this installation")
            raise ZaloNotConfigured()
        raw: bytes = request.body  # the bytes Zalo signed
        event = _event(raw)
        name = str(event.get("event_name", ""))[:60]
        if not webhook_verify(
            body=raw,
            event=event,
            header=request.headers.get("X-ZEvent-Signature", ""),
            header_timestamp=request.headers.get("X-ZEvent-Timestamp", ""),
        ):
            logger.warning("zalo webhook refused: the signature does not verify (event %s)", name)
            raise ZaloSignatureInvalid()
        if name not in ZALO_DELIVERY_EVENTS:
            logger.info("zalo webhook event %s acknowledged and ignored", name or "(no name)")
            return Response({"received": True, "ignored": True})
        message = event.get("message")
        msg_id = str(message.get("msg_id", "")) if isinstance(message, dict) else ""
        if not msg_id:
            logger.warning("zalo webhook refused: %s without message.msg_id", name)
            raise ZaloEventInvalid("The event has no message.msg_id.", param="message.msg_id")
        try:
            updated = zalo_event_apply(event_name=name, msg_id=msg_id, at=_event_time(event))
        except ZaloMessageUnknown:
            logger.warning("zalo webhook refused: %s for unknown msg_id %s", name, msg_id[:40])
            raise
        return Response({"received": True, "updated": updated})
