"""Celery deliveries on a real worker: transient errors are retried with backoff, a message
that keeps failing (or keeps killing its worker) is parked instead of looping forever, and a
parked message can be requeued once its cause is fixed."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from config.task_deliveries.models import TaskDelivery
from config.tasks import retry_countdown, task_delivery_begin, task_delivery_requeue
from payments.models import OutboxEvent
from payments.tasks import relay_outbox
from tests.celery_worker import (  # noqa: F401 (fixtures)
    celery_prefork_worker,
    celery_worker,
    wait_until,
)
from tests.concurrency import run_at_once
from tests.task_probes import probe, probe_done, probe_runs

worker_test = pytest.mark.django_db(transaction=True)


def _key() -> str:
    return f"probe:{uuid.uuid4().hex}"


def _parked(task_id: str) -> TaskDelivery | None:
    return TaskDelivery.objects.filter(task_id=task_id, parked_at__isnull=False).first()


@worker_test
@pytest.mark.usefixtures("celery_worker")
def test_a_transient_error_is_retried_until_the_task_succeeds():
    key = _key()

    result = probe.delay(key=key, failures=2, failure="transient")

    assert wait_until(lambda: probe_done(key)), "the worker never succeeded"
    assert probe_runs(key) == 3
    # Success removes the delivery's row: only what is in flight, failing or parked stays.
    assert wait_until(lambda: not TaskDelivery.objects.filter(task_id=result.id).exists())


@worker_test
@pytest.mark.usefixtures("celery_worker")
def test_a_transient_error_that_never_clears_is_parked_after_max_attempts():
    key = _key()

    result = probe.delay(key=key, failures=100, failure="transient")

    assert wait_until(lambda: _parked(result.id) is not None), "never parked"
    parked = _parked(result.id)
    assert parked is not None
    assert parked.attempts == 3
    assert parked.last_error == "ConnectionError: the gateway did not answer"
    assert parked.kwargs == {"key": key, "failures": 100, "failure": "transient"}
    assert probe_runs(key) == 3


@worker_test
@pytest.mark.usefixtures("celery_worker")
def test_a_permanent_error_is_parked_at_once_and_runs_again_when_requeued():
    key = _key()
    result = probe.delay(key=key, failures=1, failure="permanent")
    assert wait_until(lambda: _parked(result.id) is not None), "never parked"
    parked = _parked(result.id)
    assert parked is not None
    assert (parked.attempts, parked.last_error) == (1, "ValueError: this message can never succeed")

    task_delivery_requeue(delivery=parked)

    assert wait_until(lambda: probe_done(key)), "the requeued task never ran"
    assert probe_runs(key) == 2
    assert wait_until(lambda: not TaskDelivery.objects.filter(task_id=result.id).exists())


@worker_test
@pytest.mark.usefixtures("celery_prefork_worker")
def test_a_message_that_kills_its_worker_is_parked_not_redelivered_forever():
    key = _key()

    result = probe.delay(key=key, failures=100, failure="worker_dies")

    assert wait_until(lambda: _parked(result.id) is not None, timeout=60), "never parked"
    parked = _parked(result.id)
    assert parked is not None
    # Three deliveries ran (and killed their process); the fourth was parked unrun.
    assert probe_runs(key) == 3
    assert parked.attempts == 4
    assert parked.last_error == "delivered too often"


@worker_test
@pytest.mark.usefixtures("celery_worker")
def test_payments_beat_jobs_leave_no_delivery_behind_when_they_succeed():
    event = OutboxEvent.objects.create(topic="nobody.listens", payload={}, dedupe_key=_key())

    result = relay_outbox.delay()

    assert wait_until(lambda: OutboxEvent.objects.get(pk=event.pk).published_at is not None)
    assert wait_until(lambda: not TaskDelivery.objects.filter(task_id=result.id).exists())


def test_retry_countdowns_double_and_stay_inside_the_visibility_timeout():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]

    first, second, third = (retry_countdown(attempt, base=10) for attempt in (1, 2, 3))

    assert 5 <= first <= 10
    assert 10 <= second <= 20
    assert 20 <= third <= 40
    assert all(retry_countdown(attempt) <= visibility / 4 for attempt in range(1, 40))


@worker_test
def test_deliveries_of_one_message_counted_at_once_are_each_counted() -> None:
    """One statement counts a delivery (insert, or add one): eight workers counting the same
    message at the same moment leave one row counting eight."""
    task_id = uuid.uuid4().hex

    counted = run_at_once(
        8,
        lambda index: (
            task_delivery_begin(
                task_id=task_id, task_name="probe", kwargs={"key": "k", "index": 0}
            ).attempts
        ),
    )

    assert sorted(counted) == list(range(1, 9))
    row = TaskDelivery.objects.get(task_id=task_id)
    assert row.attempts == 8
    assert row.kwargs == {"key": "k", "index": 0}
    assert row.parked_at is None
