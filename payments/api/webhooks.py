"""Provider webhooks: Stripe, and the Casso and SePay bank feeds (outside ``/api/v1``).

Each view authenticates the delivery by the provider's own scheme (no user, no CSRF), stores
the event and answers 2xx once it is stored — also when applying it failed, since the retry
job applies it later and a provider retrying the delivery would only be told "duplicate". A
failure to store is a 500, so the provider delivers again. Bodies and memos are never logged:
a bank memo can carry the payer's name.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import stripe
from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.error_responses import error_body
from payments.models import WebhookProvider
from payments.providers import stripe as stripe_provider
from payments.providers.bank_feeds import (
    BankFeedError,
    BankTransfer,
    casso_transactions,
    casso_verify,
    sepay_transaction,
    sepay_verify,
)
from payments.services.webhooks import stripe_event_time, webhook_receive

logger = logging.getLogger(__name__)

# Casso's and Stripe's replay window for a signature's timestamp.
SIGNATURE_TOLERANCE_SECONDS = 300
ACKNOWLEDGED = {"success": True}


def _error(status: int, code: str, message: str, param: str | None = None) -> Response:
    return Response(error_body(code, message, param), status=status)


def _not_configured(provider: str) -> Response:
    logger.error("%s webhook received but not configured on this installation", provider)
    return _error(503, "provider_not_configured", f"{provider} webhooks are not configured.")


def _json_body(request: Request) -> Any:
    """The parsed body, or None when it is not JSON (the caller answers 400)."""
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None


class AnyAccept(BaseContentNegotiation):
    """Answer JSON whatever the provider's Accept header says (a 406 would be retried)."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: Any, format_suffix: str | None = None
    ) -> Any:
        return renderers[0], renderers[0].media_type


class WebhookApi(APIView):
    """Providers authenticate with signatures or keys checked in the view, not as users
    (and so no CSRF check either: ``APIView`` is CSRF-exempt without session auth)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    content_negotiation_class = AnyAccept


@extend_schema(exclude=True)
class StripeWebhookApi(WebhookApi):
    def post(self, request: Request) -> Response:
        if not settings.STRIPE_WEBHOOK_SECRETS:
            return _not_configured("Stripe")
        # The raw bytes as Stripe signed them: re-serialised JSON would not verify.
        raw: bytes = request.body
        try:
            stripe_provider.construct_event(
                payload=raw, signature_header=request.headers.get("Stripe-Signature", "")
            )
        except stripe.SignatureVerificationError:
            logger.warning("stripe webhook with an invalid signature refused")
            return _error(400, "invalid_signature", "The Stripe-Signature does not verify.")
        except ValueError:  # signed, but not JSON
            return _error(400, "malformed_json", "The request body is not valid JSON.")
        event = _json_body(request)
        if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
            return _error(400, "parameter_invalid", "Not a Stripe event.", param="id")
        _, created = webhook_receive(
            provider=WebhookProvider.STRIPE,
            event_id=str(event["id"]),
            event_type=str(event["type"]),
            payload=event,
            occurred_at=stripe_event_time(event.get("created")),
        )
        return Response({"received": True, "duplicate": not created})


def _store_transfers(provider: str, records: list[Any], transfers: list[BankTransfer]) -> bool:
    """Store (and apply) each transfer; True when every one was new."""
    all_new = True
    for record, transfer in zip(records, transfers, strict=True):
        _, created = webhook_receive(
            provider=provider,
            event_id=transfer.transaction_id,
            event_type=f"transfer.{transfer.direction}",
            payload=record,
            occurred_at=transfer.occurred_at,
        )
        all_new &= created
    return all_new


def _invalid_transfer(provider: str, exc: BankFeedError) -> Response:
    logger.warning("%s webhook with an unreadable transfer refused (field %s)", provider, exc.field)
    return _error(400, "parameter_invalid", str(exc), param=exc.field)


@extend_schema(exclude=True)
class CassoWebhookApi(WebhookApi):
    """Casso webhook v2: ``X-Casso-Signature: t=<ms>,v1=<HMAC-SHA512 hex>`` over the body's
    key-sorted JSON. Casso's "test webhook" delivery (transaction id 0) is acknowledged."""

    def post(self, request: Request) -> Response:
        key = settings.CASSO_CHECKSUM_KEY
        if not key:
            return _not_configured("Casso")
        body = _json_body(request)
        if body is None:
            return _error(400, "malformed_json", "The request body is not valid JSON.")
        if not casso_verify(
            header=request.headers.get("X-Casso-Signature"),
            body=body,
            key=key,
            tolerance_seconds=SIGNATURE_TOLERANCE_SECONDS,
        ):
            logger.warning("casso webhook with an invalid or stale signature refused")
            return _error(400, "invalid_signature", "The X-Casso-Signature does not verify.")
        try:
            transfers = casso_transactions(body)
        except BankFeedError as exc:
            return _invalid_transfer("casso", exc)
        data = body["data"]
        records = data if isinstance(data, list) else [data]
        _store_transfers(WebhookProvider.CASSO, records, transfers)
        return Response(ACKNOWLEDGED)


@extend_schema(exclude=True)
class SepayWebhookApi(WebhookApi):
    """SePay: ``Authorization: Apikey <key>``; it wants ``{"success": true}`` with a 2xx."""

    def post(self, request: Request) -> Response:
        key = settings.SEPAY_API_KEY
        if not key:
            return _not_configured("SePay")
        if not sepay_verify(authorization_header=request.headers.get("Authorization"), api_key=key):
            logger.warning("sepay webhook with a wrong API key refused")
            response = _error(401, "authentication_failed", "The Apikey is not valid.")
            response["WWW-Authenticate"] = "Apikey"
            return response
        body = _json_body(request)
        if body is None:
            return _error(400, "malformed_json", "The request body is not valid JSON.")
        try:
            transfer = sepay_transaction(body)
        except BankFeedError as exc:
            return _invalid_transfer("sepay", exc)
        _store_transfers(WebhookProvider.SEPAY, [body], [transfer])
        return Response(ACKNOWLEDGED)
