"""The cashier's desk: terminals with their cash drawer, cashier sessions (shifts), cash moved
between drawers and the main safe, and discharge leftovers paid back at the desk.

Each terminal's drawer has its own cash account in the ledger (the chart pack's numbered drawer
account, ``account_for(AccountRole.DRAWER, drawer=n)``); every line a session posts on it carries
the session's reference (``cashier_session:<id>``), so a session's cash can be read from the ledger
alone.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from billing.money import CurrencyField
from billing.public_ids import mint_public_id

# VND notes a drawer holds (domain: cash counted by denomination at open and close).
DENOMINATIONS = (500_000, 200_000, 100_000, 50_000, 20_000, 10_000, 5_000, 2_000, 1_000)
TERMINAL_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]{0,14}$"


def new_session_id() -> str:
    return mint_public_id(prefix="cs_")


def new_transfer_id() -> str:
    return mint_public_id(prefix="ct_")


def new_refund_owed_payout_id() -> str:
    return mint_public_id(prefix="rp_")


def staff_reference() -> models.ForeignKey:
    """An optional reference to the staff member who did something to a session."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )


class Terminal(models.Model):
    """A cashier desk with its cash drawer (and, optionally, a Stripe Terminal reader)."""

    code = models.CharField(
        max_length=15,
        unique=True,
        validators=[RegexValidator(TERMINAL_CODE_PATTERN, "Upper-case letters, digits, '-'.")],
    )
    name = models.CharField(max_length=100)
    # The desk's card reader (Stripe Terminal reader id), like Device.card_reader_id for kiosks.
    card_reader_id = models.CharField(max_length=64, blank=True)
    cash_account = models.OneToOneField(
        "billing.Account", on_delete=models.PROTECT, related_name="terminal"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CashierSessionStatus(models.TextChoices):
    OPEN = "open", "Open"
    HANDOVER_PENDING = "handover_pending", "Handed over, waiting for the receiver's count"
    PENDING_APPROVAL = "pending_approval", "Counted, variance waiting for a supervisor"
    CLOSED = "closed", "Closed"


# A session in these statuses holds its terminal and its cashier.
ACTIVE_SESSION_STATUSES = (CashierSessionStatus.OPEN, CashierSessionStatus.HANDOVER_PENDING)
COUNTED_SESSION_STATUSES = (CashierSessionStatus.PENDING_APPROVAL, CashierSessionStatus.CLOSED)


class CashierSession(models.Model):
    """One cashier's shift on one terminal, from the opening float to the blind count."""

    public_id = models.CharField(max_length=32, unique=True, default=new_session_id)
    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="sessions")
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cashier_sessions"
    )
    status = models.CharField(
        max_length=20, choices=CashierSessionStatus.choices, default=CashierSessionStatus.OPEN
    )
    currency = CurrencyField()
    opening_float = models.BigIntegerField()
    opening_count = models.JSONField(default=dict)
    opened_at = models.DateTimeField(auto_now_add=True)
    # The session whose drawer this one took over (its verified count is this float).
    handed_over_from = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="handed_over_to"
    )
    # Handover: who receives the drawer, and what the giving cashier counted.
    handover_receiver = staff_reference()
    handover_count = models.JSONField(null=True, blank=True)
    handover_counted_cash = models.BigIntegerField(null=True, blank=True)
    # The count that closes the session (the receiver's verified count after a handover).
    closing_count = models.JSONField(null=True, blank=True)
    counted_cash = models.BigIntegerField(null=True, blank=True)
    expected_cash = models.BigIntegerField(null=True, blank=True)
    variance = models.BigIntegerField(null=True, blank=True)
    counted_by = staff_reference()
    counted_at = models.DateTimeField(null=True, blank=True)
    approved_by = staff_reference()
    approved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["terminal"],
                condition=Q(status__in=["open", "handover_pending"]),
                name="cashier_session_one_active_per_terminal",
            ),
            models.UniqueConstraint(
                fields=["cashier"],
                condition=Q(status__in=["open", "handover_pending"]),
                name="cashier_session_one_active_per_cashier",
            ),
            models.CheckConstraint(
                condition=Q(opening_float__gte=0), name="cashier_session_float_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(counted_cash__isnull=True) | Q(counted_cash__gte=0),
                name="cashier_session_count_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CashierSessionStatus.values),
                name="cashier_session_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def ledger_reference(self) -> str:
        """The sub-ledger key of this session's lines on the drawer's cash account."""
        return f"cashier_session:{self.pk}"


class CashTransferStatus(models.TextChoices):
    PENDING = "pending", "In transit, waiting for the receiver's count"
    CONFIRMED = "confirmed", "Counted in by the receiver"
    CANCELED = "canceled", "Canceled: the cash went back to the giver"


class CashTransfer(models.Model):
    """Cash moved from one drawer to another, or between a drawer and the main safe (an
    empty side is the safe). Two-sided: the cash is in transit (its own ledger account)
    until the receiver (a supervisor for the safe) confirms the amount counted."""

    public_id = models.CharField(max_length=32, unique=True, default=new_transfer_id)
    from_session = models.ForeignKey(
        CashierSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfers_out",
    )
    to_session = models.ForeignKey(
        CashierSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfers_in",
    )
    amount = models.BigIntegerField()
    currency = CurrencyField()
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=10, choices=CashTransferStatus.choices, default=CashTransferStatus.PENDING
    )
    # What the receiver counted in (a difference from ``amount`` goes back to the giver).
    counted_amount = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = staff_reference()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="cash_transfer_positive"),
            models.CheckConstraint(
                condition=Q(from_session__isnull=False) | Q(to_session__isnull=False),
                name="cash_transfer_touches_a_drawer",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CashTransferStatus.values),
                name="cash_transfer_status_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="confirmed", counted_amount__gte=0)
                    | (~Q(status="confirmed") & Q(counted_amount__isnull=True))
                ),
                name="cash_transfer_counted_when_confirmed",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class PayoutMethod(models.TextChoices):
    CASH = "cash", "Cash from the session's drawer"
    BANK_TRANSFER = "bank_transfer", "Bank transfer from the hospital's account"


class RefundOwedPayout(models.Model):
    """Paying back an advance left over at discharge (refunds owed, hoàn ứng)."""

    public_id = models.CharField(max_length=32, unique=True, default=new_refund_owed_payout_id)
    encounter = models.ForeignKey(
        "billing.Encounter", on_delete=models.PROTECT, related_name="refund_owed_payouts"
    )
    amount = models.BigIntegerField()
    currency = CurrencyField()
    method = models.CharField(max_length=14, choices=PayoutMethod.choices)
    cashier_session = models.ForeignKey(
        CashierSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refund_owed_payouts",
    )
    bank_reference = models.CharField(max_length=100, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_owed_payout_positive"),
            models.CheckConstraint(
                condition=Q(method="bank_transfer") | Q(cashier_session__isnull=False),
                name="refund_owed_cash_payout_has_session",
            ),
            models.UniqueConstraint(
                fields=["paid_by", "idempotency_key"], name="refund_owed_payout_once_per_key"
            ),
        ]

    def __str__(self) -> str:
        return self.public_id
