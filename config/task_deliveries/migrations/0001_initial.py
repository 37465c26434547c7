# Task deliveries, moved here from payments (payments 0006). The table was created by
# payments (payments 0005) and keeps its name: this migration changes Django's state only,
# never the database.

import django.core.serializers.json
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='TaskDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('task_id', models.CharField(max_length=64, unique=True)),
                        ('task_name', models.CharField(max_length=120)),
                        ('kwargs', models.JSONField(default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('last_error', models.CharField(blank=True, max_length=300)),
                        ('parked_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'verbose_name_plural': 'task deliveries',
                        'db_table': 'payments_taskdelivery',
                        'ordering': ['-updated_at'],
                        'indexes': [models.Index(condition=models.Q(('parked_at__isnull', False)), fields=['parked_at'], name='task_parked')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
