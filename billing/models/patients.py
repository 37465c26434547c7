"""Patients and their health-insurance (BHYT) cover.

Personal identifiers are never stored in clear: the citizen ID and the insurance identifier
are kept as an HMAC (keyed with ``settings.PII_HASH_KEY``, for exact lookup) plus a masked
form for display. See ``billing.identifiers``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class InsuranceIdKind(models.TextChoices):
    CITIZEN_ID = "citizen_id", "Citizen ID (12 digits)"
    SOCIAL_INSURANCE = "social_insurance", "Social-insurance number (10 digits, legacy)"
    LEGACY_CARD = "legacy_card", "Legacy BHYT card code (15 characters)"


class PreferredChannel(models.TextChoices):
    """How the patient wants the hospital's messages (recorded in the HIS). notifications
    reads it: the preferred channel goes first when it can carry the message."""

    ZALO = "zalo", "Zalo"
    SMS = "sms", "SMS"
    EMAIL = "email", "E-mail"


class Patient(models.Model):
    code = models.CharField(max_length=32, unique=True, help_text="Hospital patient code")
    full_name = models.CharField(max_length=200)
    date_of_birth = models.DateField(null=True, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    preferred_channel = models.CharField(
        max_length=5, choices=PreferredChannel.choices, blank=True, help_text="empty: no preference"
    )
    citizen_id_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    citizen_id_masked = models.CharField(max_length=12, blank=True)
    insurance_id_kind = models.CharField(max_length=20, choices=InsuranceIdKind.choices, blank=True)
    # Keyed hash of the canonical insurance key (citizen ID, or the 10-digit social
    # insurance number that a legacy card carries in its last ten characters).
    insurance_id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    insurance_id_masked = models.CharField(max_length=15, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            # One insurance identity per patient record (a kiosk lookup must be unambiguous).
            models.UniqueConstraint(
                fields=["insurance_id_hash"],
                condition=~Q(insurance_id_hash=""),
                name="patient_insurance_id_unique",
            )
        ]

    def __str__(self) -> str:
        # Never the name: __str__ ends up in logs and admin history.
        return f"patient {self.code}"


class Route(models.TextChoices):
    CORRECT = "correct", "Correct route (đúng tuyến)"
    WRONG = "wrong", "Wrong route / self-referral (trái tuyến)"
    EMERGENCY = "emergency", "Emergency (cấp cứu)"


class InsuranceCoverage(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="coverages")
    benefit_level = models.PositiveSmallIntegerField(help_text="Percent: 100, 95 or 80")
    valid_from = models.DateField()
    valid_to = models.DateField()
    route = models.CharField(max_length=10, choices=Route.choices, default=Route.CORRECT)
    # "Thời điểm đủ 5 năm liên tục", printed on the card: from this day the year's co-pay is
    # capped (Decree 146/2018/ND-CP Art. 14).
    five_years_from = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(benefit_level__in=[80, 95, 100]), name="coverage_benefit_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__gte=models.F("valid_from")), name="coverage_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.benefit_level}% {self.valid_from}..{self.valid_to}"


class LookupAudit(models.Model):
    """One row per kiosk lookup: which device, by which kind of identifier, the outcome.

    The identifier itself is never stored, not even hashed: the patient (when found) is
    the link."""

    device = models.ForeignKey("identity.Device", on_delete=models.PROTECT)
    identifier_kind = models.CharField(max_length=20)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True)
    found = models.BooleanField()
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"lookup by {self.identifier_kind} at {self.at:%Y-%m-%d %H:%M}"
