"""Dated BHYT rules, edited by an administrator (rules change by decree: never constants in
code)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from billing.models.patients import Route


class HospitalLevel(models.TextChoices):
    """The hospital's level (tuyến) for the wrong-route ratios. Law 51/2024/QH15 keeps keying
    the ratios on the level a facility had before 2025-01-01, so the three old levels stay."""

    CENTRAL = "central", "Central (tuyến trung ương)"
    PROVINCIAL = "provincial", "Provincial (tuyến tỉnh)"
    DISTRICT = "district", "District (tuyến huyện)"


class CareType(models.TextChoices):
    INPATIENT = "inpatient", "Inpatient (nội trú)"
    OUTPATIENT = "outpatient", "Outpatient (ngoại trú)"


class ShareRule(models.TextChoices):
    """Which rule decided a line's shares (``billing.insurance``; shown per invoice line)."""

    IN_SCOPE = "in_scope", "In scope: the card's benefit level"
    BELOW_THRESHOLD = "below_threshold", "Visit below 15 % of the base salary: 100 %"
    CAP_REACHED = "cap_reached", "Five-year co-pay cap reached: the fund pays the co-pay"
    ON_DEMAND = "on_demand", "On-demand service: the fund pays on the insured price"
    OUT_OF_SCOPE = "out_of_scope", "Outside BHYT: the patient's alone"
    ABOVE_INSURED_PRICE = "above_insured_price", "Charged above the insured price"
    WRONG_ROUTE = "wrong_route", "Self-referral: the wrong-route ratio"


class InsuranceParameters(models.Model):
    """The base salary and the low-cost-visit threshold in force from a date."""

    effective_from = models.DateField(unique=True)
    base_salary = models.BigIntegerField(help_text="Mức lương cơ sở, VND per month")
    visit_threshold_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("15"),
        help_text="A visit whose in-scope total is below this share of the base salary is "
        "covered 100 %",
    )
    copay_cap_months = models.PositiveSmallIntegerField(
        default=6,
        help_text="After 5 consecutive years of cover, a year's co-pay on in-scope care is "
        "capped at this many months of the base salary",
    )
    source = models.CharField(max_length=200, blank=True, help_text="Decree or circular")

    class Meta:
        ordering = ["-effective_from"]
        verbose_name_plural = "insurance parameters"
        constraints = [
            models.CheckConstraint(condition=Q(base_salary__gt=0), name="ins_base_salary_positive")
        ]

    def __str__(self) -> str:
        return f"base salary {self.base_salary} from {self.effective_from}"

    @property
    def visit_threshold(self) -> int:
        return int(self.base_salary * self.visit_threshold_percent / 100)

    @property
    def copay_cap(self) -> int:
        return self.base_salary * self.copay_cap_months


class HospitalLevelSetting(models.Model):
    """The hospital's level from a date (the newest row on or before a visit's day applies)."""

    effective_from = models.DateField(unique=True)
    level = models.CharField(max_length=10, choices=HospitalLevel.choices)
    source = models.CharField(
        max_length=200, blank=True, help_text="The decision that classified the hospital"
    )

    class Meta:
        ordering = ["-effective_from"]
        verbose_name = "hospital level"

    def __str__(self) -> str:
        return f"{self.level} from {self.effective_from}"


class RouteRatio(models.Model):
    """The share of the benefit the fund pays on a route, from a date.

    An empty ``hospital_level`` or ``care_type`` means every level or care type; among the
    rows of the newest date, one for the exact level and care type wins."""

    effective_from = models.DateField()
    route = models.CharField(max_length=10, choices=Route.choices)
    hospital_level = models.CharField(max_length=10, choices=HospitalLevel.choices, blank=True)
    care_type = models.CharField(max_length=12, choices=CareType.choices, blank=True)
    ratio_percent = models.DecimalField(max_digits=5, decimal_places=2)
    source = models.CharField(max_length=200, blank=True)
    confirmed = models.BooleanField(
        default=True, help_text="Checked against the text of the law or decree"
    )
    note = models.TextField(blank=True, help_text="What was checked, or what is still to check")

    class Meta:
        ordering = ["-effective_from", "route", "hospital_level", "care_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["effective_from", "route", "hospital_level", "care_type"],
                name="route_ratio_unique",
            ),
            models.CheckConstraint(
                condition=Q(ratio_percent__gte=0) & Q(ratio_percent__lte=100),
                name="route_ratio_percent_range",
            ),
        ]

    def __str__(self) -> str:
        level = self.hospital_level or "*"
        care = self.care_type or "*"
        return f"{self.route}/{level}/{care} {self.ratio_percent}% from {self.effective_from}"
