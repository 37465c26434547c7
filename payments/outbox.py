"""Relaying outbox events to Celery (the publish half of the transactional outbox).

Apps that react to payments subscribe a Celery task name to a topic (notifications does so
in its ``AppConfig.ready``), so payments never imports them. The relay runs after every
commit that wrote events and every few seconds from beat; each event row is taken with
``FOR UPDATE SKIP LOCKED`` so two relays never publish one event twice. Subscribers are
idempotent (an event may be delivered again after a crash between publish and mark)."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from payments.models import OutboxEvent

logger = logging.getLogger(__name__)

SUBSCRIBERS: defaultdict[str, list[str]] = defaultdict(list)
# An event that fails to publish this many times is parked (left unpublished, logged).
MAX_PUBLISH_ATTEMPTS = 10


def outbox_emit(*, topic: str, payload: dict[str, Any], dedupe_key: str) -> OutboxEvent:
    """Write an event in the caller's transaction (ids only in ``payload``), and relay the
    outbox right after that transaction commits; beat relays it should this process die in
    between. A rollback leaves no row and relays nothing. ``dedupe_key`` is unique: one
    business event, one row."""
    event = OutboxEvent.objects.create(topic=topic, payload=payload, dedupe_key=dedupe_key)
    # Robust: a broker that is down must not fail what committed (beat relays later).
    transaction.on_commit(_relay_soon, robust=True)
    return event


def _relay_soon() -> None:
    # Imported here: payments.tasks imports the services, which import this module.
    from payments.tasks import relay_outbox

    relay_outbox.delay()


def subscribe(topic: str, task_name: str) -> None:
    if task_name not in SUBSCRIBERS[topic]:
        SUBSCRIBERS[topic].append(task_name)


def outbox_relay(*, batch_size: int = 100) -> int:
    """Publish unpublished events; returns how many were published.

    With a broker, publishing only sends messages, inside the transaction that holds the
    events' row locks and marks them published (a crash before commit publishes again:
    subscribers are idempotent). Under the embedded default (eager mode) a "published"
    task runs right here, and its own row locks must not be held inside that transaction
    — two relays would then wait on each other's subscribers — so the events are marked in
    it and their subscribers run after its commit; one that fails is put back for the next
    relay."""
    if current_app.conf.task_always_eager:
        return _relay_in_process(batch_size)
    published = 0
    with transaction.atomic():
        for event in _take(batch_size):
            try:
                _publish(event)
            except Exception:  # broker down: retry on the next relay
                logger.exception("outbox event %s could not be published", event.pk)
                event.attempts += 1
                event.save(update_fields=["attempts"])
                continue
            _mark_published(event)
            published += 1
    return published


def _take(batch_size: int) -> list[OutboxEvent]:
    return list(
        OutboxEvent.objects.select_for_update(skip_locked=True)
        .filter(published_at__isnull=True, attempts__lt=MAX_PUBLISH_ATTEMPTS)
        .order_by("id")[:batch_size]
    )


def _publish(event: OutboxEvent) -> None:
    for task_name in SUBSCRIBERS.get(event.topic, []):
        current_app.signature(
            task_name, kwargs={"event_id": event.pk, **event.payload}
        ).apply_async()


def _mark_published(event: OutboxEvent) -> None:
    event.published_at = timezone.now()
    event.attempts += 1
    event.save(update_fields=["published_at", "attempts"])


def _relay_in_process(batch_size: int) -> int:
    with transaction.atomic():
        events = _take(batch_size)
        for event in events:
            _mark_published(event)
    published = 0
    for event in events:
        try:
            _publish(event)
        except Exception:
            logger.exception("outbox event %s failed in process; put back", event.pk)
            OutboxEvent.objects.filter(pk=event.pk).update(published_at=None)
            continue
        published += 1
    return published
