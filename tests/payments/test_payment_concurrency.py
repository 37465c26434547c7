"""Payments under real concurrency, against PostgreSQL: threads, each with its own API client
and its own database connection.

A double click must not make two payments: 50 identical requests with one Idempotency-Key
make exactly one payment, and every answer is that payment or a 409 ``request_in_progress``.
And payments with different keys on one invoice can never together exceed what is due."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db.models import Sum
from django.test import override_settings
from rest_framework.test import APIClient

from config.identity.models import Device, DeviceKind
from config.identity.services import device_create
from payments.models import IdempotencyRecord, Payment, PaymentStatus
from tests.concurrency import run_at_once
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.payments import (
    kiosk_looked_up,
    new_key,
    pay,
    pay_link_client,
    payable_invoice,
    stripe_at,
)

pytestmark = pytest.mark.django_db(transaction=True)

SAME_REQUESTS = 50


@pytest.fixture
def kiosk_key() -> tuple[Device, str]:
    device, key = device_create(kind=DeviceKind.KIOSK, name=f"kiosk-{new_key()}")
    return device, key


def kiosk_client(device_key: str) -> APIClient:
    """One more connection of the same kiosk (each thread needs its own client)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_key}")
    return client


def test_fifty_identical_requests_at_once_make_one_payment_and_all_get_its_answer(kiosk_key):
    _, device_key = kiosk_key
    invoice, key = payable_invoice(900_000), new_key()
    kiosk_looked_up(kiosk_client(device_key), invoice)

    with override_settings(IDEMPOTENCY_WAIT_SECONDS=30):
        responses = run_at_once(
            SAME_REQUESTS,
            lambda _: pay(kiosk_client(device_key), key=key, invoice=invoice, amount=900_000),
        )

    assert all(not isinstance(r, Exception) for r in responses), responses
    assert Counter(r.status_code for r in responses) == {201: SAME_REQUESTS}
    first = responses[0].json()
    assert all(r.json() == first for r in responses)
    replayed = [r for r in responses if r.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == SAME_REQUESTS - 1
    assert Payment.objects.get().public_id == first["id"]
    assert IdempotencyRecord.objects.get().response_status == 201


def test_fifty_identical_card_requests_with_a_short_wait_make_one_payment_and_one_intent(
    fake_stripe: FakeStripeServer,
):
    invoice, key = payable_invoice(900_000), new_key()

    def phone(_: int) -> Any:  # the same pay link, opened on one phone, tapped 50 times
        return pay(
            pay_link_client(invoice), key=key, invoice=invoice, amount=900_000, method="card"
        )

    # Stripe takes a while; duplicates wait only briefly for the first request's answer.
    fake_stripe.set_latency(0.5, "/v1/payment_intents")
    with stripe_at(fake_stripe, IDEMPOTENCY_WAIT_SECONDS=0.05):
        responses = run_at_once(SAME_REQUESTS, phone)

    assert all(not isinstance(r, Exception) for r in responses), responses
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1, statuses
    assert statuses[409] >= 1, "no duplicate arrived while the first was in flight"
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "request_in_progress"
    [payment] = Payment.objects.all()
    assert {r.json()["id"] for r in responses if r.status_code == 201} == {payment.public_id}
    assert len(fake_stripe.objects("payment_intent")) == 1
    assert fake_stripe.executions(f"vienphi:{payment.public_id}:create") == 1


def test_payments_with_different_keys_never_together_exceed_what_is_due(kiosk_key):
    _, device_key = kiosk_key
    due = 1_000_000
    invoice = payable_invoice(due)
    share = due * 30 // 100
    kiosk_looked_up(kiosk_client(device_key), invoice)

    responses = run_at_once(
        20, lambda _: pay(kiosk_client(device_key), invoice=invoice, amount=share)
    )

    assert all(not isinstance(r, Exception) for r in responses), responses
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 3, 402: 17}, statuses
    for response in responses:
        if response.status_code == 402:
            assert response.json()["error"]["code"] == "amount_exceeds_due"
    pending = Payment.objects.filter(invoice=invoice, status=PaymentStatus.PENDING)
    assert pending.count() == 3
    assert pending.aggregate(total=Sum("amount"))["total"] == 3 * share <= due
    assert Payment.objects.count() == 3
