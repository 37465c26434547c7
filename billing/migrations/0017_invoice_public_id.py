"""Invoices get a public id (``inv_`` and 80 random bits) for every caller outside: the
integer key stays internal. Existing invoices are given one here, in batches."""

from django.db import migrations, models

import billing.models.invoices


def backfill(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    pending = Invoice.objects.filter(public_id__isnull=True).order_by("pk")
    while True:
        batch = list(pending[:1000])
        if not batch:
            return
        for invoice in batch:
            invoice.public_id = billing.models.invoices.new_invoice_id()
        Invoice.objects.bulk_update(batch, ["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0016_einvoice_refund_adjustments"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="public_id",
            field=models.CharField(max_length=32, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="invoice",
            name="public_id",
            field=models.CharField(
                default=billing.models.invoices.new_invoice_id, max_length=32, unique=True
            ),
        ),
    ]
