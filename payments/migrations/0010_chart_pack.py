"""The chart pack of the deployment's accounting regime (settings.ACCOUNTING_REGIME).

The accounts of the pack are created; every account of the chart the first release loaded
(Circular 200/2014 numbering, drawers as ``1111.<terminal>``) that the pack replaces has
its balance moved, reference by reference, by one reclassification entry dated now, then
is deactivated (or deleted when nothing was ever posted to it). No posted line is changed.
Each terminal gets the regime's numbered drawer account. The reverse migration does
nothing: the reclassification entries stay, as entries do.

Here rather than in billing because the terminals (payments) point to the drawers.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def adopt(apps, schema_editor):
    from payments.services.cashier.terminals import chart_adopt_with_drawers

    chart_adopt_with_drawers(regime=settings.ACCOUNTING_REGIME, at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0009_cash_transfers_two_sided"),
        ("billing", "0012_patient_preferred_channel"),
    ]

    operations = [migrations.RunPython(adopt, migrations.RunPython.noop)]
