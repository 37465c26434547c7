"""Reading stored provider events: the ones still to apply."""

from __future__ import annotations

from django.conf import settings

from payments.models import WebhookEvent


def webhook_event_ids_unapplied(*, limit: int = 100) -> list[int]:
    """Ids of stored events not applied yet and below ``WEBHOOK_MAX_ATTEMPTS`` (the others
    are parked), oldest first."""
    return list(
        WebhookEvent.objects.filter(
            applied_at__isnull=True, attempts__lt=settings.WEBHOOK_MAX_ATTEMPTS
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
