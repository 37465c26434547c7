"""Invoices, their lines (a snapshot of charges with the insurance split), gap-free
document numbers and advance deposits.

An invoice's ``total``, ``insurance_share`` and ``patient_share`` are fixed when it is
issued. What has been paid and what is still due is read from the ledger (the patient
receivable, sub-ledger ``invoice:<id>``), never kept as a second copy."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from billing.models.encounters import Charge, Encounter, ServiceLine
from billing.models.insurance import ShareRule
from billing.models.patients import Patient
from billing.money import CurrencyField
from billing.public_ids import mint_public_id


def new_invoice_id() -> str:
    """The invoice's id for the outside world (``inv_`` and 80 random bits): the integer
    key stays inside, so no caller can count invoices or guess another patient's."""
    return mint_public_id(prefix="inv_")


class DocumentSequence(models.Model):
    """Gap-free numbering: the row is locked and incremented inside the issuing
    transaction, so a rolled-back issue does not burn a number."""

    series = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="sequence_series_year")
        ]

    def __str__(self) -> str:
        return f"{self.series}/{self.year}: {self.last_number}"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


OPEN_INVOICE_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)


class Invoice(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_invoice_id)
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="invoices")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="invoices")
    series = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED
    )
    currency = CurrencyField()
    total = models.BigIntegerField()
    insurance_share = models.BigIntegerField()
    patient_share = models.BigIntegerField()
    benefit_level = models.PositiveSmallIntegerField(default=0)
    route = models.CharField(max_length=10, blank=True)
    issued_at = models.DateTimeField()
    issued_by = models.CharField(max_length=100, help_text="device or staff user")
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year", "number"], name="invoice_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(total=F("insurance_share") + F("patient_share")),
                name="invoice_shares_add_up",
            ),
            # A share may be negative: an insurance adjustment line moves an earlier invoice's
            # fund share of the visit to the patient, or back (billing.insurance.visit_split).
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_non_negative"),
        ]
        indexes = [models.Index(fields=["patient", "status"], name="invoice_patient_status")]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"{self.series}{self.year % 100:02d}-{self.number:07d}"

    @property
    def ledger_reference(self) -> str:
        return f"invoice:{self.pk}"

    @property
    def issue_posting_key(self) -> str:
        return f"invoice:{self.pk}:issue"


class InvoiceLine(ServiceLine):
    """A charge billed, with its shares and the rule that decided them; or, with no charge,
    the visit's insurance adjustment ("điều chỉnh mức hưởng BHYT"): amount 0, the fund's share
    and the patient's moved between them so that the visit's invoices add up to the visit
    split as one bill."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    charge = models.ForeignKey(
        Charge, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_lines"
    )
    amount = models.BigIntegerField()
    insurance_share = models.BigIntegerField()
    patient_share = models.BigIntegerField()
    vat_amount = models.BigIntegerField(default=0)
    # Empty on lines issued before the rules were recorded (migration 0009).
    rule = models.CharField(max_length=20, choices=ShareRule.choices, blank=True)
    copay = models.BigIntegerField(
        default=0,
        help_text="Co-payment on correct-route in-scope care that counts toward the five-year "
        "cap (a change of it on an adjustment line)",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount=F("insurance_share") + F("patient_share")),
                name="invoice_line_shares_add_up",
            ),
            models.CheckConstraint(
                condition=(
                    Q(charge__isnull=False)
                    & ~Q(category="adjustment")
                    & Q(insurance_share__gte=0)
                    & Q(patient_share__gte=0)
                )
                | (Q(charge__isnull=True) & Q(category="adjustment") & Q(amount=0)),
                name="invoice_line_charge_or_adjustment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_code} x{self.quantity}"

    @property
    def is_adjustment(self) -> bool:
        return self.charge_id is None

    @property
    def kind(self) -> str:
        return "adjustment" if self.is_adjustment else "charge"

    @property
    def rule_or_none(self) -> str | None:
        return self.rule or None


class Deposit(models.Model):
    """An advance (tạm ứng) received for an encounter. The money itself arrives through a
    payment; the ledger holds it as a liability to the patient (sub-ledger
    ``encounter:<id>``) until it is applied to the final invoice or refunded."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="deposits")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="deposits")
    amount = models.BigIntegerField()
    currency = CurrencyField()
    received_at = models.DateTimeField()
    received_by = models.CharField(max_length=100)
    source_type = models.CharField(max_length=40, help_text="what brought the money")
    source_id = models.CharField(max_length=64)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="deposit_amount_positive"),
            models.UniqueConstraint(fields=["source_type", "source_id"], name="deposit_source"),
        ]

    def __str__(self) -> str:
        return f"deposit {self.pk} of {self.amount}"
