# Staff API tokens and devices, moved here from billing (billing 0009). Their tables were
# created by billing (billing 0001) and keep their names: this migration changes Django's
# state only, never the database.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ApiToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key_digest', models.CharField(max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('expires_at', models.DateTimeField()),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'billing_apitoken',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Device',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True)),
                        ('kind', models.CharField(choices=[('kiosk', 'Kiosk'), ('his', 'Hospital information system')], max_length=10)),
                        ('key_digest', models.CharField(max_length=64, unique=True)),
                        ('key_hint', models.CharField(max_length=12)),
                        ('card_reader_id', models.CharField(blank=True, max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('last_seen_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'billing_device',
                        'ordering': ['name'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('kind__in', ['kiosk', 'his'])), name='device_kind_valid')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
