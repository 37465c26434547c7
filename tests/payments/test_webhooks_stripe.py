"""POST /webhooks/stripe: signed by Stripe's scheme, stored once, applied once, never backwards.

Events come from the fake Stripe server (the app creates and the patient confirms real
PaymentIntents there through the official client) and are delivered with the exact bytes
Stripe would send, signed with its real scheme.
"""

from __future__ import annotations

import json
import random
import time
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import DatabaseError, OperationalError
from django.test import Client

from billing.chart import STRIPE_CLEARING
from billing.models import InvoiceStatus, JournalEntry
from payments.models import OutboxEvent, Payment, PaymentStatus, WebhookEvent
from payments.services import webhooks as webhook_service
from payments.services.payments import payment_sync_from_provider
from payments.services.transitions import payment_transition
from payments.tasks import retry_webhook_events
from tests.assertions import balance
from tests.concurrency import run_at_once
from tests.data import vectors
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.payments import card_payment, kiosk_card_payment, patient_pays_by_card
from tests.payments.builders.webhooks import deliver_stripe, post_stripe, signed, stripe_event

pytestmark = pytest.mark.usefixtures("stripe_configured")


def captures_of(payment: Payment) -> int:
    """Journal entries that record the payment's money (there must be exactly one)."""
    return JournalEntry.objects.filter(source_type="payment", source_id=payment.public_id).count()


def intent_object(payment: Payment, **changes: Any) -> dict[str, Any]:
    """The PaymentIntent of ``payment`` as a webhook carries it."""
    return {
        "id": payment.provider_reference,
        "object": "payment_intent",
        "amount": payment.amount,
        "currency": payment.currency.lower(),
        "metadata": {"payment_id": payment.public_id},
        "status": "succeeded",
        "last_payment_error": None,
        **changes,
    }


# --- signatures ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_tampered_body_is_refused_and_nothing_is_stored(fake_stripe: FakeStripeServer):
    payment = card_payment()
    patient_pays_by_card(fake_stripe, payment)
    body, headers = fake_stripe.signed_event(
        fake_stripe.events_of_type("payment_intent.succeeded")[0]
    )
    tampered = body.replace(b'"amount": 180000', b'"amount": 1800')
    assert tampered != body

    response = post_stripe(Client(), tampered, headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING


@pytest.mark.django_db
def test_re_serialised_json_does_not_verify_so_the_raw_body_is_what_is_checked(
    fake_stripe: FakeStripeServer,
):
    payment = card_payment()
    patient_pays_by_card(fake_stripe, payment)
    body, headers = fake_stripe.signed_event(
        fake_stripe.events_of_type("payment_intent.succeeded")[0]
    )
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()

    assert post_stripe(Client(), compact, headers).status_code == 400
    assert post_stripe(Client(), body, headers).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "signature",
    [None, "", "t=1700000000", "garbage", "t=now,v1=abc"],
    ids=["absent", "empty", "no_v1", "garbage", "bad_timestamp"],
)
def test_a_missing_or_malformed_signature_header_is_refused(signature: str | None):
    event = stripe_event("payment_intent.succeeded", {"id": "pi_x"})
    headers = {} if signature is None else {"Stripe-Signature": signature}

    response = post_stripe(Client(), json.dumps(event).encode(), headers)

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_signature", "message": "The Stripe-Signature does not verify."}
    }


@pytest.mark.django_db
def test_an_event_signed_with_an_unknown_secret_is_refused(settings):
    body, headers = signed(stripe_event("payment_intent.succeeded", {}), ["whsec_someone_else"])

    assert post_stripe(Client(), body, headers).status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_during_a_secret_rotation_events_signed_with_either_secret_are_accepted(settings):
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_new_secret", "whsec_old_secret"]
    client = Client()

    for secret in ("whsec_old_secret", "whsec_new_secret"):
        body, headers = signed(stripe_event("customer.created", {"id": "cus_1"}), [secret])
        assert post_stripe(client, body, headers).status_code == 200

    assert WebhookEvent.objects.count() == 2


