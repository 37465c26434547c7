"""Initial dated BHYT rules. Administrators edit them in the admin as the law changes.

Route ratios are for a city/provincial-level hospital; the wrong-route ratios from
2025-07-01 are marked (check) — review them for your hospital's level."""

from datetime import date
from decimal import Decimal

from django.db import migrations

PARAMETERS = [
    (date(2019, 7, 1), 1_490_000, "Decree 38/2019/ND-CP"),
    (date(2023, 7, 1), 1_800_000, "Decree 24/2023/ND-CP"),
    (date(2024, 7, 1), 2_340_000, "Decree 73/2024/ND-CP"),
]

RATIOS = [
    (date(2015, 1, 1), "correct", "", Decimal("100"), "Law 46/2014/QH13"),
    (date(2015, 1, 1), "emergency", "", Decimal("100"), "Emergency counts as correct route"),
    (date(2021, 1, 1), "wrong", "inpatient", Decimal("100"), "Law 46/2014 Art. 22(3)"),
    (date(2021, 1, 1), "wrong", "outpatient", Decimal("0"), "Law 46/2014 Art. 22(3)"),
    (date(2025, 7, 1), "wrong", "inpatient", Decimal("100"), "Law 51/2024/QH15 (check)"),
    (date(2025, 7, 1), "wrong", "outpatient", Decimal("50"), "Law 51/2024/QH15 (check)"),
]


def load(apps, schema_editor):
    InsuranceParameters = apps.get_model("billing", "InsuranceParameters")
    RouteRatio = apps.get_model("billing", "RouteRatio")
    for effective_from, base_salary, source in PARAMETERS:
        InsuranceParameters.objects.get_or_create(
            effective_from=effective_from,
            defaults={"base_salary": base_salary, "visit_threshold_percent": Decimal("15"),
                      "source": source},
        )
    for effective_from, route, kind, ratio, source in RATIOS:
        RouteRatio.objects.get_or_create(
            effective_from=effective_from, route=route, encounter_kind=kind,
            defaults={"ratio_percent": ratio, "source": source},
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_patients_encounters_invoices")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
