"""Patients and their insurance cover, as the HIS sends them."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction

from billing.errors import CitizenIdTaken, InsuranceNumberTaken, InvalidCoverage, PatientCodeExists
from billing.identifiers import citizen_id_normalize, insurance_id_parse, mask, pii_hash
from billing.models import InsuranceCoverage, Patient, Route


def _apply_identifiers(patient: Patient, data: dict[str, Any]) -> None:
    if "citizen_id" in data:
        if data["citizen_id"]:
            digits = citizen_id_normalize(data["citizen_id"])
            patient.citizen_id_hash = pii_hash("citizen_id", digits)
            patient.citizen_id_masked = mask(digits)
        else:
            patient.citizen_id_hash, patient.citizen_id_masked = None, ""
    if "insurance_number" in data:
        if data["insurance_number"]:
            insurance = insurance_id_parse(data["insurance_number"])
            patient.insurance_id_kind = insurance.kind
            patient.insurance_id_hash = pii_hash("insurance", insurance.lookup_key)
            patient.insurance_id_masked = insurance.masked
        else:
            patient.insurance_id_kind = patient.insurance_id_hash = patient.insurance_id_masked = ""


def _check_card_against_cover(fields: dict[str, Any], coverage: dict[str, Any] | None) -> None:
    """A legacy 15-character card carries its benefit level (its 3rd character: 1, 2, 5 → 100 %, 3 →
    95 %, 4 → 80 %):
    a cover sent with it at another level is a mistake to refuse, not to store."""
    if not coverage or not fields.get("insurance_number"):
        return
    card_level = insurance_id_parse(fields["insurance_number"]).benefit_level
    if card_level is not None and coverage.get("benefit_level") != card_level:
        raise InvalidCoverage(
            f"The card's code says {card_level} %, the cover says"
            f" {coverage.get('benefit_level')} %.",
            param="coverage.benefit_level",
        )


def _save(patient: Patient) -> None:
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as exc:
        if Patient.objects.filter(code=patient.code).exclude(pk=patient.pk).exists():
            raise PatientCodeExists(param="code") from exc
        if patient.citizen_id_hash and (
            Patient.objects.filter(citizen_id_hash=patient.citizen_id_hash)
            .exclude(pk=patient.pk)
            .exists()
        ):
            raise CitizenIdTaken(param="citizen_id") from exc
        if patient.insurance_id_hash and (
            Patient.objects.filter(insurance_id_hash=patient.insurance_id_hash)
            .exclude(pk=patient.pk)
            .exists()
        ):
            raise InsuranceNumberTaken(param="insurance_number") from exc
        raise


def coverage_set(
    *,
    patient: Patient,
    benefit_level: int,
    valid_from: date,
    valid_to: date,
    route: str = Route.CORRECT,
    five_years_from: date | None = None,
) -> InsuranceCoverage:
    """Record the patient's BHYT cover for a period (replacing one with the same start).
    ``five_years_from`` is the card's "đủ 5 năm liên tục" date, when it has one."""
    if benefit_level not in (80, 95, 100):
        raise InvalidCoverage("Benefit level must be 100, 95 or 80.", param="benefit_level")
    if valid_to < valid_from:
        raise InvalidCoverage("valid_to is before valid_from.", param="valid_to")
    coverage, _ = InsuranceCoverage.objects.update_or_create(
        patient=patient,
        valid_from=valid_from,
        defaults={
            "benefit_level": benefit_level,
            "valid_to": valid_to,
            "route": route,
            "five_years_from": five_years_from,
        },
    )
    return coverage


@transaction.atomic
def patient_create(
    *, code: str, full_name: str, coverage: dict[str, Any] | None = None, **fields: Any
) -> Patient:
    """Register a patient. A code that exists already is refused (409), never merged."""
    if Patient.objects.filter(code=code).exists():
        raise PatientCodeExists(param="code")
    _check_card_against_cover(fields, coverage)
    patient = Patient(
        code=code,
        full_name=full_name,
        date_of_birth=fields.get("date_of_birth"),
        phone=fields.get("phone", ""),
        email=fields.get("email", ""),
        preferred_channel=fields.get("preferred_channel") or "",
    )
    _apply_identifiers(patient, fields)
    _save(patient)
    if coverage:
        coverage_set(patient=patient, **coverage)
    return patient


@transaction.atomic
def patient_update(
    *, patient: Patient, coverage: dict[str, Any] | None = None, **fields: Any
) -> Patient:
    """Change the given fields only (a PATCH)."""
    _check_card_against_cover(fields, coverage)
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    for name in ("code", "full_name", "date_of_birth", "phone", "email", "preferred_channel"):
        if name in fields:
            setattr(patient, name, fields[name] if fields[name] is not None else "")
    if "date_of_birth" in fields:
        patient.date_of_birth = fields["date_of_birth"]
    _apply_identifiers(patient, fields)
    _save(patient)
    if coverage:
        coverage_set(patient=patient, **coverage)
    return patient
