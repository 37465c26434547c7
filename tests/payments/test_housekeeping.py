"""The beat jobs of payments: expire unpaid QRs, ask Stripe about payments stuck in flight,
relay the outbox to its subscribers, prune idempotency keys — each idempotent."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from celery import current_app, shared_task
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone

from payments.models import (
    IdempotencyRecord,
    OutboxEvent,
    Payment,
    PaymentStatus,
    ReconciliationItem,
    ReconciliationReason,
)
from payments.outbox import SUBSCRIBERS
from payments.selectors.payments import invoice_payable_amount
from payments.services.housekeeping import payments_cancel_abandoned
from payments.services.transitions import payment_transition
from payments.tasks import (
    expire_qr_payments,
    prune_idempotency_keys,
    relay_outbox,
    sync_stuck_payments,
)
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.payments import (
    card_payment,
    kiosk_card_payment,
    patient_pays_by_card,
    vietqr_payment,
)
from tests.payments.builders.webhooks import bank_memo, post_sepay, sepay_body

pytestmark = pytest.mark.django_db

PAYMENT_TASKS = [
    "payments.relay_outbox",
    "payments.expire_qr_payments",
    "payments.sync_stuck_payments",
    "payments.retry_webhook_events",
    "payments.prune_idempotency_keys",
]


def age(payment: Payment, *, minutes: int) -> None:
    """As if the payment had been created and last changed ``minutes`` ago."""
    then = timezone.now() - timedelta(minutes=minutes)
    Payment.objects.filter(pk=payment.pk).update(created_at=then, updated_at=then)


# --- the schedule ----------------------------------------------------------------------


def test_every_payments_job_is_scheduled_and_registered_as_a_late_acknowledged_task():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert set(PAYMENT_TASKS) <= scheduled
    for name in PAYMENT_TASKS:
        task = current_app.tasks[name]
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True


# --- expiry ----------------------------------------------------------------------------


@pytest.mark.usefixtures("bank_feeds_configured")
def test_the_expiry_job_expires_only_qr_payments_whose_time_is_up_and_a_late_transfer_is_held():
    due, in_grace, fresh = vietqr_payment(), vietqr_payment(), vietqr_payment()
    grace = timedelta(minutes=settings.VIETQR_EXPIRY_GRACE_MINUTES)
    Payment.objects.filter(pk=due.pk).update(
        expires_at=timezone.now() - grace - timedelta(seconds=1)
    )
    Payment.objects.filter(pk=in_grace.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert expire_qr_payments.delay().get() == 1
    assert expire_qr_payments.delay().get() == 0  # idempotent

    assert Payment.objects.get(pk=due.pk).status == PaymentStatus.EXPIRED
    # Ran out, but the bank feed may still report a transfer made in time.
    assert Payment.objects.get(pk=in_grace.pk).status == PaymentStatus.PENDING
    assert Payment.objects.get(pk=fresh.pk).status == PaymentStatus.PENDING
    assert due.memo_code is not None
    post_sepay(Client(), sepay_body(amount=due.amount, content=bank_memo(due.memo_code)))
    assert Payment.objects.get(pk=due.pk).status == PaymentStatus.EXPIRED
    item = ReconciliationItem.objects.get()
    assert (item.reason, item.payment_id) == (ReconciliationReason.EXPIRED, due.pk)


# --- asking Stripe about stuck payments ------------------------------------------------


@pytest.mark.usefixtures("stripe_configured")
def test_the_sync_job_records_what_stripe_says_about_card_payments_whose_webhook_was_lost(
    fake_stripe: FakeStripeServer,
):
    phone = card_payment()
    patient_pays_by_card(fake_stripe, phone)  # paid at Stripe; its webhook never arrives
    kiosk, reader = kiosk_card_payment(fake_stripe)
    fake_stripe.complete_reader_action(reader)
    abandoned = card_payment()  # the patient closed the page: nothing to record
    recent = card_payment()
    patient_pays_by_card(fake_stripe, recent)  # its webhook may still be on its way
    for payment in (phone, kiosk, abandoned):
        age(payment, minutes=settings.PAYMENT_SYNC_AFTER_MINUTES + 1)

    assert sync_stuck_payments.delay().get() == 2

    assert Payment.objects.get(pk=phone.pk).status == PaymentStatus.SUCCEEDED
    assert Payment.objects.get(pk=kiosk.pk).status == PaymentStatus.SUCCEEDED
    assert Payment.objects.get(pk=abandoned.pk).status == PaymentStatus.PENDING
    assert Payment.objects.get(pk=recent.pk).status == PaymentStatus.PENDING
    asked = {r.path for r in fake_stripe.request_log if r.method == "GET"}
    assert f"/v1/payment_intents/{recent.provider_reference}" not in asked
    assert f"/v1/payment_intents/{abandoned.provider_reference}" in asked
    assert sync_stuck_payments.delay().get() == 0  # the paid ones are no longer in flight


@pytest.mark.usefixtures("stripe_configured")
def test_the_sync_job_skips_a_payment_stripe_cannot_answer_for_and_settles_it_next_time(
    fake_stripe: FakeStripeServer,
):
    first, second = card_payment(), card_payment()
    for payment in (first, second):
        patient_pays_by_card(fake_stripe, payment)
        age(payment, minutes=settings.PAYMENT_SYNC_AFTER_MINUTES + 1)
    fake_stripe.fail_next(f"/v1/payment_intents/{first.provider_reference}", method="GET")

    assert sync_stuck_payments.delay().get() == 1
    assert Payment.objects.get(pk=first.pk).status == PaymentStatus.PENDING

    assert sync_stuck_payments.delay().get() == 1
    assert Payment.objects.get(pk=first.pk).status == PaymentStatus.SUCCEEDED


# --- the outbox ------------------------------------------------------------------------

RECEIVED: list[dict[str, Any]] = []


@shared_task(name="tests.payments.outbox_probe")
def outbox_probe(**kwargs: Any) -> None:
    """A stand-in for notifications' receipt task: records what it was sent."""
    RECEIVED.append(kwargs)


