"""The transactional outbox: what must follow a payment is written in the same transaction
as the payment's change and relayed to Celery after commit (and by beat, should a
process die between commit and publish). A rolled-back change leaves no row, so nothing is
sent for it."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class OutboxEvent(models.Model):
    topic = models.CharField(max_length=60, help_text="e.g. payment.succeeded")
    # Ids only, never personal data: handlers read what they need from the database.
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    # One business event, one row: a duplicate webhook cannot enqueue a second receipt.
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                name="outbox_unpublished",
                condition=models.Q(published_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.dedupe_key}"