@pytest.mark.django_db
def test_a_signature_older_than_five_minutes_is_refused(fake_stripe: FakeStripeServer):
    payment = card_payment()
    patient_pays_by_card(fake_stripe, payment)
    event = fake_stripe.events_of_type("payment_intent.succeeded")[0]
    body, headers = fake_stripe.signed_event(event, timestamp=int(time.time()) - 301)

    assert post_stripe(Client(), body, headers).status_code == 400


@pytest.mark.django_db
# 330, not 301: the signature's time is taken before the request, and on a loaded machine the
# server may read its clock more than a second later (a 301 s lead then arrives as 300 s).
@pytest.mark.parametrize(("ahead", "accepted"), [(330, False), (3600, False), (240, True)])
def test_a_signature_more_than_five_minutes_in_the_future_is_refused(
    fake_stripe: FakeStripeServer, ahead: int, accepted: bool
):
    payment = card_payment()
    patient_pays_by_card(fake_stripe, payment)
    event = fake_stripe.events_of_type("payment_intent.succeeded")[0]
    body, headers = fake_stripe.signed_event(event, timestamp=int(time.time()) + ahead)

    response = post_stripe(Client(), body, headers)

    if accepted:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_signature"
        assert not WebhookEvent.objects.filter(event_id=event["id"]).exists()


@pytest.mark.django_db
def test_the_published_stripe_vector_verifies_and_is_stored(
    settings, monkeypatch: pytest.MonkeyPatch
):
    vector = vectors("webhook_vectors.json")["stripe"]
    settings.STRIPE_WEBHOOK_SECRETS = [vector["secret"]]
    # Stripe's library checks the signature's age against the clock: stand at its moment.
    monkeypatch.setattr(
        "stripe._webhook.time", SimpleNamespace(time=lambda: vector["timestamp"] + 10)
    )

    response = post_stripe(Client(), vector["payload"].encode(), vector["header"])

    assert response.status_code == 200
    event = WebhookEvent.objects.get(provider="stripe", event_id="evt_test")
    # It names no PaymentIntent: kept, unapplied, for the retry job and for a person.
    assert event.applied_at is None
    assert event.attempts == 1
    assert "PaymentNotFoundForEvent" in event.last_error


@pytest.mark.django_db
def test_without_configured_secrets_the_endpoint_answers_503(settings):
    settings.STRIPE_WEBHOOK_SECRETS = []
    body, headers = signed(stripe_event("customer.created", {}), ["whsec_x"])

    response = post_stripe(Client(), body, headers)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "provider_not_configured"


# --- applying --------------------------------------------------------------------------


@pytest.mark.django_db
def test_payment_intent_succeeded_completes_the_payment_and_pays_the_invoice(
    fake_stripe: FakeStripeServer,
):
    payment = card_payment(amount=250_000)
    patient_pays_by_card(fake_stripe, payment)

    response = deliver_stripe(
        Client(), fake_stripe, fake_stripe.events_of_type("payment_intent.succeeded")[0]
    )

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.provider_event_at is not None
    assert payment.invoice is not None
    assert payment.invoice.status == InvoiceStatus.PAID
    assert captures_of(payment) == 1
    assert balance(STRIPE_CLEARING) == 250_000
    assert OutboxEvent.objects.filter(topic="payment.succeeded").count() == 1
    event = WebhookEvent.objects.get()
    assert (event.outcome, event.attempts, event.last_error) == ("succeeded", 1, "")
    assert event.applied_at is not None


@pytest.mark.django_db
def test_a_redelivered_event_is_acknowledged_and_not_applied_again(fake_stripe: FakeStripeServer):
    payment = card_payment()
    patient_pays_by_card(fake_stripe, payment)
    succeeded = fake_stripe.events_of_type("payment_intent.succeeded")[0]
    client = Client()

    first = deliver_stripe(client, fake_stripe, succeeded)
    again = deliver_stripe(client, fake_stripe, succeeded)

    assert first.json()["duplicate"] is False
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert WebhookEvent.objects.get().attempts == 1
    assert captures_of(payment) == 1


