"""Wrong-route (self-referral) ratios by the hospital's level and care type since 2019, and the
hospital's level as a dated row (issue 12). Administrators edit both in the admin.

The rows up to 2025-06-30 were checked against the text of Art. 22(3) and (6) of the Law on
Health Insurance (Law 25/2008/QH12 as amended by Law 46/2014/QH13, in force 2015-01-01).
The rows from 2025-07-01 (Law 51/2024/QH15 and Decree 188/2025/ND-CP) could be checked only
against official and press reports, not the text: they are ``confirmed = False`` and say so
in their note. The hospital's level is seeded as provincial (the level the earlier seeded
ratios assumed): set the hospital's own level in the admin.

The generic wrong-route rows migration 0006 seeded are removed when they are as seeded (the
per-level rows replace them); rows an administrator changed are kept. Issued invoices are
not touched (see migration 0010).
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

LAW_46 = "Law 25/2008/QH12 as amended by Law 46/2014/QH13"
TEXT_CHECKED = "Checked against the consolidated text of the Law (Art. 22)."
DECREE_188 = (
    "Decree 188/2025/ND-CP (details Art. 22(4)(e),(h) of the Law): 50 % of outpatient cost at "
    "basic- or specialized-level facilities classified provincial or central before "
    "2025-01-01, from 2026-07-01; none before. Reported by Vietnam Social Security (vss.gov.vn, "
    "22/08/2025) and Lao Động; the decree's text was not read (check)."
)
LAW_51_INPATIENT = (
    "Law 51/2024/QH15 (in force 2025-07-01), Art. 22: reported (press, VSS) as 100 % of "
    "inpatient cost at basic-level facilities and at facilities classified provincial before "
    "2025-01-01, 40 % at the other specialized-level (former central) facilities; the amended "
    "text was not read (check)."
)
LAW_51_DISTRICT = (
    "Law 51/2024/QH15: 100 % at basic- or specialized-level facilities classified district "
    "level before 2025-01-01, nationwide (Vietnam Law Magazine; laodong.vn); the amended text "
    "was not read (check)."
)

# (from, level, care type, ratio, confirmed, source, note) — route "wrong" (self-referral).
RATIOS = [
    (date(2019, 1, 1), "central", "inpatient", "40", True, f"{LAW_46} Art. 22(3)(a)",
     f"40 % of inpatient treatment cost. {TEXT_CHECKED}"),
    (date(2019, 1, 1), "central", "outpatient", "0", True, f"{LAW_46} Art. 22(3)(a)",
     f"Art. 22(3)(a) pays inpatient treatment only. {TEXT_CHECKED}"),
    (date(2019, 1, 1), "provincial", "inpatient", "60", True, f"{LAW_46} Art. 22(3)(b)",
     f"60 % of inpatient treatment cost until 2020-12-31. {TEXT_CHECKED}"),
    (date(2019, 1, 1), "provincial", "outpatient", "0", True, f"{LAW_46} Art. 22(3)(b)",
     f"Art. 22(3)(b) and (6) pay inpatient treatment only. {TEXT_CHECKED}"),
    (date(2019, 1, 1), "district", "inpatient", "100", True, f"{LAW_46} Art. 22(3)(c)",
     f"100 % of examination and treatment cost from 2016-01-01. {TEXT_CHECKED}"),
    (date(2019, 1, 1), "district", "outpatient", "100", True, f"{LAW_46} Art. 22(3)(c)",
     f"100 % of examination and treatment cost from 2016-01-01. {TEXT_CHECKED}"),
    (date(2021, 1, 1), "provincial", "inpatient", "100", True, f"{LAW_46} Art. 22(3)(b), (6)",
     f"100 % of inpatient treatment cost nationwide from 2021-01-01. {TEXT_CHECKED}"),
    (date(2025, 7, 1), "central", "inpatient", "40", False, "Law 51/2024/QH15 (check)",
     LAW_51_INPATIENT),
    (date(2025, 7, 1), "central", "outpatient", "0", False, "Decree 188/2025/ND-CP (check)",
     DECREE_188),
    (date(2025, 7, 1), "provincial", "inpatient", "100", False, "Law 51/2024/QH15 (check)",
     LAW_51_INPATIENT),
    (date(2025, 7, 1), "provincial", "outpatient", "0", False, "Decree 188/2025/ND-CP (check)",
     DECREE_188),
    (date(2025, 7, 1), "district", "inpatient", "100", False, "Law 51/2024/QH15 (check)",
     LAW_51_DISTRICT),
    (date(2025, 7, 1), "district", "outpatient", "100", False, "Law 51/2024/QH15 (check)",
     LAW_51_DISTRICT),
    (date(2026, 7, 1), "central", "outpatient", "50", False, "Decree 188/2025/ND-CP (check)",
     DECREE_188),
    (date(2026, 7, 1), "provincial", "outpatient", "50", False, "Decree 188/2025/ND-CP (check)",
     DECREE_188),
]

HOSPITAL_LEVEL = (
    date(2019, 1, 1),
    "provincial",
    "Seeded default (what the earlier ratios assumed): set this hospital's level (check)",
)

# What migration 0006 seeded for every level: (from, care type, ratio, source).
GENERIC_SEEDED = [
    (date(2021, 1, 1), "inpatient", "100", "Law 46/2014 Art. 22(3)"),
    (date(2021, 1, 1), "outpatient", "0", "Law 46/2014 Art. 22(3)"),
    (date(2025, 7, 1), "inpatient", "100", "Law 51/2024/QH15 (check)"),
    (date(2025, 7, 1), "outpatient", "50", "Law 51/2024/QH15 (check)"),
]


def load(apps, schema_editor):
    """Also called by the tests after a transactional test truncates the tables."""
    RouteRatio = apps.get_model("billing", "RouteRatio")
    HospitalLevelSetting = apps.get_model("billing", "HospitalLevelSetting")
    for effective_from, care_type, ratio, source in GENERIC_SEEDED:
        RouteRatio.objects.filter(
            effective_from=effective_from,
            route="wrong",
            hospital_level="",
            care_type=care_type,
            ratio_percent=Decimal(ratio),
            source=source,
        ).delete()
    for effective_from, level, care_type, ratio, confirmed, source, note in RATIOS:
        RouteRatio.objects.get_or_create(
            effective_from=effective_from,
            route="wrong",
            hospital_level=level,
            care_type=care_type,
            defaults={
                "ratio_percent": Decimal(ratio),
                "confirmed": confirmed,
                "source": source,
                "note": note,
            },
        )
    effective_from, level, source = HOSPITAL_LEVEL
    if not HospitalLevelSetting.objects.exists():
        HospitalLevelSetting.objects.create(
            effective_from=effective_from, level=level, source=source
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0010_insurance_rules_by_level_and_visit")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
