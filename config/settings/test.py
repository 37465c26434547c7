"""Test settings: the suite always runs on PostgreSQL and Redis (see README)."""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vienphi")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, REST_FRAMEWORK, env

SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
# Test threads open and close their own connections; nothing is kept between requests
# (a test's worker may keep them: TEST_CONN_MAX_AGE, tests/config/test_worker_connections.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("TEST_CONN_MAX_AGE", default=0)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests send tasks explicitly to a real worker where they test delivery.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# Parallel test processes share one Redis: each publishes to, and runs workers on, its own
# queue, so no worker runs another process's task against the wrong test database.
CELERY_TASK_DEFAULT_QUEUE = env.str(
    "CELERY_QUEUE", default=f"vienphi-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
)
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"auth_token": "1000/min", "kiosk_lookup": "1000/min"},
}
# Nothing is collected for the tests: WhiteNoise serves from the apps' static folders.
STATIC_ROOT = None