@pytest.mark.django_db
def test_a_declined_card_fails_the_payment_with_the_decline_code(fake_stripe: FakeStripeServer):
    payment = card_payment()
    patient_pays_by_card(fake_stripe, payment, card="pm_card_chargeDeclinedInsufficientFunds")

    deliver_stripe(
        Client(), fake_stripe, fake_stripe.events_of_type("payment_intent.payment_failed")[0]
    )

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "insufficient_funds"
    assert payment.failure_message == "Your card has insufficient funds."
    assert captures_of(payment) == 0


@pytest.mark.django_db
def test_a_card_retried_after_a_decline_on_the_same_intent_is_recorded_as_paid(
    fake_stripe: FakeStripeServer,
):
    payment = card_payment()
    patient_pays_by_card(fake_stripe, payment, card="pm_card_chargeDeclined")
    patient_pays_by_card(fake_stripe, payment, card="pm_card_visa")
    client = Client()

    deliver_stripe(
        client, fake_stripe, fake_stripe.events_of_type("payment_intent.payment_failed")[0]
    )
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.FAILED
    deliver_stripe(client, fake_stripe, fake_stripe.events_of_type("payment_intent.succeeded")[0])

    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
    assert captures_of(payment) == 1


@pytest.mark.django_db
def test_the_kiosk_reader_events_complete_a_card_present_payment(fake_stripe: FakeStripeServer):
    payment, reader = kiosk_card_payment(fake_stripe)
    assert payment.status == PaymentStatus.PROCESSING
    fake_stripe.complete_reader_action(reader)

    deliver_stripe(
        Client(), fake_stripe, fake_stripe.events_of_type("terminal.reader.action_succeeded")[0]
    )

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert captures_of(payment) == 1


@pytest.mark.django_db
def test_a_failed_reader_action_fails_the_kiosk_payment(fake_stripe: FakeStripeServer):
    payment, reader = kiosk_card_payment(fake_stripe)
    fake_stripe.complete_reader_action(reader, succeed=False, decline_code="expired_card")

    deliver_stripe(
        Client(), fake_stripe, fake_stripe.events_of_type("terminal.reader.action_failed")[0]
    )

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "card_declined"


@pytest.mark.django_db
def test_payment_intent_canceled_cancels_the_payment(fake_stripe: FakeStripeServer):
    payment = card_payment()
    body, headers = signed(
        stripe_event("payment_intent.canceled", intent_object(payment, status="canceled")),
        fake_stripe.webhook_secrets,
    )

    post_stripe(Client(), body, headers)

    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CANCELED


@pytest.mark.django_db
def test_an_event_whose_amount_differs_from_the_payment_is_recorded_and_not_applied(
    fake_stripe: FakeStripeServer, caplog: pytest.LogCaptureFixture
):
    payment = card_payment(amount=180_000)
    body, headers = signed(
        stripe_event("payment_intent.succeeded", intent_object(payment, amount=18_000)),
        fake_stripe.webhook_secrets,
    )

    assert post_stripe(Client(), body, headers).status_code == 200

    event = WebhookEvent.objects.get()
    assert event.outcome == "amount_mismatch"
    assert event.applied_at is not None  # decided, not retried
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING
    assert captures_of(payment) == 0
    assert any("differs from payment" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_an_event_in_another_currency_is_an_amount_mismatch(fake_stripe: FakeStripeServer):
    payment = card_payment()
    body, headers = signed(
        stripe_event("payment_intent.succeeded", intent_object(payment, currency="usd")),
        fake_stripe.webhook_secrets,
    )

    post_stripe(Client(), body, headers)

    assert WebhookEvent.objects.get().outcome == "amount_mismatch"


@pytest.mark.django_db
def test_refund_events_are_recorded_and_left_to_the_refunds_service(fake_stripe: FakeStripeServer):
    body, headers = signed(
        stripe_event("charge.refunded", {"id": "ch_1", "object": "charge"}),
        fake_stripe.webhook_secrets,
    )

    post_stripe(Client(), body, headers)

    assert WebhookEvent.objects.get().outcome == (
        "ignored: refunds are applied by the refunds service"
    )


# --- repeated, shuffled and late events -------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_event_of_a_declined_then_paid_card_delivered_three_times_shuffled_pays_once(
    fake_stripe: FakeStripeServer, seed: int
):
    payment = card_payment()
    patient_pays_by_card(fake_stripe, payment, card="pm_card_chargeDeclined")
    patient_pays_by_card(fake_stripe, payment, card="pm_card_visa")
    deliveries = [event["id"] for event in fake_stripe.events] * 3
    random.Random(seed).shuffle(deliveries)
    client = Client()

    statuses = {
        deliver_stripe(client, fake_stripe, event_id).status_code for event_id in deliveries
    }

    assert statuses == {200}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert captures_of(payment) == 1
    assert balance(STRIPE_CLEARING) == payment.amount
    assert OutboxEvent.objects.count() == 1
    assert WebhookEvent.objects.count() == len(fake_stripe.events)
    assert not WebhookEvent.objects.filter(applied_at__isnull=True).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [4, 5])
