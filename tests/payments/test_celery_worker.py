"""Payments' background work on a real Celery worker (a separate process on the Redis
broker), not in-process: what a payment's success must trigger reaches the worker after
commit, and the beat jobs run there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.chart import VIETQR_CLEARING
from payments.models import OutboxEvent, Payment, PaymentStatus
from payments.services.transitions import payment_transition
from payments.tasks import expire_qr_payments
from tests.celery_worker import celery_worker, wait_until  # noqa: F401 (fixture)
from tests.payments.builders.payments import vietqr_payment

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]


def test_a_payment_success_is_relayed_by_the_worker_after_commit():
    payment = vietqr_payment()

    payment_transition(payment=payment, to=PaymentStatus.SUCCEEDED, debit_account=VIETQR_CLEARING)

    event = OutboxEvent.objects.get(topic="payment.succeeded")
    assert wait_until(
        lambda: OutboxEvent.objects.filter(pk=event.pk, published_at__isnull=False).exists()
    ), "the worker never relayed the outbox event"


def test_the_qr_expiry_job_runs_on_the_worker():
    payment = vietqr_payment()
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    expire_qr_payments.delay()

    assert wait_until(lambda: Payment.objects.get(pk=payment.pk).status == PaymentStatus.EXPIRED), (
        "the worker never expired the payment"
    )
