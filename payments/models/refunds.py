"""Money given back on a payment (by the payment's own rail), why, and where it stands."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from billing.money import CurrencyField


class RefundReason(models.TextChoices):
    DUPLICATE = "duplicate", "Paid twice"
    SERVICE_NOT_PERFORMED = "service_not_performed", "Service not performed"
    OVERPAYMENT = "overpayment", "Paid more than was due"
    INSURANCE_ADJUSTMENT = "insurance_adjustment", "Insurance share adjusted"
    DEPOSIT_REFUND = "deposit_refund", "Advance given back"
    REQUESTED_BY_PATIENT = "requested_by_patient", "Requested by the patient"
    OTHER = "other", "Other"


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", "Awaiting a supervisor's approval"
    APPROVED = "approved", "Approved, being processed"
    REJECTED = "rejected", "Rejected"
    PENDING_PAYOUT = "pending_payout", "To be paid out at the desk or by transfer"
    SUCCEEDED = "succeeded", "Refunded"
    FAILED = "failed", "Failed at the provider"
    CANCELED = "canceled", "Canceled before it was paid out"


class Refund(models.Model):
    """Money given back on a payment, by the payment's own rail."""

    public_id = models.CharField(max_length=32, unique=True)
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.BigIntegerField()
    currency = CurrencyField()
    reason = models.CharField(max_length=40, choices=RefundReason.choices)
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=RefundStatus.choices)
    provider_reference = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=255)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    paid_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The desk session that paid it out (or, for a card, in which it was requested).
    cashier_session = models.ForeignKey(
        "payments.CashierSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
    )
    payout_method = models.CharField(max_length=14, blank=True, help_text="cash, bank_transfer")
    canceled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return self.public_id
