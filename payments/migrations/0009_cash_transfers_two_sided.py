"""Cash transfers become two-sided: pending (the cash in transit on its own account, 1133)
until the receiver confirms the amount counted. Transfers made before were posted drawer to
drawer at once, so they are confirmed for the amount they moved."""

import django.db.models.deletion
from django.db.models import F
from django.conf import settings
from django.db import migrations, models


ACCOUNTS = [
    ("1133", "Tiền đang chuyển - tiền mặt giữa quầy và két (cash in transit)", "asset"),
]


def load(apps, schema_editor):
    Account = apps.get_model("billing", "Account")
    for code, name, account_type in ACCOUNTS:
        Account.objects.update_or_create(
            code=code, defaults={"name": name, "type": account_type, "currency": "VND"}
        )


def confirm_earlier_transfers(apps, schema_editor):
    CashTransfer = apps.get_model("payments", "CashTransfer")
    CashTransfer.objects.update(
        status="confirmed", counted_amount=F("amount"), decided_at=F("created_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0008_settlement_and_reconciliation'),
        ('billing', '0003_chart_of_accounts_and_roles'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='cashtransfer',
            name='counted_amount',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='cashtransfer',
            name='decided_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='cashtransfer',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='cashtransfer',
            name='status',
            field=models.CharField(choices=[('pending', "In transit, waiting for the receiver's count"), ('confirmed', 'Counted in by the receiver'), ('canceled', 'Canceled: the cash went back to the giver')], default='pending', max_length=10),
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
        migrations.RunPython(confirm_earlier_transfers, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='cashtransfer',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'confirmed', 'canceled'])), name='cash_transfer_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='cashtransfer',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('counted_amount__gte', 0), ('status', 'confirmed')), models.Q(models.Q(('status', 'confirmed'), _negated=True), ('counted_amount__isnull', True)), _connector='OR'), name='cash_transfer_counted_when_confirmed'),
        ),
    ]
