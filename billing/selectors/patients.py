"""Finding patients by identifier, without ever handling the identifier in clear for
longer than it takes to hash it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from billing.errors import PatientNotFound
from billing.identifiers import citizen_id_normalize, insurance_id_parse, mask_name, pii_hash
from billing.models import Encounter, EncounterStatus, Invoice, LookupAudit, Patient
from billing.selectors.invoices import (
    deposit_balance,
    invoices_open_for_patient,
    patient_deposit_balance,
    refund_owed,
)
from config.audit.models import AuditCategory, AuditOutcome
from config.audit.services import audit_record
from config.errors import DomainError
from config.identity.models import Device

logger = logging.getLogger(__name__)


def patient_by_identifier(*, identifier_kind: str, value: str) -> Patient | None:
    if identifier_kind == "patient_code":
        return Patient.objects.filter(code=value.strip()).first()
    if identifier_kind == "citizen_id":
        digest = pii_hash("citizen_id", citizen_id_normalize(value))
        return Patient.objects.filter(citizen_id_hash=digest).first()
    if identifier_kind == "insurance_number":
        digest = pii_hash("insurance", insurance_id_parse(value).lookup_key)
        return Patient.objects.filter(insurance_id_hash=digest).first()
    raise ValueError(identifier_kind)


@dataclass(frozen=True, slots=True)
class KioskLookup:
    patient: Patient
    masked_name: str
    invoices: list[Invoice]
    deposit_balance: int


def kiosk_lookup(*, device: Device, identifier_kind: str, value: str) -> KioskLookup:
    """The patient's open invoices, for a kiosk. Every lookup is audited (device, kind of
    identifier, outcome) — malformed ones too, so guessing leaves a trace."""
    try:
        patient = patient_by_identifier(identifier_kind=identifier_kind, value=value)
    except DomainError:
        LookupAudit.objects.create(device=device, identifier_kind=identifier_kind, found=False)
        logger.info("kiosk lookup device=%s kind=%s malformed", device.pk, identifier_kind)
        raise
    LookupAudit.objects.create(
        device=device, identifier_kind=identifier_kind, patient=patient, found=patient is not None
    )
    logger.info(
        "kiosk lookup device=%s kind=%s found=%s", device.pk, identifier_kind, patient is not None
    )
    if patient is None:
        raise PatientNotFound()
    return KioskLookup(
        patient=patient,
        masked_name=mask_name(patient.full_name),
        invoices=list(invoices_open_for_patient(patient=patient)),
        deposit_balance=patient_deposit_balance(patient=patient),
    )


def patient_looked_up_by(*, device: Device, patient_id: int, within_minutes: int) -> bool:
    """Whether ``device`` found this patient by a lookup in the last ``within_minutes``."""
    since = timezone.now() - timedelta(minutes=within_minutes)
    return LookupAudit.objects.filter(
        device=device, patient_id=patient_id, found=True, at__gte=since
    ).exists()


@dataclass(frozen=True, slots=True)
class EncounterMoney:
    """An encounter with the advances it holds and what is owed back after discharge."""

    encounter: Encounter
    deposit_balance: int
    refund_owed: int


@dataclass(frozen=True, slots=True)
class DeskLookup:
    patient: Patient
    masked_name: str
    invoices: list[Invoice]
    deposit_balance: int
    encounters: list[EncounterMoney]


def desk_lookup(*, user: Any, identifier_kind: str, value: str) -> DeskLookup:
    """A patient found at the cashier's desk: open invoices, and the encounters that can
    take an advance (open) or still owe the patient money back (closed, refund owed).
    Every look-up joins the audit trail (who, kind of identifier, found or not; never the
    identifier)."""
    try:
        patient = patient_by_identifier(identifier_kind=identifier_kind, value=value)
    except DomainError:
        _audit_desk_lookup(user, identifier_kind, None, outcome=AuditOutcome.REFUSED)
        raise
    _audit_desk_lookup(user, identifier_kind, patient, outcome=AuditOutcome.SUCCESS)
    if patient is None:
        raise PatientNotFound()
    encounters = [
        EncounterMoney(
            encounter=encounter,
            deposit_balance=deposit_balance(encounter=encounter),
            refund_owed=refund_owed(encounter=encounter),
        )
        for encounter in Encounter.objects.filter(patient=patient).order_by("-opened_at", "-id")
    ]
    return DeskLookup(
        patient=patient,
        masked_name=mask_name(patient.full_name),
        invoices=list(invoices_open_for_patient(patient=patient)),
        deposit_balance=patient_deposit_balance(patient=patient),
        encounters=[
            e
            for e in encounters
            if e.encounter.status == EncounterStatus.OPEN or e.refund_owed or e.deposit_balance
        ],
    )


def _audit_desk_lookup(user: Any, kind: str, patient: Patient | None, *, outcome: str) -> None:
    audit_record(
        action="patient.lookup",
        category=AuditCategory.PERSONAL_DATA,
        actor=user,
        outcome=outcome,
        target=patient,
        target_type="" if patient else "billing.patient",
        detail={"identifier_kind": kind, "found": patient is not None},
    )