@pytest.fixture
def probe_subscribed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    monkeypatch.setitem(SUBSCRIBERS, "payment.succeeded", ["tests.payments.outbox_probe"])
    RECEIVED.clear()
    return RECEIVED


def test_a_payment_success_is_relayed_to_subscribers_right_after_commit(
    probe_subscribed: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
):
    payment = vietqr_payment()

    with django_capture_on_commit_callbacks(execute=True):
        payment_transition(payment=payment, to=PaymentStatus.SUCCEEDED)
        assert probe_subscribed == []  # nothing is sent before the commit

    event = OutboxEvent.objects.get()
    assert probe_subscribed == [{"event_id": event.pk, "payment_id": payment.pk}]
    assert event.published_at is not None
    assert relay_outbox.delay().get() == 0  # published once, not again


def test_a_rolled_back_payment_success_leaves_nothing_to_send(
    probe_subscribed: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
):
    payment = vietqr_payment()

    def request_failing_after_the_transition() -> None:
        with transaction.atomic():
            payment_transition(payment=payment, to=PaymentStatus.SUCCEEDED)
            raise RuntimeError("the request failed after the transition")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        request_failing_after_the_transition()

    assert callbacks == []
    assert not OutboxEvent.objects.exists()
    assert relay_outbox.delay().get() == 0
    assert probe_subscribed == []


def test_the_beat_relay_publishes_events_a_crash_left_behind(
    probe_subscribed: list[dict[str, Any]],
):
    payment = vietqr_payment()
    payment_transition(payment=payment, to=PaymentStatus.SUCCEEDED)  # its on-commit relay lost

    assert relay_outbox.delay().get() == 1

    assert probe_subscribed == [
        {"event_id": OutboxEvent.objects.get().pk, "payment_id": payment.pk}
    ]


# --- idempotency keys ------------------------------------------------------------------


def test_the_prune_job_deletes_only_keys_older_than_their_time_to_live():
    old = IdempotencyRecord.objects.create(
        scope="device:1", key="old", method="POST", path="/api/v1/payments", fingerprint="x"
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS + 1)
    )
    IdempotencyRecord.objects.create(
        scope="device:1", key="new", method="POST", path="/api/v1/payments", fingerprint="y"
    )

    assert prune_idempotency_keys.delay().get() == 1

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.usefixtures("stripe_configured")
def test_an_abandoned_phone_card_payment_is_canceled_and_its_reservation_released(
    fake_stripe: FakeStripeServer,
):
    abandoned, recent = card_payment(), card_payment()
    age(abandoned, minutes=settings.CARD_PAYMENT_TTL_MINUTES + 1)

    assert payments_cancel_abandoned() == 1
    assert payments_cancel_abandoned() == 0  # idempotent

    assert Payment.objects.get(pk=abandoned.pk).status == PaymentStatus.CANCELED
    assert fake_stripe.get(abandoned.provider_reference)["status"] == "canceled"
    assert Payment.objects.get(pk=recent.pk).status == PaymentStatus.PENDING
    assert abandoned.invoice is not None
    assert invoice_payable_amount(invoice=abandoned.invoice) == abandoned.amount


def test_an_in_process_subscriber_that_fails_puts_its_event_back_for_the_next_relay(
    monkeypatch: pytest.MonkeyPatch,
):
    """Under the embedded default (eager) subscribers run after the relay's commit; one that
    raises leaves its event unpublished, and the next relay runs it again."""
    from payments import outbox
    from tests.task_probes import probe_done

    key = f"probe:{uuid.uuid4().hex}"
    monkeypatch.setitem(outbox.SUBSCRIBERS, "test.flaky", ["tests.probe"])
    event = OutboxEvent.objects.create(
        topic="test.flaky",
        payload={"key": key, "failures": 1, "failure": "permanent"},
        dedupe_key=key,
    )

    assert outbox.outbox_relay() == 0
    event.refresh_from_db()
    assert (event.published_at, event.attempts) == (None, 1)

    assert outbox.outbox_relay() == 1
    event.refresh_from_db()
    assert event.published_at is not None
    assert probe_done(key)
