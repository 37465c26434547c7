"""E-invoices get a public id (``einv_`` and 80 random bits): the API shows an invoice's
e-invoice to kiosks and pay links, and the integer key is a sequence. Existing e-invoices are
given one here, in batches."""

from django.db import migrations

import billing.models.einvoices
from billing.public_ids import public_id_operations


class Migration(migrations.Migration):
    dependencies = [("billing", "0018_account_balances")]

    operations = public_id_operations("billing", "einvoice", billing.models.einvoices.new_einvoice_id)