def test_every_event_of_a_kiosk_card_payment_delivered_three_times_shuffled_pays_once(
    fake_stripe: FakeStripeServer, seed: int
):
    payment, reader = kiosk_card_payment(fake_stripe)
    fake_stripe.complete_reader_action(reader)
    deliveries = [event["id"] for event in fake_stripe.events] * 3
    random.Random(seed).shuffle(deliveries)
    client = Client()

    for event_id in deliveries:
        assert deliver_stripe(client, fake_stripe, event_id).status_code == 200

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert captures_of(payment) == 1
    assert OutboxEvent.objects.count() == 1


@pytest.mark.django_db
def test_a_processing_event_delivered_after_succeeded_leaves_the_payment_succeeded(
    fake_stripe: FakeStripeServer,
):
    payment = card_payment()
    patient_pays_by_card(fake_stripe, payment)
    succeeded = fake_stripe.events_of_type("payment_intent.succeeded")[0]
    older = stripe_event(
        "payment_intent.processing",
        intent_object(payment, status="processing"),
        created=succeeded["created"] - 5,
    )
    client = Client()

    deliver_stripe(client, fake_stripe, succeeded)
    post_stripe(client, *signed(older, fake_stripe.webhook_secrets))

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert (
        WebhookEvent.objects.get(event_id=older["id"]).outcome == "unchanged: payment is succeeded"
    )
    assert captures_of(payment) == 1


@pytest.mark.django_db
def test_a_failure_event_delivered_after_succeeded_leaves_the_payment_succeeded(
    fake_stripe: FakeStripeServer,
):
    payment = card_payment()
    patient_pays_by_card(fake_stripe, payment, card="pm_card_chargeDeclined")
    patient_pays_by_card(fake_stripe, payment)
    client = Client()

    deliver_stripe(client, fake_stripe, fake_stripe.events_of_type("payment_intent.succeeded")[0])
    deliver_stripe(
        client, fake_stripe, fake_stripe.events_of_type("payment_intent.payment_failed")[0]
    )

    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED


@pytest.mark.django_db
def test_success_reported_for_a_canceled_payment_is_flagged_as_a_conflict(
    fake_stripe: FakeStripeServer,
):
    payment = card_payment()
    payment_transition(payment=payment, to=PaymentStatus.CANCELED)
    body, headers = signed(
        stripe_event("payment_intent.succeeded", intent_object(payment)),
        fake_stripe.webhook_secrets,
    )

    post_stripe(Client(), body, headers)

    assert WebhookEvent.objects.get().outcome == (
        "conflict: succeeded at Stripe, payment is canceled"
    )
    assert captures_of(payment) == 0


# --- stored first: failures to apply are retried, failures to store are a 500 ----------


