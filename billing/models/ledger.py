"""The double-entry ledger.

Amounts are non-negative integers of minor units in separate ``debit`` and ``credit``
columns, exactly one of them positive (CHECK constraints). On PostgreSQL, triggers
(installed by migration 0002) make the rest impossible to bypass: every entry balances per
currency at commit, lines can only be added to an entry in the transaction that created it,
and posted entries and lines can be neither updated nor deleted. A correction is a
reversing entry (``billing.services.ledger.ledger_reverse``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from billing.money import CurrencyField


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    REVENUE = "revenue", "Revenue"
    EXPENSE = "expense", "Expense"

    @property
    def debit_normal(self) -> bool:
        """Assets and expenses grow with debits; the others with credits."""
        return self in (AccountType.ASSET, AccountType.EXPENSE)


class Account(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    currency = CurrencyField()
    is_active = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="ledger_account_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(type__in=AccountType.values), name="ledger_account_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class VoucherType(models.TextChoices):
    """The accounting voucher (chứng từ kế toán) an entry is recorded from, as the
    accountant's software files it."""

    CASH_RECEIPT = "PT", "Phiếu thu"
    CASH_PAYMENT = "PC", "Phiếu chi"
    BANK_CREDIT = "BC", "Giấy báo Có"
    BANK_DEBIT = "BN", "Giấy báo Nợ"
    INVOICE = "HD", "Hoá đơn"
    OTHER = "NVK", "Chứng từ nghiệp vụ khác"


# ``recorded_by`` of what no person recorded (a provider's payout, the matcher, a move the
# books make by themselves).
SYSTEM_RECORDER = "system"


class JournalEntry(models.Model):
    posted_at = models.DateTimeField(default=timezone.now, db_index=True)
    memo = models.CharField(max_length=500, blank=True)
    # What caused the entry: e.g. ("invoice", "42"), ("payment", "pay_..."), ("manual", "").
    source_type = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64, blank=True)
    # One business event, one entry: e.g. "invoice:42:issue". Unique across the ledger.
    posting_key = models.CharField(max_length=200, unique=True)
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
    )
    # The voucher the entry is recorded from: its type, its number (receipt, invoice, payment
    # id) and who recorded it (the cashier's username, the device, "system").
    voucher_type = models.CharField(
        max_length=4, choices=VoucherType.choices, blank=True, default="", db_default=""
    )
    voucher_number = models.CharField(max_length=40, blank=True, default="", db_default="")
    recorded_by = models.CharField(max_length=150, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-posted_at", "-id"]
        verbose_name_plural = "journal entries"
        indexes = [models.Index(fields=["source_type", "source_id"], name="ledger_entry_source")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.posting_key}"


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    debit = models.BigIntegerField(default=0)
    credit = models.BigIntegerField(default=0)
    # A sub-ledger key within the account: "invoice:42" on the receivables, "encounter:7" on
    # the deposit liability. Lets an invoice's balance be read from the ledger itself.
    reference = models.CharField(max_length=40, blank=True)
    # Who the line is with, as the accountant's customer code: the patient's code, or the
    # social-insurance office's for the fund's receivable. Blank for the hospital's own cash.
    counterparty = models.CharField(max_length=40, blank=True, default="", db_default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(debit__gte=0) & Q(credit__gte=0), name="ledger_line_non_negative"
            ),
            models.CheckConstraint(
                condition=(Q(debit__gt=0) & Q(credit=0)) | (Q(debit=0) & Q(credit__gt=0)),
                name="ledger_line_one_side",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "entry"], name="ledger_line_account_entry"),
            models.Index(fields=["reference", "account"], name="ledger_line_reference"),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{self.account_id} {side}"


# Rows per account and day: each connection adds into its own (``pg_backend_pid() % 8``),
# so postings to a hot account on several connections do not queue on one row's lock.
BALANCE_SLOTS = 8


class AccountBalance(models.Model):
    """The totals of an account's journal lines per UTC day of their entries, kept by a
    PostgreSQL trigger on ``billing_journalline`` in the transaction that inserts the lines
    (``0018_account_balances``): one ``INSERT … ON CONFLICT DO UPDATE SET debit_total =
    debit_total + …`` per statement, whoever inserts them. ``BALANCE_SLOTS`` rows per account
    and day; readers add them up. The trial balance reads these instead of every line."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    slot = models.PositiveSmallIntegerField()
    debit_total = models.BigIntegerField(default=0)
    credit_total = models.BigIntegerField(default=0)
    line_count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day", "slot"], name="ledger_balance_account_day_slot"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day} #{self.slot}"


class PeriodStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Close requested, waiting for a second person"
    CLOSED = "closed", "Closed"
    REOPENED = "reopened", "Reopened"


class LedgerPeriod(models.Model):
    """A month of the books, in the hospital's time zone: ``[starts_at, ends_at)``. Once
    closed, PostgreSQL refuses any journal entry dated inside it (trigger installed by
    migration 0014); reopening is an admin's action with a reason."""

    month = models.DateField(unique=True)  # the first day of the month
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=PeriodStatus.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")), name="ledger_period_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PeriodStatus.values), name="ledger_period_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.status}"


class LedgerPeriodEvent(models.Model):
    """The period's history: who asked to close it, who approved, who reopened and why."""

    period = models.ForeignKey(LedgerPeriod, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=20)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.period} {self.action}"
