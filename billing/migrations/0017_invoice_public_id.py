"""Invoices get a public id (``inv_`` and 80 random bits) for every caller outside: the
integer key stays internal. Existing invoices are given one here, in batches."""

from django.db import migrations

import billing.models.invoices
from billing.public_ids import public_id_operations


class Migration(migrations.Migration):
    dependencies = [("billing", "0016_einvoice_refund_adjustments")]

    operations = public_id_operations("billing", "invoice", billing.models.invoices.new_invoice_id)
