"""Card payments through Stripe, against the stateful fake Stripe server and the official
client: a phone gets a client secret for Stripe Elements, a kiosk's reader is asked to
collect; our payment id goes into the intent's metadata and our key to Stripe, so a retry
never makes a second intent; cancel cancels the intent; a provider that is unreachable,
refuses, or is not configured fails the payment (it then reserves nothing) and releases the
key when the fault is ours."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from billing.models import Invoice, InvoiceStatus, JournalEntry
from config.identity.models import Device, DeviceKind, Role
from payments.models import IdempotencyRecord, Payment, PaymentStatus
from tests.assertions import assert_error, assert_invoice_agrees_with_books
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.payments import (
    STRIPE_KEY,
    new_key,
    pay,
    pay_link_client,
    payable_invoice,
    stripe_at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_fake(fake_stripe: FakeStripeServer) -> Any:
    with stripe_at(fake_stripe):
        yield fake_stripe


def kiosk_with_reader(device_client: Any, reader_id: str) -> tuple[APIClient, Device]:
    client, device = device_client(DeviceKind.KIOSK)
    device.card_reader_id = reader_id
    device.save(update_fields=["card_reader_id"])
    return client, device


def creations(fake: FakeStripeServer) -> list[Any]:
    return [r for r in fake.request_log if (r.method, r.path) == ("POST", "/v1/payment_intents")]


def cancel(client: APIClient, payment_id: str, key: str | None = None) -> Any:
    return client.post(
        f"/api/v1/payments/{payment_id}/cancel", headers={"Idempotency-Key": key or new_key()}
    )


# --- phone: Stripe Elements -----------------------------------------------------------------


def test_a_phone_card_payment_makes_an_intent_with_our_id_and_key_and_returns_its_secret(
    stripe_fake,
):
    invoice = payable_invoice(650_000)

    response = pay(pay_link_client(invoice), invoice=invoice, amount=650_000, method="card")

    assert response.status_code == 201, response.content
    body = response.json()
    [intent] = stripe_fake.objects("payment_intent")
    assert intent["metadata"]["payment_id"] == body["id"]
    assert (intent["amount"], intent["currency"]) == (650_000, "vnd")  # zero-decimal
    assert intent["payment_method_types"] == ["card"]
    assert intent["status"] == "requires_payment_method"
    [request] = creations(stripe_fake)
    assert request.idempotency_key == f"vienphi:{body['id']}:create"
    assert (body["status"], body["provider"], body["provider_reference"]) == (
        "pending",
        "stripe",
        intent["id"],
    )
    assert body["next_action"] == {
        "type": "stripe_elements",
        "client_secret": intent["client_secret"],
        "publishable_key": "pk_test_vienphi",
    }


def test_the_same_card_request_retried_makes_no_second_intent(stripe_fake):
    invoice = payable_invoice(650_000)
    phone, key = pay_link_client(invoice), new_key()
    first = pay(phone, key=key, invoice=invoice, amount=650_000, method="card")
    again = pay(phone, key=key, invoice=invoice, amount=650_000, method="card")

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert stripe_fake.executions(f"vienphi:{first.json()['id']}:create") == 1
    assert len(creations(stripe_fake)) == 1
    assert len(stripe_fake.objects("payment_intent")) == 1
    assert Payment.objects.count() == 1


def test_a_card_request_whose_first_executor_died_is_resumed_with_the_same_intent(stripe_fake):
    invoice = payable_invoice(650_000)
    phone, key = pay_link_client(invoice), new_key()
    first = pay(phone, key=key, invoice=invoice, amount=650_000, method="card").json()
    # The first executor got Stripe's answer and committed it, then died before answering.
    IdempotencyRecord.objects.filter(key=key).update(
        response_status=None, response_body=None, locked_at="2000-01-01T00:00:00Z"
    )

    resumed = pay(phone, key=key, invoice=invoice, amount=650_000, method="card")

    assert resumed.status_code == 201, resumed.content
    assert resumed.json() == first
    assert Payment.objects.count() == 1
    assert [r.outcome for r in creations(stripe_fake)] == ["executed", "replayed"]
    assert len(stripe_fake.objects("payment_intent")) == 1


def test_canceling_a_phone_card_payment_cancels_its_intent(stripe_fake):
    invoice = payable_invoice(650_000)
    phone = pay_link_client(invoice)
    created = pay(phone, invoice=invoice, amount=650_000, method="card").json()

    response = cancel(phone, created["id"])

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "canceled"
    assert stripe_fake.get(created["provider_reference"])["status"] == "canceled"
    assert pay(phone, invoice=invoice, amount=650_000, method="card").status_code == 201


# --- kiosk: the card reader ---------------------------------------------------------------------


def test_a_kiosk_card_payment_asks_the_kiosks_reader_to_collect(stripe_fake, device_client):
    reader = stripe_fake.add_reader()
    kiosk, device = kiosk_with_reader(device_client, reader)
    invoice = payable_invoice(420_000)

    response = pay(kiosk, invoice=invoice, amount=420_000, method="card_present")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["channel"], body["method"]) == (
        "processing",
        "kiosk",
        "card_present",
    )
    assert body["next_action"]["type"] == "card_reader"
    assert body["next_action"]["reader_id"] == reader
    intent = stripe_fake.get(body["provider_reference"])
    assert intent["payment_method_types"] == ["card_present"]
    assert intent["metadata"]["payment_id"] == body["id"]
    action = stripe_fake.get(reader)["action"]
    assert action["status"] == "in_progress"
    assert action["process_payment_intent"]["payment_intent"] == intent["id"]
    assert Payment.objects.get().created_by_device == device


def test_a_kiosk_without_a_reader_cannot_take_a_card(stripe_fake, device_client):
    kiosk, _ = device_client(DeviceKind.KIOSK)
    response = pay(kiosk, invoice=payable_invoice(), amount=1_000, method="card_present")
    assert_error(response, 400, "no_card_reader", param="method")
    assert not stripe_fake.request_log


def test_canceling_a_kiosk_card_payment_stops_the_reader_and_cancels_its_intent(
    stripe_fake, device_client
):
    reader = stripe_fake.add_reader()
    kiosk, _ = kiosk_with_reader(device_client, reader)
    created = pay(kiosk, invoice=payable_invoice(), amount=1_000, method="card_present").json()
    assert stripe_fake.get(reader)["action"]["status"] == "in_progress"

    response = cancel(kiosk, created["id"])

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "canceled"
    assert stripe_fake.get(reader)["action"] is None  # no longer asking for a card
    assert stripe_fake.get(created["provider_reference"])["status"] == "canceled"


def test_canceling_after_the_card_was_taken_records_the_success_instead(
    stripe_fake, device_client, staff_client
):
    reader = stripe_fake.add_reader()
    kiosk, _ = kiosk_with_reader(device_client, reader)
    invoice = payable_invoice(420_000)
    created = pay(kiosk, invoice=invoice, amount=420_000, method="card_present").json()
    stripe_fake.complete_reader_action(reader)  # the patient taps; the webhook is still on its way

    response = cancel(kiosk, created["id"])

    assert_error(response, 409, "payment_state_conflict")
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED
    assert JournalEntry.objects.filter(source_type="payment", source_id=created["id"]).count() == 1
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice.status == InvoiceStatus.PAID
    assert_invoice_agrees_with_books(invoice, staff=staff_client(Role.CASHIER))


def test_a_reader_stripe_does_not_know_fails_the_payment_and_releases_the_key(
    stripe_fake, device_client
):
    kiosk, _ = kiosk_with_reader(device_client, "tmr_not_registered_yet")
    invoice, key = payable_invoice(420_000), new_key()

    refused = pay(kiosk, key=key, invoice=invoice, amount=420_000, method="card_present")

    assert_error(refused, 502, "provider_error")
    failed = Payment.objects.get()
    assert (failed.status, failed.failure_code) == (PaymentStatus.FAILED, "provider_error")
    # No card can be charged for it: its intent was canceled.
    assert stripe_fake.get(failed.provider_reference)["status"] == "canceled"
    assert not IdempotencyRecord.objects.exists()

    stripe_fake.add_reader("tmr_not_registered_yet")
    retried = pay(kiosk, key=key, invoice=invoice, amount=420_000, method="card_present")

    assert retried.status_code == 201, retried.content
    assert retried.json()["status"] == "processing"


# --- the provider refusing, or not there --------------------------------------------------------


def test_a_card_refused_by_stripe_is_402_card_declined_saved_and_reserves_nothing(stripe_fake):
    # In these flows the card is entered on the phone or the reader, after the intent exists,
    # so Stripe's own decline arrives by webhook; here Stripe refuses the intent itself.
    invoice = payable_invoice(650_000)
    phone, key = pay_link_client(invoice), new_key()
    stripe_fake.fail_next("/v1/payment_intents", status=402)

    declined = pay(phone, key=key, invoice=invoice, amount=650_000, method="card")

    assert_error(declined, 402, "card_declined")
    payment = Payment.objects.get()
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "card_declined")
    replayed = pay(phone, key=key, invoice=invoice, amount=650_000, method="card")
    assert replayed.status_code == 402
    assert replayed["Idempotent-Replayed"] == "true"
    assert pay(phone, invoice=invoice, amount=650_000, method="card").status_code == 201


def test_without_a_stripe_key_cards_are_503_not_configured_and_the_key_is_released(fake_stripe):
    invoice = payable_invoice(650_000)
    phone, key = pay_link_client(invoice), new_key()
    with override_settings(STRIPE_SECRET_KEY=""):
        response = pay(phone, key=key, invoice=invoice, amount=650_000, method="card")

    assert_error(response, 503, "provider_not_configured")
    payment = Payment.objects.get()
    assert (payment.status, payment.failure_code) == (
        PaymentStatus.FAILED,
        "provider_not_configured",
    )
    assert not IdempotencyRecord.objects.exists()
    assert not fake_stripe.request_log

    with stripe_at(fake_stripe):
        retried = pay(phone, key=key, invoice=invoice, amount=650_000, method="card")
    assert retried.status_code == 201, retried.content
    assert fake_stripe.executions(f"vienphi:{retried.json()['id']}:create", STRIPE_KEY) == 1
