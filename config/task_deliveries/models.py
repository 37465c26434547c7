"""Deliveries of Celery tasks still in flight, failing or parked.

A task message can come back again and again: a retry after a transient error, or a
redelivery after the worker running it died (``acks_late`` + ``reject_on_worker_lost``). A
message that kills its worker every time (a poison message) would loop forever. Each delivery
is counted here, under the message's task id, before the task body runs; past its task's
``max_attempts`` the message is parked for a person instead of run. A delivery that succeeds
removes its row, so the table holds only what is in flight, failing or parked."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class TaskDelivery(models.Model):
    task_id = models.CharField(max_length=64, unique=True)
    task_name = models.CharField(max_length=120)
    # Ids only (tasks never take personal data), kept so a parked task can be requeued.
    kwargs = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    parked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Created by payments before task reliability moved to the frame; the table kept
        # its name.
        db_table = "payments_taskdelivery"
        ordering = ["-updated_at"]
        verbose_name_plural = "task deliveries"
        indexes = [
            models.Index(
                fields=["parked_at"],
                name="task_parked",
                condition=models.Q(parked_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_name} {self.task_id}"
