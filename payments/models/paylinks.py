"""Phone pay links: bearer credentials for one invoice, stored as a hash of the token so a
copy of the database holds none, each revocable."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.public_ids import mint_public_id


def new_pay_link_id() -> str:
    return mint_public_id(prefix="pl_")


class PayLinkRevokeReason(models.TextChoices):
    BY_STAFF = "by_staff", "Revoked by a cashier"
    INVOICE_PAID = "invoice_paid", "The invoice was paid"
    INVOICE_VOID = "invoice_void", "The invoice was voided"


class PayLink(models.Model):
    """One pay link: who made it, until when it is valid, whether it was revoked. The token
    itself is never stored, only its SHA-256."""

    public_id = models.CharField(max_length=32, unique=True, default=new_pay_link_id)
    token_hash = models.CharField(max_length=64, unique=True)
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by_device = models.ForeignKey(
        "identity.Device", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_reason = models.CharField(
        max_length=16, choices=PayLinkRevokeReason.choices, blank=True
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["invoice", "revoked_at"], name="paylink_invoice_active")]
        constraints = [
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_reason="")
                | Q(revoked_at__isnull=False) & ~Q(revoked_reason=""),
                name="paylink_revoked_with_reason",
            )
        ]

    def __str__(self) -> str:
        return self.public_id
