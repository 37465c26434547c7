"""``manage.py anonymise_patient --code CODE --reason "request 2026-118"``: anonymises one
patient's personal data on a lawful request (``billing.services.personal_data``).
``--expired``: every patient past ``PERSONAL_DATA_RETENTION_YEARS`` who owes nothing
(``--dry-run`` lists how many). Accounting records stay whole."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.models import Patient
from billing.services.personal_data import patient_anonymise, patients_past_retention


class Command(BaseCommand):
    help = "Anonymise a patient's personal data (lawful request or retention ended)."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--code", help="the hospital patient code")
        which.add_argument("--expired", action="store_true", help="patients past retention")
        parser.add_argument("--reason", default="", help="the request's reference (audited)")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["code"]:
            if not options["reason"]:
                raise CommandError("--reason is required: the request's reference")
            patient = Patient.objects.filter(code=options["code"]).first()
            if patient is None:
                raise CommandError(f"no patient with code {options['code']!r}")
            if options["dry_run"]:
                self.stdout.write(f"would anonymise patient {patient.code}")
                return
            done = patient_anonymise(patient=patient, reason=options["reason"])
            self.stdout.write(
                f"patient {patient.code} anonymised" if done else "already anonymised"
            )
            return
        due = patients_past_retention()
        if options["dry_run"]:
            self.stdout.write(f"{due.count()} patient(s) past retention")
            return
        count = 0
        for patient in due.iterator():
            count += patient_anonymise(patient=patient, reason="retention period ended")
        self.stdout.write(f"{count} patient(s) anonymised")
