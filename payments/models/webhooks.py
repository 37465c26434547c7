"""Provider events as received (stored before they are applied) and the bank transfers
that could not be matched to a payment (kept for finance, never dropped)."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from billing.money import CurrencyField


class WebhookProvider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    CASSO = "casso", "Casso (bank feed)"
    SEPAY = "sepay", "SePay (bank feed)"


class WebhookEvent(models.Model):
    """Unique per provider event id: a redelivered event is acknowledged and ignored."""

    provider = models.CharField(max_length=10, choices=WebhookProvider.choices)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=80)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    received_at = models.DateTimeField(auto_now_add=True)
    # When the provider says the event happened (orders events for one payment).
    occurred_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=80, blank=True, help_text="what applying it did")

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="webhook_unapplied",
                condition=models.Q(applied_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


class BankTransferSeen(models.Model):
    """The bank's own reference of every incoming transfer applied, per receiving account:
    when two feeds (Casso and SePay) watch one account, the second report of a transfer is
    recognised and not booked again."""

    account_number = models.CharField(max_length=40)
    bank_reference = models.CharField(max_length=100)
    provider = models.CharField(max_length=10, choices=WebhookProvider.choices)
    transaction_id = models.CharField(max_length=100)
    seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account_number", "bank_reference"], name="bank_transfer_seen_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_number}/{self.bank_reference}"


class ReconciliationReason(models.TextChoices):
    UNDERPAID = "underpaid", "Less than the payment's amount"
    OVERPAID = "overpaid", "More than the payment's amount"
    EXPIRED = "expired", "Arrived after the QR expired"
    NO_CODE = "no_code", "No payment code in the memo"
    UNKNOWN_CODE = "unknown_code", "A code that matches no payment"
    NOT_PENDING = "not_pending", "The payment was already completed or canceled"
    WRONG_ACCOUNT = "wrong_account", "Credited to another account than the QR's"
    AMOUNT_OUT_OF_RANGE = "amount_out_of_range", "An amount beyond any the books hold"


class ReconciliationStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class ReconciliationItem(models.Model):
    """Money that arrived but could not be applied automatically. It is booked to the
    suspense account (role ``SUSPENSE``) so the ledger matches the bank, until finance
    resolves it."""

    provider = models.CharField(max_length=10, choices=WebhookProvider.choices)
    transaction_id = models.CharField(max_length=100)
    amount = models.BigIntegerField()
    currency = CurrencyField()
    account_number = models.CharField(max_length=40)
    # The bank memo as received. It may name the payer: shown to finance, never logged.
    description = models.CharField(max_length=500)
    occurred_at = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=ReconciliationReason.choices)
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=ReconciliationStatus.choices, default=ReconciliationStatus.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "transaction_id"], name="reconciliation_transfer_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.transaction_id} {self.reason}"
