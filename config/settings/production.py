"""Production: PostgreSQL, Redis, real Celery workers and beat. Refuses to start half-configured."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import USING_POSTGRES, env

# Checked once base has read the .env file (it fills in os.environ, never overriding it),
# so the secrets may come from either.
_REQUIRED = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PII_HASH_KEY")
_missing = [name for name in _REQUIRED if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured(
        "Production settings need these environment variables: " + ", ".join(_missing)
    )

if not USING_POSTGRES:
    raise ImproperlyConfigured("Production runs on PostgreSQL: DATABASE_URL must be postgres://")

# Patients' messages through the eSMS gateway need its credentials and registered brand name.
if SMS_BACKEND == "esms":  # noqa: F405 - from base
    _sms_missing = [
        name
        for name in ("SMS_API_KEY", "SMS_SECRET_KEY", "SMS_BRAND_NAME")
        if not env.str(name, default="")
    ]
    if _sms_missing:
        raise ImproperlyConfigured(
            "SMS_BACKEND=esms needs these environment variables: " + ", ".join(_sms_missing)
        )

# Zalo notifications need the app's credentials, the OA secret key that signs its webhook,
# an encryption key for the tokens at rest and at least one approved template.
if ZALO_ENABLED:  # noqa: F405 - from base
    _zalo_missing = [
        name
        for name in (
            "ZALO_APP_ID",
            "ZALO_APP_SECRET",
            "ZALO_OA_SECRET_KEY",
            "ZALO_TOKEN_ENCRYPTION_KEYS",
        )
        if not env.str(name, default="")
    ]
    if not any(str(template_id).strip() for template_id in ZALO_TEMPLATE_IDS.values()):  # noqa: F405
        _zalo_missing.append("ZALO_TEMPLATE_IDS")
    if _zalo_missing:
        raise ImproperlyConfigured(
            "ZALO_ENABLED needs these environment variables: " + ", ".join(_zalo_missing)
        )

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CELERY_TASK_ALWAYS_EAGER = False

# `collectstatic` writes hashed, compressed copies that WhiteNoise serves with far-future
# cache headers; a page names them through {% static %}, so a new release busts the cache.
STORAGES = {
    **STORAGES,  # noqa: F405 - from base
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
