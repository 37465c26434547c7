"""Receipts get a public id (``rcp_`` and 80 random bits) for every caller outside: the
integer key stays internal. Existing receipts are given one here, in batches.

An issued receipt is immutable (0002's trigger refuses any UPDATE): the backfill sets the new
column with the trigger disabled, inside this migration's transaction only. ``ALTER TABLE``
holds its lock on the table until the commit, so no other session writes a receipt while the
trigger is off, and the trigger is back on before anyone can see the change."""

from django.db import migrations

import notifications.models
from billing.public_ids import public_id_operations, public_ids_backfill

TRIGGER = "ALTER TABLE notifications_receipt {} TRIGGER receipt_immutable"


def backfill(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(TRIGGER.format("DISABLE"), params=None)
    public_ids_backfill(apps.get_model("notifications", "Receipt"), notifications.models.new_receipt_id)
    if postgres:
        schema_editor.execute(TRIGGER.format("ENABLE"), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_zalo_messages"),
    ]

    operations = public_id_operations(
        "notifications", "receipt", notifications.models.new_receipt_id, backfill
    )
