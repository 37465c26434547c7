"""A payment: one model for kiosk, phone and desk, whatever the rail.

Every status change goes through ``payments.services.transitions`` (the only writer of
``status``); success posts to the ledger exactly once (posting key ``payment:<id>:captured``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from billing.money import CurrencyField
from billing.public_ids import mint_public_id


def new_public_id() -> str:
    return mint_public_id(prefix="pay_")


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card (phone / web)"
    CARD_PRESENT = "card_present", "Card on a reader (kiosk, desk)"
    VIETQR = "vietqr", "VietQR bank transfer"
    CASH = "cash", "Cash"


class PaymentChannel(models.TextChoices):
    KIOSK = "kiosk", "Kiosk"
    PHONE = "phone", "Phone pay link"
    DESK = "desk", "Cashier desk"


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    BANK_TRANSFER = "bank_transfer", "Bank transfer (VietQR / NAPAS 247)"
    CASH = "cash", "Cash drawer"


class PaymentPurpose(models.TextChoices):
    INVOICE = "invoice", "Pays an invoice"
    DEPOSIT = "deposit", "Advance deposit for an encounter"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


# Statuses that hold (or may still receive) money against what is due.
ACTIVE_STATUSES = (PaymentStatus.PENDING, PaymentStatus.PROCESSING)
CAPTURED_STATUSES = (
    PaymentStatus.SUCCEEDED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
)


class Payment(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    purpose = models.CharField(max_length=10, choices=PaymentPurpose.choices)
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    encounter = models.ForeignKey(
        "billing.Encounter",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deposit_payments",
    )
    amount = models.BigIntegerField()
    currency = CurrencyField()
    amount_refunded = models.BigIntegerField(default=0)
    method = models.CharField(max_length=14, choices=PaymentMethod.choices)
    channel = models.CharField(max_length=8, choices=PaymentChannel.choices)
    provider = models.CharField(max_length=14, choices=Provider.choices)
    provider_reference = models.CharField(max_length=100, blank=True, db_index=True)
    # VietQR: the short code the patient's bank copies into the transfer memo.
    memo_code = models.CharField(max_length=16, null=True, blank=True, unique=True)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    # The client's Idempotency-Key, passed on to the provider so a retry never charges twice.
    idempotency_key = models.CharField(max_length=255)
    client_secret = models.CharField(max_length=200, blank=True)
    card_reader_id = models.CharField(max_length=64, blank=True)
    # Desk payments belong to the cashier session that took them.
    cashier_session = models.ForeignKey(
        "payments.CashierSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
    )
    # Cash: what the patient handed over and the change the server computed.
    tendered = models.BigIntegerField(null=True, blank=True)
    change_given = models.BigIntegerField(null=True, blank=True)
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    created_by_device = models.ForeignKey(
        "identity.Device", on_delete=models.PROTECT, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    # Highest provider event time applied: an older event never moves the payment back.
    provider_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=F("amount")),
                name="payment_refunds_within_amount",
            ),
            models.CheckConstraint(
                condition=(
                    Q(purpose="invoice") & Q(invoice__isnull=False) & Q(encounter__isnull=True)
                )
                | (Q(purpose="deposit") & Q(encounter__isnull=False) & Q(invoice__isnull=True)),
                name="payment_pays_one_thing",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"
            ),
            models.CheckConstraint(
                condition=(Q(tendered__isnull=True) & Q(change_given__isnull=True))
                | (Q(tendered__gte=F("amount")) & Q(change_given=F("tendered") - F("amount"))),
                name="payment_change_is_tendered_less_amount",
            ),
            models.CheckConstraint(
                condition=~Q(method="cash") | Q(cashier_session__isnull=False),
                name="payment_cash_in_a_session",
            ),
        ]
        indexes = [
            models.Index(fields=["invoice", "status"], name="payment_invoice_status"),
            # payment_started_earlier: the payment a request with this key already made.
            models.Index(fields=["idempotency_key", "-created_at"], name="payment_idempotency_key"),
            models.Index(fields=["status", "expires_at"], name="payment_status_expiry"),
            # The matcher's enrolment: VietQR captures since its previous run.
            models.Index(
                fields=["succeeded_at"],
                name="payment_vietqr_succeeded",
                condition=Q(
                    method=PaymentMethod.VIETQR, memo_code__isnull=False, succeeded_at__isnull=False
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def captured_posting_key(self) -> str:
        return f"payment:{self.pk}:captured"
