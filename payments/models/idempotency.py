"""Idempotency keys with Stripe's semantics (after Brandur Leach's rocket-rides-atomic).

A key is scoped to its client (a staff user, a device, a pay link). The first request with
a key locks it and executes; its response (status and body) is saved and replayed for the
same key and the same request; the same key with a different request is refused. A lock
older than ``IDEMPOTENCY_LOCK_TIMEOUT`` is taken over (the first executor died). Keys are
kept at least ``IDEMPOTENCY_KEY_TTL_HOURS`` (24 h) and then pruned by beat."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    scope = models.CharField(max_length=80, help_text="user:<id>, device:<id>, paylink:<id>")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path, body")
    locked_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope}/{self.key}"
