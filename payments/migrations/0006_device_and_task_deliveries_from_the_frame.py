# Devices now belong to the frame's identity app, and task deliveries to the frame's
# task_deliveries app. Tables keep their names (payments_taskdelivery): the move is in
# Django's state only, no row is copied; the content type follows the model.

import django.db.models.deletion
from django.db import migrations, models

from config.model_moves import MOVE_DEPENDENCIES, move_content_types


class Migration(migrations.Migration):

    dependencies = MOVE_DEPENDENCIES + [
        ('identity', '0001_initial'),
        ('payments', '0005_task_deliveries'),
        ('task_deliveries', '0001_initial'),
    ]

    # billing.Device leaves billing's state there: this foreign key must point away first.
    run_before = [
        ('billing', '0009_identity_moves_to_the_frame'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='payment',
                    name='created_by_device',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to='identity.device'),
                ),
                migrations.DeleteModel(name='TaskDelivery'),
            ],
            database_operations=[],
        ),
        move_content_types(models=('taskdelivery',), from_app='payments', to_app='task_deliveries'),
    ]
