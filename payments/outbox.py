"""Relaying outbox events to Celery (the publish half of the transactional outbox).

Apps that react to payments subscribe a Celery task name to a topic (notifications does so
in its ``AppConfig.ready``), so payments never imports them. The relay runs after every
commit that wrote events and every few seconds from beat; each event row is taken with
``FOR UPDATE SKIP LOCKED`` so two relays never publish one event twice. Subscribers are
idempotent (an event may be delivered again after a crash between publish and mark)."""

from __future__ import annotations

import logging
from collections import defaultdict

from celery import current_app
from django.db import transaction
from django.utils import timezone

from payments.models import OutboxEvent

logger = logging.getLogger(__name__)

SUBSCRIBERS: defaultdict[str, list[str]] = defaultdict(list)
# An event that fails to publish this many times is parked (left unpublished, logged).
MAX_PUBLISH_ATTEMPTS = 10


def subscribe(topic: str, task_name: str) -> None:
    if task_name not in SUBSCRIBERS[topic]:
        SUBSCRIBERS[topic].append(task_name)


def outbox_relay(*, batch_size: int = 100) -> int:
    """Publish unpublished events; returns how many were published."""
    published = 0
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True, attempts__lt=MAX_PUBLISH_ATTEMPTS)
            .order_by("id")[:batch_size]
        )
        for event in events:
            try:
                for task_name in SUBSCRIBERS.get(event.topic, []):
                    # A signature runs in-process under the embedded default (eager mode)
                    # and goes to the broker otherwise.
                    current_app.signature(
                        task_name, kwargs={"event_id": event.pk, **event.payload}
                    ).apply_async()
            except Exception:  # broker down: retry on the next relay
                logger.exception("outbox event %s could not be published", event.pk)
                event.attempts += 1
                event.save(update_fields=["attempts"])
                continue
            event.published_at = timezone.now()
            event.attempts += 1
            event.save(update_fields=["published_at", "attempts"])
            published += 1
    return published