@pytest.mark.django_db
def test_an_event_that_fails_to_apply_is_kept_acknowledged_and_applied_by_the_retry_job(
    fake_stripe: FakeStripeServer, monkeypatch: pytest.MonkeyPatch
):
    payment = card_payment()
    patient_pays_by_card(fake_stripe, payment)
    real_transition = webhook_service.payment_transition
    failures = iter([OperationalError("could not serialize access")])

    def flaky_transition(**kwargs: Any) -> Any:
        for error in failures:
            raise error
        return real_transition(**kwargs)

    monkeypatch.setattr(webhook_service, "payment_transition", flaky_transition)

    response = deliver_stripe(
        Client(), fake_stripe, fake_stripe.events_of_type("payment_intent.succeeded")[0]
    )

    assert response.status_code == 200  # stored: Stripe must not keep retrying
    event = WebhookEvent.objects.get()
    assert event.applied_at is None
    assert event.attempts == 1
    assert event.last_error == "OperationalError: could not serialize access"
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING

    assert retry_webhook_events.delay().get() == 1

    event.refresh_from_db()
    assert (event.outcome, event.attempts, event.last_error) == ("succeeded", 2, "")
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
    assert captures_of(payment) == 1
    assert retry_webhook_events.delay().get() == 0


@pytest.mark.django_db
def test_an_event_for_an_unknown_payment_is_retried_then_parked(
    settings, fake_stripe: FakeStripeServer
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    orphan = stripe_event(
        "payment_intent.succeeded",
        {"id": "pi_unknown", "amount": 1, "currency": "vnd", "metadata": {}},
    )
    post_stripe(Client(), *signed(orphan, fake_stripe.webhook_secrets))

    for _ in range(4):
        retry_webhook_events.delay()

    event = WebhookEvent.objects.get()
    assert event.applied_at is None
    assert event.attempts == 3
    assert event.outcome.startswith("parked")
    assert "no payment for intent pi_unknown" in event.last_error


@pytest.mark.django_db
def test_when_the_event_cannot_be_stored_the_answer_is_500_so_stripe_retries(
    fake_stripe: FakeStripeServer, monkeypatch: pytest.MonkeyPatch
):
    def database_down(**kwargs: Any) -> Any:
        raise DatabaseError("connection lost")

    monkeypatch.setattr("payments.api.webhooks.webhook_receive", database_down)
    body, headers = signed(stripe_event("customer.created", {}), fake_stripe.webhook_secrets)

    response = post_stripe(Client(raise_request_exception=False), body, headers)

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"


# --- the webhook races the client's own sync ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_webhook_racing_its_redelivery_and_the_clients_sync_records_one_payment_and_entry(
    fake_stripe: FakeStripeServer,
):
    rounds = 4
    payments = [card_payment() for _ in range(rounds)]
    for payment in payments:
        patient_pays_by_card(fake_stripe, payment)
    succeeded = {
        event["data"]["object"]["id"]: event
        for event in fake_stripe.events_of_type("payment_intent.succeeded")
    }
    errors: list[Exception] = []
    answers: list[Any] = []
    for payment in payments:
        event = succeeded[payment.provider_reference]

        def work(index: int, event: dict[str, Any] = event, payment: Payment = payment) -> Any:
            # Stripe's delivery, Stripe's retry of it, and the client's own sync, all at once.
            if index < 2:
                return deliver_stripe(Client(), fake_stripe, event).json()
            return payment_sync_from_provider(payment=payment)

        outcomes = run_at_once(3, work)
        errors += [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        answers += outcomes[:2]

    assert errors == []
    # Each event was stored once: one delivery created it, its twin was told "duplicate".
    assert sorted(a["duplicate"] for a in answers) == [False] * rounds + [True] * rounds
    for payment in payments:
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.SUCCEEDED
        assert captures_of(payment) == 1
        assert OutboxEvent.objects.filter(payload__payment_id=payment.pk).count() == 1
        stored = WebhookEvent.objects.get(event_id=succeeded[payment.provider_reference]["id"])
        assert stored.outcome in ("succeeded", "unchanged: payment is succeeded")
    assert balance(STRIPE_CLEARING) == sum(p.amount for p in payments)
