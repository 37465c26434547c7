"""Dated BHYT rules, edited by an administrator (rules change by decree: never constants in
code)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from billing.models.encounters import EncounterKind
from billing.models.patients import Route


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


class RouteRatio(models.Model):
    """The share of the benefit the fund pays on a route, from a date.

    ``encounter_kind`` empty means every kind; a row for the exact kind wins."""

    effective_from = models.DateField()
    route = models.CharField(max_length=10, choices=Route.choices)
    encounter_kind = models.CharField(max_length=12, choices=EncounterKind.choices, blank=True)
    ratio_percent = models.DecimalField(max_digits=5, decimal_places=2)
    source = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-effective_from", "route", "encounter_kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["effective_from", "route", "encounter_kind"], name="route_ratio_unique"
            ),
            models.CheckConstraint(
                condition=Q(ratio_percent__gte=0) & Q(ratio_percent__lte=100),
                name="route_ratio_percent_range",
            ),
        ]

    def __str__(self) -> str:
        kind = self.encounter_kind or "*"
        return f"{self.route}/{kind} {self.ratio_percent}% from {self.effective_from}"
