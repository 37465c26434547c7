"""Accounts payments needs beyond billing's chart: money received that could not be applied
yet (suspense) and refunds paid by the desk."""

from django.db import migrations

ACCOUNTS = [
    ("3388", "Phải trả khác - tiền nhận chưa xác định (unallocated receipts, suspense)",
     "liability"),
]


def load(apps, schema_editor):
    Account = apps.get_model("billing", "Account")
    for code, name, account_type in ACCOUNTS:
        Account.objects.update_or_create(
            code=code, defaults={"name": name, "type": account_type, "currency": "VND"}
        )


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial"), ("billing", "0006_insurance_rules")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
