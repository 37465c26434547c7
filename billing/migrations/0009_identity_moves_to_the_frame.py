# Devices and staff API tokens now belong to the frame (config.identity, app label
# "identity"). Their tables keep their names (billing_device, billing_apitoken): the move
# is in Django's state only, no row is copied. Their content types (and so permissions
# and admin log entries) follow them. payments 0006 and notifications 0003 repoint their
# foreign keys first (run_before), so nothing refers to billing.Device when it leaves.

import django.db.models.deletion
from django.db import migrations, models

from config.model_moves import MOVE_DEPENDENCIES, move_content_types


class Migration(migrations.Migration):

    dependencies = MOVE_DEPENDENCIES + [
        ('billing', '0008_copay_cap'),
        ('identity', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='lookupaudit',
                    name='device',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to='identity.device'),
                ),
                migrations.DeleteModel(name='ApiToken'),
                migrations.DeleteModel(name='Device'),
            ],
            database_operations=[],
        ),
        move_content_types(models=('device', 'apitoken'), from_app='billing', to_app='identity'),
    ]
