"""A patient's personal data anonymised on a lawful request (the patient's deletion request
under the Personal Data Protection Law, Law 91/2025/QH15, Art. 14(1); Decree 13/2023/ND-CP
Art. 9 and 16) or when the retention period ends, while the accounting records the law
requires stay whole.

What goes: the name (replaced by ``ANONYMISED_NAME``), date of birth, phone, e-mail, the
preferred channel, the citizen ID's hash and masked form, the insurance number's masked
form. What stays: the hospital patient code (the HIS's pseudonymous key, referenced by
the invoices and the ledger), the insurance number's keyed hash (claims to the insurance
fund are reconciled on it), the coverage rows (benefit level and dates the invoices were
split on), every invoice, payment, journal line and receipt (accounting records: receipts
are immutable and keep the buyer named as issued). Apps above billing drop what they hold
for the patient when ``patient_anonymised`` is sent (notifications: message recipients).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from billing.models import Invoice, InvoiceStatus, Patient
from billing.signals import patient_anonymised
from config.audit.models import AuditCategory
from config.audit.services import audit_record

ANONYMISED_NAME = "(ẩn danh)"


def patient_is_anonymised(patient: Patient) -> bool:
    return patient.full_name == ANONYMISED_NAME


@transaction.atomic
def patient_anonymise(*, patient: Patient, reason: str, by: Any = None) -> bool:
    """Anonymises ``patient`` once (a repeat changes nothing and returns False). The patient
    row is locked; the receivers of ``patient_anonymised`` run in the same transaction, and
    the audit row (``patient.anonymise``, the reason, never the data) is its last write."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient_is_anonymised(patient):
        return False
    patient.full_name = ANONYMISED_NAME
    patient.date_of_birth = None
    patient.phone = ""
    patient.email = ""
    patient.preferred_channel = ""
    patient.citizen_id_hash = None
    patient.citizen_id_masked = ""
    patient.insurance_id_masked = ""
    patient.save()
    patient_anonymised.send(sender=Patient, patient=patient)
    audit_record(
        action="patient.anonymise",
        category=AuditCategory.PERSONAL_DATA,
        actor=by,
        target=patient,
        detail={"reason": reason[:200]},
    )
    return True


def patients_past_retention(*, now: Any = None) -> QuerySet[Patient]:
    """Patients not yet anonymised whose last visit (or registration, without one) is older
    than ``PERSONAL_DATA_RETENTION_YEARS`` and who owe nothing."""
    cutoff = (now or timezone.now()) - timedelta(days=365 * settings.PERSONAL_DATA_RETENTION_YEARS)
    open_invoices = Invoice.objects.filter(
        status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID]
    ).values("encounter__patient")
    return (
        Patient.objects.exclude(full_name=ANONYMISED_NAME)
        .annotate(last_visit=Max("encounters__opened_at"))
        .filter(Q(last_visit__lt=cutoff) | Q(last_visit__isnull=True, created_at__lt=cutoff))
        .exclude(pk__in=open_invoices)
    )
