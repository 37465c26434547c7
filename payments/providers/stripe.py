"""Card payments through Stripe, with the official client (``StripeClient``).

Every call that creates something carries an idempotency key derived from the payment, so
a retry — by the client library, by our recovery job, or after a crash between Stripe's
answer and our commit — returns the same object instead of charging twice. Nothing here
touches the database; callers never hold a transaction or lock while calling it.

Another card acquirer can be added beside this module: billing knows nothing of it, and
payments only needs the few operations below.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings

from payments.errors import CardDeclined, ProviderError, ProviderNotConfigured, ProviderRefused


@dataclass(frozen=True, slots=True)
class IntentState:
    id: str
    status: str  # Stripe's PaymentIntent status
    client_secret: str
    amount: int
    failure_code: str = ""
    failure_message: str = ""


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise ProviderNotConfigured()
    base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=base,  # type: ignore[arg-type]
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def _state(intent: Any) -> IntentState:
    # stripe-python's objects are not dicts (``.get`` raises): read the plain data.
    if isinstance(intent, stripe.StripeObject):
        intent = intent.to_dict()
    error = intent.get("last_payment_error") or {}
    return IntentState(
        id=intent["id"],
        status=intent["status"],
        client_secret=intent.get("client_secret") or "",
        amount=intent["amount"],
        failure_code=(error.get("decline_code") or error.get("code") or "") if error else "",
        failure_message=(error.get("message") or "") if error else "",
    )


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except stripe.CardError as exc:
        raise CardDeclined(exc.user_message or None, detail={"code": exc.code}) from exc
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        raise ProviderError(detail={"provider": "stripe"}) from exc
    except stripe.InvalidRequestError as exc:
        raise ProviderRefused(
            str(exc.user_message or "Stripe refused the request."),
            detail={"provider": "stripe", "code": exc.code},
        ) from exc
    except stripe.StripeError as exc:
        raise ProviderError(
            str(exc.user_message or "Stripe refused the request."),
            detail={"provider": "stripe", "code": exc.code},
        ) from exc


def create_intent(
    *,
    amount: int,
    currency: str,
    card_present: bool,
    metadata: dict[str, str],
    description: str,
    idempotency_key: str,
) -> IntentState:
    """A PaymentIntent for ``amount`` minor units (VND is zero-decimal at Stripe)."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency.lower(),
        "payment_method_types": ["card_present"] if card_present else ["card"],
        "metadata": metadata,
        "description": description,
    }
    intent = _call(
        client().v1.payment_intents.create,
        params=params,
        options={"idempotency_key": f"{idempotency_key}:create"},
    )
    return _state(intent)


def process_on_reader(*, reader_id: str, intent_id: str, idempotency_key: str) -> None:
    """Server-driven Terminal: ask the kiosk's reader to collect the card for the intent.
    The result arrives as ``terminal.reader.action_succeeded/failed`` webhooks."""
    _call(
        client().v1.terminal.readers.process_payment_intent,
        reader_id,
        params={"payment_intent": intent_id},
        options={"idempotency_key": f"{idempotency_key}:process"},
    )


def cancel_reader_action(*, reader_id: str, idempotency_key: str) -> None:
    """Stop the reader asking for a card (the patient walked away or chose another way)."""
    _call(
        client().v1.terminal.readers.cancel_action,
        reader_id,
        options={"idempotency_key": f"{idempotency_key}:cancel-reader"},
    )


def retrieve_intent(*, intent_id: str) -> IntentState:
    return _state(_call(client().v1.payment_intents.retrieve, intent_id))


def cancel_intent(*, intent_id: str, idempotency_key: str) -> IntentState:
    intent = _call(
        client().v1.payment_intents.cancel,
        intent_id,
        options={"idempotency_key": f"{idempotency_key}:cancel"},
    )
    return _state(intent)


def create_refund(*, intent_id: str, amount: int, idempotency_key: str) -> str:
    """Refund ``amount`` of a captured intent; returns the Stripe refund id."""
    refund = _call(
        client().v1.refunds.create,
        params={"payment_intent": intent_id, "amount": amount},
        options={"idempotency_key": idempotency_key},
    )
    return str(refund["id"])


# Stripe's library refuses a signature timestamp older than this; one this far ahead of our
# clock is refused here (a signature made for later cannot be replayed until then).
SIGNATURE_TOLERANCE_SECONDS = 300


def _signed_at(signature_header: str) -> int | None:
    for part in signature_header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            return int(value)
    return None


def construct_event(*, payload: bytes, signature_header: str) -> Any:
    """Verify a webhook against every active secret (rotation) and parse it. A timestamp
    more than five minutes away from now, either way, is refused."""
    secrets = settings.STRIPE_WEBHOOK_SECRETS
    if not secrets:
        raise ProviderNotConfigured("Stripe webhooks are not configured.")
    signed_at = _signed_at(signature_header)
    if signed_at is not None and signed_at > time.time() + SIGNATURE_TOLERANCE_SECONDS:
        raise stripe.SignatureVerificationError(
            "Timestamp is in the future", signature_header, payload
        )
    last_error: Exception | None = None
    for secret in secrets:
        try:
            return stripe.Webhook.construct_event(payload, signature_header, secret)
        except stripe.SignatureVerificationError as exc:
            last_error = exc
    assert last_error is not None
    raise last_error
