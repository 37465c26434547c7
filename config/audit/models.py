"""The audit trail: one append-only row per action that moves money or approves, per read
of a patient's personal data by staff or a device, and per staff/device credential change.

Rows form one hash chain per local day: each row stores the hash of the previous row of
its day (the first row of a day, a hash of the day itself) and its own hash over its
content and that link. On PostgreSQL a trigger refuses ``UPDATE`` and ``DELETE``; an edit
or a removal made around it breaks the chain, which ``manage.py audit_verify`` reports.
A row never holds personal data: the target is an id, the detail amounts and codes.
"""

from __future__ import annotations

from django.db import models


class AuditCategory(models.TextChoices):
    MONEY = "money", "Moves money"
    APPROVAL = "approval", "Approval"
    PERSONAL_DATA = "personal_data", "Personal data read"
    CREDENTIAL = "credential", "Credential change"


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"


class ActorKind(models.TextChoices):
    STAFF = "staff", "Staff user"
    DEVICE = "device", "Device"
    PUBLIC = "public", "Patient or public link"
    SYSTEM = "system", "System (task, command, provider)"


class AuditEvent(models.Model):
    day = models.DateField(help_text="Local day (TIME_ZONE) of the chain the row belongs to")
    seq = models.PositiveIntegerField(help_text="Position in the day's chain, from 1")
    occurred_at = models.DateTimeField()
    category = models.CharField(max_length=16, choices=AuditCategory.choices)
    action = models.CharField(max_length=64, help_text="noun.verb: refund.approve")
    outcome = models.CharField(max_length=8, choices=AuditOutcome.choices)
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=150, blank=True, help_text="username or device")
    terminal = models.CharField(max_length=32, blank=True, help_text="cashier terminal code")
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    client_address = models.CharField(max_length=45, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["day", "seq"], name="audit_event_one_per_day_seq"),
            models.CheckConstraint(
                condition=models.Q(category__in=AuditCategory.values),
                name="audit_event_category_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=AuditOutcome.values),
                name="audit_event_outcome_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(actor_kind__in=ActorKind.values),
                name="audit_event_actor_kind_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_event_target"),
            models.Index(fields=["occurred_at"], name="audit_event_occurred_at"),
            models.Index(fields=["action", "occurred_at"], name="audit_event_action"),
        ]

    def __str__(self) -> str:
        return f"{self.day} #{self.seq} {self.action} {self.outcome}"
