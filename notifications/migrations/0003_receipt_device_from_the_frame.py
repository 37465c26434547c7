# Devices now belong to the frame's identity app; the table and the foreign key constraint
# stay as they are (state only).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0001_initial'),
        ('notifications', '0002_receipt_immutable'),
    ]

    # billing.Device leaves billing's state there: this foreign key must point away first.
    run_before = [
        ('billing', '0009_identity_moves_to_the_frame'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='receipt',
                    name='device',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='identity.device'),
                ),
            ],
            database_operations=[],
        ),
    ]
