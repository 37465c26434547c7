"""Encounters (visits and stays), the price list and the charges the HIS posts."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from billing.models.patients import Patient, Route
from billing.money import CurrencyField


class EncounterKind(models.TextChoices):
    OUTPATIENT = "outpatient", "Outpatient"
    INPATIENT = "inpatient", "Inpatient"
    EMERGENCY = "emergency", "Emergency"


class EncounterStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed (discharged)"


class Encounter(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    his_reference = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=12, choices=EncounterKind.choices)
    department = models.CharField(max_length=100)
    route = models.CharField(max_length=10, choices=Route.choices, default=Route.CORRECT)
    status = models.CharField(
        max_length=8, choices=EncounterStatus.choices, default=EncounterStatus.OPEN
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"encounter {self.his_reference}"

    @property
    def ledger_reference(self) -> str:
        return f"encounter:{self.pk}"


class ServiceCategory(models.TextChoices):
    EXAMINATION = "examination", "Examination"
    LAB = "lab", "Laboratory test"
    IMAGING = "imaging", "Imaging"
    DRUG = "drug", "Drug"
    BED_DAY = "bed_day", "Bed-day"
    PROCEDURE = "procedure", "Procedure"
    # Only on an invoice's insurance adjustment line, never in the price list.
    ADJUSTMENT = "adjustment", "Insurance benefit adjustment"


class VatRate(models.TextChoices):
    # Medical services are not subject to VAT (VAT Law 48/2024/QH15 Art. 5).
    KCT = "KCT", "KCT (not subject to VAT)"
    ZERO = "0", "0 %"
    FIVE = "5", "5 %"
    EIGHT = "8", "8 %"
    TEN = "10", "10 %"


class PriceListItem(models.Model):
    """One service's price for a period. Prices include VAT where VAT applies."""

    service_code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=20)
    category = models.CharField(max_length=12, choices=ServiceCategory.choices)
    price = models.BigIntegerField()
    insurance_price = models.BigIntegerField(
        null=True, blank=True, help_text="Price the fund covers; empty = out of BHYT scope"
    )
    on_demand = models.BooleanField(default=False, help_text="Dịch vụ theo yêu cầu: patient pays")
    vat_rate = models.CharField(max_length=3, choices=VatRate.choices, default=VatRate.KCT)
    currency = CurrencyField()
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Exclusive; empty = open")

    class Meta:
        ordering = ["service_code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_code", "effective_from"], name="price_one_per_start_date"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="price_non_negative"),
            models.CheckConstraint(
                condition=~Q(category="adjustment"), name="price_not_an_adjustment"
            ),
            models.CheckConstraint(
                condition=Q(insurance_price__isnull=True) | Q(insurance_price__gte=0),
                name="price_insurance_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gt=models.F("effective_from")),
                name="price_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_code} from {self.effective_from}"


class ServiceLine(models.Model):
    """What a charge and an invoice line both record of the service, as it was priced: a
    snapshot, so a later price-list change never rewrites a bill."""

    service_code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=20)
    category = models.CharField(max_length=12, choices=ServiceCategory.choices)
    quantity = models.IntegerField()
    unit_price = models.BigIntegerField()
    vat_rate = models.CharField(max_length=3, choices=VatRate.choices)

    class Meta:
        abstract = True

    def service_snapshot(self) -> dict[str, Any]:
        """The snapshot fields' values, to copy into another line."""
        return {f.name: getattr(self, f.name) for f in ServiceLine._meta.get_fields()}


class ChargeStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    VOIDED = "voided", "Voided"
    REVERSAL = "reversal", "Reversal of a voided charge"


class Charge(ServiceLine):
    """A service delivered, priced from the price list in force at ``service_at``.

    Never edited or deleted: voiding marks it voided and adds a reversal row (negative
    quantity) that records who voided it and when."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="charges")
    price_item = models.ForeignKey(PriceListItem, on_delete=models.PROTECT)
    his_reference = models.CharField(max_length=64, null=True, blank=True, unique=True)
    insurance_unit_price = models.BigIntegerField(null=True, blank=True)
    on_demand = models.BooleanField(default=False)
    currency = CurrencyField()
    service_at = models.DateTimeField()
    status = models.CharField(
        max_length=8, choices=ChargeStatus.choices, default=ChargeStatus.ACTIVE
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    void_reason = models.CharField(max_length=200, blank=True)
    # The invoice that currently bills this charge; cleared when that invoice is voided.
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="reversal") & Q(quantity__lt=0))
                | (~Q(status="reversal") & Q(quantity__gt=0)),
                name="charge_quantity_sign",
            ),
        ]

    def __str__(self) -> str:
        return f"charge {self.pk} {self.service_code} x{self.quantity}"

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity
