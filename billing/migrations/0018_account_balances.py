"""Account balances per day, kept by PostgreSQL as lines are inserted (issue 20).

``ledger_balance_add`` runs once per INSERT statement on ``billing_journalline`` (its new
rows as a transition table), in that statement's transaction, and adds the statement's
totals per account and UTC day of the entry into the connection's slot row
(``mod(pg_backend_pid(), 8)``: concurrent posters to one hot account on different connections
touch different rows). Rows are touched in account and day order, so two statements
touching the same rows take their locks in the same order. Lines are append-only
(0002), so inserting is the only change to follow. Existing lines are added up first.
"""

import django.db.models.deletion
from django.db import migrations, models


FORWARD = r"""
INSERT INTO billing_accountbalance (account_id, day, slot, debit_total, credit_total, line_count)
SELECT l.account_id, (e.posted_at AT TIME ZONE 'UTC')::date, 0, SUM(l.debit), SUM(l.credit),
       COUNT(*)
FROM billing_journalline l JOIN billing_journalentry e ON e.id = l.entry_id
GROUP BY 1, 2;

CREATE FUNCTION ledger_balance_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO billing_accountbalance
        (account_id, day, slot, debit_total, credit_total, line_count)
    SELECT n.account_id, (e.posted_at AT TIME ZONE 'UTC')::date, mod(pg_backend_pid(), 8),
           SUM(n.debit), SUM(n.credit), COUNT(*)
    FROM new_lines n JOIN billing_journalentry e ON e.id = n.entry_id
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (account_id, day, slot) DO UPDATE SET
        debit_total = billing_accountbalance.debit_total + EXCLUDED.debit_total,
        credit_total = billing_accountbalance.credit_total + EXCLUDED.credit_total,
        line_count = billing_accountbalance.line_count + EXCLUDED.line_count;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_balance_add AFTER INSERT ON billing_journalline
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_balance_add();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS ledger_balance_add ON billing_journalline;
DROP FUNCTION IF EXISTS ledger_balance_add();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0017_invoice_public_id'),
    ]

    operations = [
        migrations.CreateModel(
            name='AccountBalance',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('slot', models.PositiveSmallIntegerField()),
                ('debit_total', models.BigIntegerField(default=0)),
                ('credit_total', models.BigIntegerField(default=0)),
                ('line_count', models.BigIntegerField(default=0)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='billing.account')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('account', 'day', 'slot'), name='ledger_balance_account_day_slot')],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
