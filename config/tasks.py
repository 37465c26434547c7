"""The base of every Celery task of ours: counted deliveries, bounded retries, parking.

``acks_late`` with ``reject_on_worker_lost`` means a task whose worker dies is delivered
again; that is what makes a crash lose nothing, and also what makes a message that kills its
worker (a poison message) come back forever. ``ReliableTask`` counts each delivery in
``TaskDelivery`` (under the message's task id, which a retry keeps) before the body runs —
except a message's first delivery, which costs nothing on the common path:

- a first delivery (neither a retry nor a message the broker hands out again) runs without
  a row; only when it fails is it counted, as delivery 1, with its error;
- the broker marks a message it hands out again (the worker died, or held it past the
  visibility timeout: kombu sets ``redelivered``), so a redelivery with no row yet is
  counted as delivery 2: the first one was lost with its worker; retries (and requeues,
  sent as a retry) add one to the row the failure left.

- past ``max_attempts`` deliveries the message is parked, not run, and shows in the admin;
- a transient error (``transient_errors``: database or network trouble) is retried with
  exponential backoff and jitter, never with a countdown near the broker's visibility
  timeout (Redis would hand a message held that long to a second worker);
- any other error parks the message at once: running it again would fail the same way;
- success removes the row.

In eager mode (the embedded default) tasks run inside the caller and their errors reach it,
so nothing is counted there.
"""

from __future__ import annotations

import json
import logging
import random
from typing import Any

from celery import Task, current_app
from celery.exceptions import Ignore, Reject, Retry
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from config.task_deliveries.models import TaskDelivery

logger = logging.getLogger(__name__)


def backoff_seconds(attempt: int, *, base: float, ceiling: float) -> float:
    """``base`` doubled for each attempt after the first (1, 2, …), at most ``ceiling`` and
    never more than a quarter of the broker's visibility timeout: Redis hands a message
    held longer than that to a second worker."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    return float(min(base * 2 ** max(attempt - 1, 0), ceiling, visibility / 4))


def retry_countdown(attempt: int, *, base: float = 2.0) -> float:
    """Seconds before retry number ``attempt`` of a task: the backoff, with jitter."""
    backoff = backoff_seconds(attempt, base=base, ceiling=float("inf"))
    return backoff * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret


def _upsert_statement() -> str:
    table = connection.ops.quote_name(TaskDelivery._meta.db_table)
    return (
        f"INSERT INTO {table} (task_id, task_name, kwargs, attempts, last_error,"  # noqa: S608 - the model's table
        " created_at, updated_at) VALUES (%s, %s, %s, %s, '', %s, %s)"
        f" ON CONFLICT (task_id) DO UPDATE SET attempts = {table}.attempts + 1,"
        " updated_at = excluded.updated_at RETURNING id, attempts, parked_at, last_error"
    )


def task_delivery_begin(
    *, task_id: str, task_name: str, kwargs: dict[str, Any], uncounted_before: int = 0
) -> TaskDelivery:
    """Counts one delivery of a task message: one statement (an insert that adds one to the
    count of a row already there), committed on its own, atomic when two workers race for
    the same message. ``uncounted_before``: deliveries of it that ran without a row (a lost
    first delivery), counted too when the row is made."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _upsert_statement(),
            [
                task_id,
                task_name,
                json.dumps(kwargs, cls=DjangoJSONEncoder),
                1 + uncounted_before,
                now,
                now,
            ],
        )
        pk, attempts, parked_at, last_error = cursor.fetchone()
    return TaskDelivery(
        pk=pk,
        task_id=task_id,
        task_name=task_name,
        kwargs=kwargs,
        attempts=attempts,
        parked_at=parked_at,
        last_error=last_error,
        updated_at=now,
    )


def task_delivery_park(*, delivery: TaskDelivery, error: str) -> None:
    TaskDelivery.objects.filter(pk=delivery.pk).update(
        parked_at=timezone.now(), last_error=error[:300], updated_at=timezone.now()
    )
    # The error's text stays in the row (admin only): a database error can quote values.
    logger.error(
        "task %s (%s) parked after %d deliveries: %s",
        delivery.task_name,
        delivery.task_id,
        delivery.attempts,
        error.split(":", 1)[0],
    )


def task_delivery_requeue(*, delivery: TaskDelivery) -> None:
    """Sends a parked task again under its own id, with its count reset (after the cause of
    its failure was dealt with). The message goes out after the surrounding commit."""
    with transaction.atomic():
        TaskDelivery.objects.filter(pk=delivery.pk).update(
            attempts=0, parked_at=None, last_error="", updated_at=timezone.now()
        )
        name, task_id, kwargs = delivery.task_name, delivery.task_id, delivery.kwargs
        # Sent as a retry, so that its delivery is counted on the row (reset here).
        transaction.on_commit(
            lambda: current_app.signature(name, kwargs=kwargs).apply_async(
                task_id=task_id, retries=1
            )
        )


class ReliableTask(Task):
    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True
    max_retries = None  # our own count (``max_attempts``) decides, across redeliveries too
    max_attempts = 5
    retry_base_seconds = 2.0
    transient_errors: tuple[type[Exception], ...] = (
        OperationalError,
        InterfaceError,
        ConnectionError,
        TimeoutError,
    )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.request.is_eager or not self.request.id:
            return super().__call__(*args, **kwargs)
        redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
        delivery: TaskDelivery | None = None
        if redelivered or self.request.retries:
            delivery = self._count(kwargs, uncounted_before=1 if redelivered else 0)
            if delivery.parked_at is not None:
                return None  # parked while this copy waited in the queue
            if delivery.attempts > self.max_attempts:
                task_delivery_park(
                    delivery=delivery, error=delivery.last_error or "delivered too often"
                )
                return None
        try:
            result = super().__call__(*args, **kwargs)
        except (Retry, Ignore, Reject):  # the task itself asked Celery for these
            raise
        except self.transient_errors as error:
            try:
                delivery = delivery or self._count(kwargs)
            except self.transient_errors:  # the database is away too: retried uncounted
                raise self.retry(
                    exc=error, countdown=retry_countdown(1, base=self.retry_base_seconds)
                ) from error
            described = f"{type(error).__name__}: {error}"
            if delivery.attempts >= self.max_attempts:
                task_delivery_park(delivery=delivery, error=described)
                return None
            TaskDelivery.objects.filter(pk=delivery.pk).update(last_error=described[:300])
            raise self.retry(
                exc=error,
                countdown=retry_countdown(delivery.attempts, base=self.retry_base_seconds),
            ) from error
        except Exception as error:  # a bug or bad data: the same message would fail again
            delivery = delivery or self._count(kwargs)
            task_delivery_park(delivery=delivery, error=f"{type(error).__name__}: {error}")
            return None
        if delivery is not None:
            TaskDelivery.objects.filter(pk=delivery.pk).delete()
        return result

    def _count(self, kwargs: dict[str, Any], *, uncounted_before: int = 0) -> TaskDelivery:
        task_id = self.request.id
        assert task_id is not None
        return task_delivery_begin(
            task_id=task_id, task_name=self.name, kwargs=kwargs, uncounted_before=uncounted_before
        )
