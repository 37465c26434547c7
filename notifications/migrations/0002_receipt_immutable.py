"""PostgreSQL: an issued receipt can be neither updated nor deleted, by any code path (a
correction is a new receipt; a refund receipt references the one it reverses)."""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION receipt_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'receipts: % on % refused, an issued receipt is immutable; issue a new one',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER receipt_immutable BEFORE UPDATE OR DELETE ON notifications_receipt
    FOR EACH ROW EXECUTE FUNCTION receipt_immutable();
"""

BACKWARD = r"""
DROP TRIGGER receipt_immutable ON notifications_receipt;
DROP FUNCTION receipt_immutable();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
