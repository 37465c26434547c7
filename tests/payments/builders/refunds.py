"""Builders and checks for the refund tests: refund requests and payouts over HTTP, and what
reached the fake Stripe server. (Succeeded payments to refund: ``paid_by_card``,
``paid_by_transfer`` in ``payments``, ``paid_in_cash`` in ``desk``.)"""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from payments.models import Payment
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.payments import new_key

# What the refund tests pin REFUND_APPROVAL_THRESHOLD to (the ``approval_threshold``
# fixture, tests/payments/conftest.py): a payment's refunds above it in total wait for a
# supervisor's approval.
THRESHOLD = 500_000


def request_refund(
    client: APIClient,
    payment: Payment,
    *,
    amount: int | None = None,
    reason: str = "requested_by_patient",
    key: str | None = None,
    **extra: Any,
) -> Any:
    body: dict[str, Any] = {"reason": reason, **extra}
    if amount is not None:
        body["amount"] = amount
    return client.post(
        f"/api/v1/payments/{payment.public_id}/refunds",
        body,
        format="json",
        headers={"Idempotency-Key": key or new_key("refund")},
    )


def pay_out(
    client: APIClient, refund_id: str, paid_by: str, key: str | None = None, **extra: Any
) -> Any:
    return client.post(
        f"/api/v1/refunds/{refund_id}/payout",
        {"paid_by": paid_by, **extra},
        format="json",
        headers={"Idempotency-Key": key or new_key("payout")},
    )


def stripe_refunds(fake: FakeStripeServer, payment: Payment) -> list[dict[str, Any]]:
    return [r for r in fake.objects("refund") if r["payment_intent"] == payment.provider_reference]


def refund_calls(fake: FakeStripeServer) -> list[Any]:
    """Requests that reached the fake's refund endpoint (replays included)."""
    return [r for r in fake.request_log if r.method == "POST" and r.path == "/v1/refunds"]
