"""Builders for the payments API tests: payable invoices, the three kinds of payer (a kiosk,
a cashier, a phone holding a pay link), the POST that starts a payment, settings pointing
the app at the fake Stripe server, and a helper that fires requests from many threads.

(The webhook tests' helpers are in ``webhook_factories.py``, the refund tests' in
``refund_builders.py``.)"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from django.test import override_settings
from rest_framework.test import APIClient

from billing.models import Invoice
from payments.paylinks import pay_link_token
from tests.billing.factories import visit_invoice
from tests.fakes.stripe_server import FakeStripeServer

PAYMENTS_URL = "/api/v1/payments"
STRIPE_TEST_KEY = "sk_test_vienphi_payments"
_keys = itertools.count(1)


def new_key() -> str:
    """A fresh Idempotency-Key, as a client would make one per payment attempt."""
    return f"test-{next(_keys)}-{uuid.uuid4().hex[:12]}"


def payable_invoice(patient_share: int = 1_000_000) -> Invoice:
    """An issued invoice whose patient owes exactly ``patient_share`` (no BHYT cover)."""
    return visit_invoice(patient_share, benefit_level=None)


def pay(
    client: APIClient,
    *,
    key: str | None = None,
    invoice: Invoice | None = None,
    amount: Any = None,
    method: str = "vietqr",
    **body: Any,
) -> Any:
    """``POST /api/v1/payments`` with an Idempotency-Key (a fresh one unless ``key``; pass
    ``key=""`` to send none). ``invoice`` fills ``invoice_id``; ``amount`` is sent as given."""
    if invoice is not None:
        body.setdefault("invoice_id", invoice.pk)
    if amount is not None:
        body["amount"] = amount
    body["method"] = method
    headers = {} if key == "" else {"Idempotency-Key": key or new_key()}
    return client.post(PAYMENTS_URL, body, format="json", headers=headers)


def pay_link_client(invoice: Invoice) -> APIClient:
    """A phone that opened the SMS pay link of ``invoice`` (``Authorization: PayLink ...``)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"PayLink {pay_link_token(invoice=invoice)}")
    return client


def stripe_at(fake: FakeStripeServer, **extra: Any) -> override_settings:
    """Settings pointing the app's Stripe client at the fake server."""
    return override_settings(
        STRIPE_SECRET_KEY=STRIPE_TEST_KEY,
        STRIPE_PUBLISHABLE_KEY="pk_test_vienphi",
        STRIPE_API_BASE=fake.url,
        **extra,
    )
