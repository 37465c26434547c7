"""Settlement and reconciliation: bank statements and their lines, Stripe payouts, the
safe's cash deposits, and the items finance works.

* A ``StatementLine`` is one movement on one of the hospital's bank accounts, stored once
  whatever reported it (a statement file, Casso, SePay): ``dedupe_key`` is unique (see
  ``payments.services.statements.line_dedupe_key`` for the rule).
* A ``ReconItem`` is one thing finance may have to look at: money the ledger expects to
  reach the bank (a VietQR capture, a Stripe payout, a cash deposit), money expected to
  leave it (a refund paid by transfer), or a bank line nothing explains. Its status follows
  Hyperswitch's vocabulary; every change is a ``ReconItemAction`` (the audit trail).
* A ``StripePayout`` holds a payout's balance transactions as they are listed (page by
  page, so a crash resumes where it stopped) and the one entry that settles it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.money import CurrencyField


class Direction(models.TextChoices):
    IN = "in", "Credit to the account (money in)"
    OUT = "out", "Debit from the account (money out)"


class StatementSource(models.TextChoices):
    FILE = "file", "Statement file"
    CASSO = "casso", "Casso bank feed"
    SEPAY = "sepay", "SePay bank feed"


class BankStatement(models.Model):
    """One imported statement file (API upload or the watched folder)."""

    bank = models.CharField(max_length=20)
    account_number = models.CharField(max_length=40)
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    period_from = models.DateField(null=True, blank=True)
    period_to = models.DateField(null=True, blank=True)
    lines_total = models.PositiveIntegerField(default=0)
    lines_new = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=10, help_text="api or folder")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return f"{self.bank} {self.account_number} {self.file_name}"


class StatementLine(models.Model):
    account_number = models.CharField(max_length=40)
    booked_on = models.DateField()
    direction = models.CharField(max_length=3, choices=Direction.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    bank_reference = models.CharField(max_length=100, blank=True)
    # The bank's memo. It may name the payer: shown to finance, never logged.
    description = models.CharField(max_length=500, blank=True)
    # What the matcher joins on: a payment or deposit code found in the memo, or a payout's
    # descriptor ("STRIPE"); empty when the memo names nothing we issue.
    match_code = models.CharField(max_length=20, blank=True)
    dedupe_key = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=6, choices=StatementSource.choices)
    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)
    # Which feeds reported this line ({"casso": "<transaction id>"}): the first report
    # applies the transfer, a second feed's report of the same line is ignored.
    feed_reports = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booked_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="statement_line_amount_positive")
        ]
        indexes = [
            models.Index(fields=["match_code", "amount"], name="statement_line_match"),
            models.Index(fields=["booked_on"], name="statement_line_booked_on"),
        ]

    def __str__(self) -> str:
        return f"{self.account_number} {self.booked_on} {self.direction} {self.amount}"


class ReconKind(models.TextChoices):
    VIETQR_CAPTURE = "vietqr_capture", "VietQR transfer captured"
    STRIPE_PAYOUT = "stripe_payout", "Stripe payout"
    CASH_DEPOSIT = "cash_deposit", "Cash deposited from the safe"
    BANK_REFUND = "bank_refund", "Refund paid by bank transfer"
    DISCHARGE_REFUND = "discharge_refund", "Advance left over at discharge paid back by transfer"
    FEED_SUSPENSE = "feed_suspense", "Bank-feed transfer held in suspense"
    BANK_LINE = "bank_line", "Bank line nothing explains"
    PROVIDER_ADJUSTMENT = "provider_adjustment", "Stripe dispute or adjustment"
    POSSIBLE_DUPLICATE = "possible_duplicate", "Statement line that may repeat a feed's line"


class ReconChannel(models.TextChoices):
    VIETQR = "vietqr", "VietQR bank transfer"
    CARD = "card", "Card (Stripe)"
    CASH = "cash", "Cash"
    BANK = "bank", "Bank account"


class ReconStatus(models.TextChoices):
    EXPECTED = "expected", "Expected on the statement"
    MATCHED = "matched", "Matched"
    MISSING = "missing", "Missing past its deadline"
    UNEXPECTED = "unexpected", "On the statement, expected by nothing"
    AMOUNT_MISMATCH = "amount_mismatch", "Found with another amount"
    MANUALLY_MATCHED = "manually_matched", "Matched by finance"
    WRITTEN_OFF = "written_off", "Written off"


# Statuses that still need the matcher or a person.
OPEN_RECON_STATUSES = (
    ReconStatus.EXPECTED,
    ReconStatus.MISSING,
    ReconStatus.UNEXPECTED,
    ReconStatus.AMOUNT_MISMATCH,
)
SETTLED_RECON_STATUSES = (
    ReconStatus.MATCHED,
    ReconStatus.MANUALLY_MATCHED,
    ReconStatus.WRITTEN_OFF,
)


class ReconItem(models.Model):
    kind = models.CharField(max_length=20, choices=ReconKind.choices)
    channel = models.CharField(max_length=8, choices=ReconChannel.choices)
    status = models.CharField(max_length=16, choices=ReconStatus.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.IN)
    amount = models.BigIntegerField()
    currency = CurrencyField()
    # What caused it: ("payment", "pay_…"), ("stripe_payout", "po_…"), ("cash_deposit",
    # "cd_…"), ("refund", "rf_…"), ("refund_owed_payout", "rp_…"), ("statement_line",
    # "<id>"), ("suspense", "<id>").
    source_type = models.CharField(max_length=20)
    source_id = models.CharField(max_length=64)
    match_code = models.CharField(max_length=20, blank=True)
    # When the money should show on the statement (missing once the SLA has run out).
    expected_on = models.DateField()
    # The ledger account the money waits in until the bank shows it (a clearing or
    # in-transit account); empty when nothing moves on a match (a refund already credited
    # to the bank account).
    holding_account = models.CharField(max_length=20, blank=True)
    statement_line = models.OneToOneField(
        StatementLine, on_delete=models.PROTECT, null=True, blank=True, related_name="recon_item"
    )
    # The entry that moved the money from the holding account to the bank (matcher), and
    # the one that closed it otherwise (a manual match's difference, a write-off).
    cleared_entry = models.ForeignKey(
        "billing.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    settled_entry = models.ForeignKey(
        "billing.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    # A write-off above the threshold waits for a second person of finance.
    write_off_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    write_off_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["source_type", "source_id"], name="recon_item_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="recon_item_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=ReconStatus.values), name="recon_item_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "kind"], name="recon_item_status_kind"),
            models.Index(fields=["match_code", "amount"], name="recon_item_match"),
            models.Index(fields=["expected_on"], name="recon_item_expected_on"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id} {self.status}"


class ReconItemAction(models.Model):
    """The audit trail: who did what to an item, when, and why."""

    item = models.ForeignKey(ReconItem, on_delete=models.PROTECT, related_name="actions")
    action = models.CharField(max_length=30)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.item_id} {self.action}"


class MatchRun(models.Model):
    """One run of the matcher and what it did (one transaction: all of it or nothing)."""

    started_at = models.DateTimeField(auto_now_add=True)
    enrolled = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    mismatched = models.PositiveIntegerField(default=0)
    unexpected = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"match run {self.pk}"


class CashDepositStatus(models.TextChoices):
    IN_TRANSIT = "in_transit", "Carried to the bank, not yet on the statement"
    ON_STATEMENT = "on_statement", "On the bank statement"


class CashDeposit(models.Model):
    """The safe custodian takes cash from the main safe to the bank. The code is written on
    the deposit slip, so the bank's memo carries it back."""

    public_id = models.CharField(max_length=32, unique=True)
    code = models.CharField(max_length=16, unique=True)
    amount = models.BigIntegerField()
    currency = CurrencyField()
    deposited_on = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="cash_deposit_amount_positive")
        ]

    def __str__(self) -> str:
        return self.public_id


class PayoutStatus(models.TextChoices):
    LISTING = "listing", "Listing its balance transactions"
    SETTLED = "settled", "Posted"
    FAILED = "failed", "Failed at Stripe"


class StripePayout(models.Model):
    payout_id = models.CharField(max_length=64, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    arrival_date = models.DateField()
    descriptor = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.LISTING
    )
    # Where the settlement put the net payout until the bank statement shows it.
    holding_account = models.CharField(max_length=20, blank=True)
    # The last balance transaction stored: listing resumes after it.
    listed_through = models.CharField(max_length=64, blank=True)
    entry = models.ForeignKey(
        "billing.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-arrival_date", "-id"]

    def __str__(self) -> str:
        return self.payout_id


class StripeBalanceLine(models.Model):
    """One balance transaction of a payout, with what it is ours for."""

    payout = models.ForeignKey(StripePayout, on_delete=models.PROTECT, related_name="lines")
    balance_transaction = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=40)
    amount = models.BigIntegerField()
    fee = models.BigIntegerField()
    net = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    source = models.CharField(max_length=64, blank=True)
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund = models.ForeignKey(
        "payments.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.balance_transaction
