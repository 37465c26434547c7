"""A patient's personal data anonymised on a lawful request or at the end of retention
(manage.py anonymise_patient), with the accounting records kept whole."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.models import Invoice, JournalLine, Patient
from billing.services.invoices import invoice_issue
from billing.services.personal_data import ANONYMISED_NAME
from config.audit.models import AuditEvent
from notifications.models import Message, MessageStatus
from tests.assertions import assert_trial_balance_balanced
from tests.billing.builders import (
    charges_post,
    citizen_id_new,
    encounter_new,
    patient_with_coverage,
    payment_post,
    price_item,
)

pytestmark = pytest.mark.django_db


def _billed_patient(*, on: date | None = None, paid: bool = True) -> tuple[Patient, Invoice]:
    patient = patient_with_coverage(
        full_name="Trần Thị Bích Ngọc",
        phone="0912345678",
        email="ngoc.tran@example.vn",
        citizen_id=citizen_id_new(),
        date_of_birth=date(1985, 3, 2),
    )
    encounter = encounter_new(patient=patient, on=on)
    charges_post(encounter, (price_item(price=300_000, insurance_price=None), 1))
    invoice = invoice_issue(encounter=encounter, issued_by="test")
    if paid:
        payment_post(invoice, invoice.patient_share)
    return patient, invoice


def _anonymise(*args: str) -> str:
    out = StringIO()
    call_command("anonymise_patient", *args, stdout=out)
    return out.getvalue()


def test_a_lawful_request_anonymises_the_patient_and_keeps_the_books() -> None:
    patient, invoice = _billed_patient(paid=False)
    insurance_hash = patient.insurance_id_hash
    lines_before = JournalLine.objects.count()
    assert Message.objects.filter(invoice=invoice).exists()  # the pay-link message

    output = _anonymise("--code", patient.code, "--reason", "request 2026-118")

    assert "anonymised" in output
    patient.refresh_from_db()
    assert patient.full_name == ANONYMISED_NAME
    assert (patient.phone, patient.email, patient.date_of_birth) == ("", "", None)
    assert (patient.citizen_id_hash, patient.citizen_id_masked) == (None, "")
    assert patient.insurance_id_masked == ""
    # What accounting and the fund's reconciliation need stays.
    assert patient.insurance_id_hash == insurance_hash
    assert Invoice.objects.get(pk=invoice.pk).total == invoice.total
    assert JournalLine.objects.count() == lines_before
    assert_trial_balance_balanced()
    # The messages lose their recipients; an unsent one is never sent.
    messages = Message.objects.filter(invoice=invoice)
    assert {m.recipient for m in messages} == {""}
    assert {m.status for m in messages} <= {MessageStatus.FAILED, MessageStatus.SENT}
    (row,) = AuditEvent.objects.filter(action="patient.anonymise")
    assert row.target_id == str(patient.pk)
    assert row.detail == {"reason": "request 2026-118"}
    assert "Ngọc" not in str(row.detail)


def test_anonymising_twice_changes_nothing_more() -> None:
    patient, _ = _billed_patient()
    _anonymise("--code", patient.code, "--reason", "request 1")

    assert "already anonymised" in _anonymise("--code", patient.code, "--reason", "request 2")
    assert AuditEvent.objects.filter(action="patient.anonymise").count() == 1


def test_a_request_needs_a_reason_and_a_known_patient() -> None:
    patient, _ = _billed_patient()

    with pytest.raises(CommandError, match="reason"):
        _anonymise("--code", patient.code)
    with pytest.raises(CommandError, match="no patient"):
        _anonymise("--code", "NO-SUCH", "--reason", "r")
    patient.refresh_from_db()
    assert patient.full_name != ANONYMISED_NAME


def test_retention_anonymises_old_settled_patients_only(settings) -> None:
    settings.PERSONAL_DATA_RETENTION_YEARS = 5
    old_settled, _ = _billed_patient(on=date(2015, 6, 1))
    old_owing, _ = _billed_patient(on=date(2015, 6, 1), paid=False)
    recent, _ = _billed_patient()

    assert "1 patient(s) past retention" in _anonymise("--expired", "--dry-run")
    assert "1 patient(s) anonymised" in _anonymise("--expired")

    names = {p.pk: p.full_name for p in Patient.objects.all()}
    assert names[old_settled.pk] == ANONYMISED_NAME
    assert names[old_owing.pk] != ANONYMISED_NAME
    assert names[recent.pk] != ANONYMISED_NAME
