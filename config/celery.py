"""The Celery app. Tasks are autodiscovered in every installed app's ``tasks`` module."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("vienphi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
