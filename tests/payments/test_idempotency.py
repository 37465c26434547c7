"""The Idempotency-Key contract of POST /api/v1/payments, after Brandur Leach's
rocket-rides-atomic and Stripe's rules: a missing key is refused; a new key executes; the
same key and body replay the first answer (status and body) without a second payment; the
same key with another body, or while the first request still runs, is a 409; a stale lock
is taken over and the payment its dead holder began is finished, not repeated; a server
error releases the key; a refusal (4xx) is saved; keys belong to one client; old keys are
pruned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from config.identity.models import Device, DeviceKind
from payments.models import IdempotencyRecord, Payment, PaymentStatus
from payments.services.idempotency import idempotency_prune, request_fingerprint
from tests.assertions import assert_error
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.desk import at_desk
from tests.payments.builders.payments import (
    PAYMENTS_URL,
    kiosk_looked_up,
    new_key,
    pay,
    pay_link_client,
    payable_invoice,
    stripe_at,
)

pytestmark = pytest.mark.django_db


def fingerprint_of(body: dict[str, Any]) -> str:
    """The fingerprint the server computes for ``POST /api/v1/payments`` with ``body``."""
    raw = APIRequestFactory().post(PAYMENTS_URL, body, format="json")
    return request_fingerprint(Request(raw, parsers=[JSONParser()]))


def lock_key(device: Device, key: str, body: dict[str, Any], *, age_seconds: float) -> None:
    """A key another execution of the same request locked ``age_seconds`` ago and has not
    answered yet (still running, or dead)."""
    IdempotencyRecord.objects.create(
        scope=f"device:{device.pk}",
        key=key,
        method="POST",
        path=PAYMENTS_URL,
        fingerprint=fingerprint_of(body),
        locked_at=timezone.now() - timedelta(seconds=age_seconds),
    )


# --- missing, new, replayed, reused ---------------------------------------------------------


@pytest.mark.parametrize("key", ["", "k" * 256], ids=["missing", "longer_than_255"])
def test_a_payment_without_a_usable_idempotency_key_is_refused_and_creates_nothing(kiosk, key):
    client, _ = kiosk
    invoice = payable_invoice()
    headers = {"Idempotency-Key": key} if key else {}
    response = client.post(
        PAYMENTS_URL,
        {"invoice_id": invoice.public_id, "amount": 100_000, "method": "vietqr"},
        format="json",
        headers=headers,
    )
    assert_error(response, 400, "idempotency_key_missing", param="Idempotency-Key")
    assert not Payment.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_cancelling_without_an_idempotency_key_is_refused(kiosk):
    client, _ = kiosk
    payment_id = pay(client, invoice=payable_invoice(), amount=100_000).json()["id"]
    response = client.post(f"/api/v1/payments/{payment_id}/cancel")
    assert_error(response, 400, "idempotency_key_missing", param="Idempotency-Key")
    assert Payment.objects.get().status == PaymentStatus.PENDING


def test_a_new_key_executes_and_its_answer_is_saved_under_the_client(kiosk):
    client, device = kiosk
    key = new_key()
    response = pay(client, key=key, invoice=payable_invoice(), amount=100_000)
    assert response.status_code == 201, response.content
    assert "Idempotent-Replayed" not in response
    record = IdempotencyRecord.objects.get()
    assert (record.scope, record.key) == (f"device:{device.pk}", key)
    assert (record.response_status, record.response_body) == (201, response.json())
    assert record.locked_at is None
    assert record.completed_at is not None
    assert Payment.objects.get().idempotency_key == key


def test_the_same_key_and_body_replay_the_first_answer_exactly_without_a_second_payment(kiosk):
    client, _ = kiosk
    invoice, key = payable_invoice(), new_key()
    first = pay(client, key=key, invoice=invoice, amount=250_000)
    again = pay(client, key=key, invoice=invoice, amount=250_000)
    assert first.status_code == again.status_code == 201
    # Value for value, times included: a datetime that lost its microseconds or its time
    # zone on the way into the saved answer would show here. (The order of keys is not kept:
    # the answer is saved as jsonb.)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1


def test_the_same_key_with_another_body_is_refused_as_reused(kiosk):
    client, _ = kiosk
    invoice, key = payable_invoice(), new_key()
    assert pay(client, key=key, invoice=invoice, amount=250_000).status_code == 201
    response = pay(client, key=key, invoice=invoice, amount=260_000)
    assert_error(response, 409, "idempotency_key_reused", param="Idempotency-Key")
    assert Payment.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_refused_as_reused(kiosk):
    client, _ = kiosk
    key = new_key()
    created = pay(client, key=key, invoice=payable_invoice(), amount=250_000).json()
    response = client.post(
        f"/api/v1/payments/{created['id']}/cancel", headers={"Idempotency-Key": key}
    )
    assert_error(response, 409, "idempotency_key_reused", param="Idempotency-Key")
    assert Payment.objects.get().status == PaymentStatus.PENDING


# --- in flight, stale ----------------------------------------------------------------------


@override_settings(IDEMPOTENCY_WAIT_SECONDS=0.2)
def test_a_key_whose_first_request_is_still_running_answers_409_request_in_progress(kiosk):
    client, device = kiosk
    invoice, key = payable_invoice(), new_key()
    body: dict[str, Any] = {"invoice_id": invoice.public_id, "amount": 100_000, "method": "vietqr"}
    lock_key(device, key, body, age_seconds=1)

    response = pay(client, key=key, **body)

    assert_error(response, 409, "request_in_progress", param="Idempotency-Key")
    assert not Payment.objects.exists()
    record = IdempotencyRecord.objects.get()
    assert record.response_status is None
    assert record.locked_at is not None


@override_settings(IDEMPOTENCY_WAIT_SECONDS=0.1)
def test_a_running_request_with_the_same_key_but_another_body_is_refused_as_reused(kiosk):
    client, device = kiosk
    invoice, key = payable_invoice(), new_key()
    lock_key(
        device,
        key,
        {"invoice_id": invoice.public_id, "amount": 1, "method": "vietqr"},
        age_seconds=1,
    )
    response = pay(client, key=key, invoice=invoice, amount=100_000)
    assert_error(response, 409, "idempotency_key_reused", param="Idempotency-Key")


@override_settings(IDEMPOTENCY_WAIT_SECONDS=0.1)
def test_a_stale_lock_is_taken_over_and_the_request_executes(kiosk):
    client, device = kiosk
    invoice, key = payable_invoice(), new_key()
    body: dict[str, Any] = {"invoice_id": invoice.public_id, "amount": 100_000, "method": "vietqr"}
    lock_key(device, key, body, age_seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS + 5)
    kiosk_looked_up(client, invoice)

    response = pay(client, key=key, **body)

    assert response.status_code == 201, response.content
    assert Payment.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.response_status, record.locked_at) == (201, None)


def test_a_taken_over_key_finishes_the_payment_its_dead_holder_began_instead_of_a_second(kiosk):
    client, _ = kiosk
    invoice, key = payable_invoice(), new_key()
    first = pay(client, key=key, invoice=invoice, amount=400_000).json()
    # The first executor committed its payment, then died before saving its answer.
    IdempotencyRecord.objects.filter(key=key).update(
        response_status=None,
        response_body=None,
        completed_at=None,
        locked_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS + 5),
    )

    retried = pay(client, key=key, invoice=invoice, amount=400_000)

    assert retried.status_code == 201, retried.content
    assert retried.json()["id"] == first["id"]
    assert retried.json()["next_action"]["memo_code"] == first["next_action"]["memo_code"]
    assert Payment.objects.count() == 1


# --- errors: released, saved ------------------------------------------------------------------


def test_a_provider_error_releases_the_key_and_the_same_key_then_succeeds(
    fake_stripe: FakeStripeServer, fast_stripe_retries: None
):
    invoice = payable_invoice(500_000)
    phone, key = pay_link_client(invoice), new_key()
    with stripe_at(fake_stripe, STRIPE_MAX_NETWORK_RETRIES=2):
        # Stripe unreachable: the first try and both of the library's retries are dropped.
        fake_stripe.fail_next("/v1/payment_intents", times=3, mode="drop")
        failed = pay(phone, key=key, invoice=invoice, amount=500_000, method="card")
        assert_error(failed, 502, "provider_error")
        assert not IdempotencyRecord.objects.filter(key=key).exists()
        attempt = Payment.objects.get()
        assert (attempt.status, attempt.failure_code) == (PaymentStatus.FAILED, "provider_error")

        retried = pay(phone, key=key, invoice=invoice, amount=500_000, method="card")

    # The whole amount again: the failed attempt reserves nothing.
    assert retried.status_code == 201, retried.content
    assert "Idempotent-Replayed" not in retried
    body = retried.json()
    assert (body["status"], body["amount"]) == ("pending", 500_000)
    assert body["next_action"]["client_secret"].startswith(body["provider_reference"])
    assert IdempotencyRecord.objects.get(key=key).response_status == 201
    assert len(fake_stripe.objects("payment_intent")) == 1


def test_a_refusal_is_saved_and_replayed(kiosk):
    client, _ = kiosk
    invoice, key = payable_invoice(300_000), new_key()
    refused = pay(client, key=key, invoice=invoice, amount=300_001)
    error = assert_error(refused, 402, "amount_exceeds_due", param="amount")
    assert error["detail"] == {"payable": 300_000}

    again = pay(client, key=key, invoice=invoice, amount=300_001)

    assert again.status_code == 402
    assert again.json() == refused.json()
    assert again["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.get().response_status == 402
    assert not Payment.objects.exists()


def test_a_request_refused_as_sent_leaves_the_key_free_for_the_corrected_request(kiosk):
    client, _ = kiosk
    invoice, key = payable_invoice(), new_key()
    malformed = client.post(
        PAYMENTS_URL,
        {"invoice_id": invoice.public_id, "amount": 100_000},
        format="json",
        headers={"Idempotency-Key": key},
    )
    assert_error(malformed, 400, "parameter_missing", param="method")
    assert not IdempotencyRecord.objects.exists()

    corrected = pay(client, key=key, invoice=invoice, amount=100_000, method="vietqr")

    assert corrected.status_code == 201, corrected.content


# --- scope, pruning ---------------------------------------------------------------------------


def test_keys_are_scoped_per_client(device_client, staff_client):
    invoice, key = payable_invoice(), new_key()
    clients = [
        device_client(DeviceKind.KIOSK)[0],
        device_client(DeviceKind.KIOSK)[0],
        at_desk(staff_client)[0],
        pay_link_client(invoice),
    ]
    responses = [pay(client, key=key, invoice=invoice, amount=100_000) for client in clients]
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json()["id"] for r in responses}) == 4
    assert Payment.objects.count() == 4
    scopes = set(IdempotencyRecord.objects.values_list("scope", flat=True))
    assert len(scopes) == 4
    assert f"paylink:{invoice.pk}" in scopes


def test_prune_removes_only_keys_older_than_the_ttl(kiosk):
    client, _ = kiosk
    invoice = payable_invoice()
    keys = [new_key() for _ in range(3)]
    for key in keys:
        assert pay(client, key=key, invoice=invoice, amount=10_000).status_code == 201
    ttl = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    now = timezone.now()
    IdempotencyRecord.objects.filter(key=keys[0]).update(created_at=now - ttl - timedelta(hours=1))
    IdempotencyRecord.objects.filter(key=keys[1]).update(created_at=now - ttl + timedelta(hours=1))

    assert idempotency_prune() == 1

    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == set(keys[1:])
    assert settings.IDEMPOTENCY_KEY_TTL_HOURS >= 24  # Stripe keeps keys at least 24 h
