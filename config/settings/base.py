"""Settings shared by every environment, read from the environment with django-environ.

With no environment at all this is the *embedded default*: SQLite in the project folder,
Celery tasks executed in-process, console SMS/e-mail. Setting ``DATABASE_URL`` and
``REDIS_URL`` switches to PostgreSQL and real Celery workers with a Redis broker.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env is read when present (never committed; .env.example documents it).
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The embedded default needs a key to start; production.py refuses to run without a real one.
SECRET_KEY = env.str("SECRET_KEY", default="embedded-default-not-secret-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_prometheus",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    # The frame: who calls (staff, devices) and counted task deliveries.
    "config.identity",
    "config.task_deliveries",
    "config.audit",
    # The reference web clients of the API: the kiosk screen and the cashier console.
    "config.clients",
    "config.pages",
    "billing",
    "payments",
    "notifications",
    "phone",
    "demo",
]

MIDDLEWARE = [
    # /metrics: every request counted and timed by view, method and status (first and last).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # The request id (X-Request-ID) and client address for logs, tasks and the audit trail.
    "config.request_context.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # /static/ served by the app itself (admin, Swagger UI), under every settings module.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Lets the API error handler roll back only the transactions a request opened.
    "config.transactions.AtomicDepthMiddleware",
    # `?status=` under /api/ is a 400, not "every status" (config.api.query).
    "config.api.query.EmptyQueryParameterMiddleware",
    # Answers a locked-out admin login (config.identity.lockout) with 429.
    "axes.middleware.AxesMiddleware",
    # Records the money, approval and personal-data operations (config.audit.routes).
    "config.audit.middleware.AuditMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # {{ CSP_NONCE }}: the nonce that lets one inline <script>/<style> through.
                "csp.context_processors.nonce",
                "config.pages.context.hospital",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Services own their transactions (never hold one across a provider call).
DATABASES["default"]["ATOMIC_REQUESTS"] = False
USING_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# Persistent connections on PostgreSQL: opening one per request costs more than the request
# (bench/README.md, payments: 0.06 -> 0.12 of raw). Checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int(
    "DB_CONN_MAX_AGE", default=60 if USING_POSTGRES else 0
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if USING_POSTGRES:
    # Server-side parameter binding: psycopg sends each statement's text once per session
    # and, from its `prepare_threshold`-th use on, executes it as a prepared statement (no
    # parse/plan per request). Behind pgbouncer in transaction pooling this needs
    # pgbouncer >= 1.21 with max_prepared_statements > 0 (README, Production), or
    # DB_PREPARE_THRESHOLD= (empty: never prepare) — or DB_SERVER_SIDE_BINDING=false.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = env.bool(
        "DB_SERVER_SIDE_BINDING", default=True
    )
    _prepare = env.str("DB_PREPARE_THRESHOLD", default="5")
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = int(_prepare) if _prepare else None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "vienphi",
            # The cache holds only throttle counts: a Redis that stops answering must fail
            # a throttle within a second (config.api.throttling), not hang the request.
            "OPTIONS": {
                "socket_connect_timeout": env.float("CACHE_TIMEOUT_SECONDS", default=1.0),
                "socket_timeout": env.float("CACHE_TIMEOUT_SECONDS", default=1.0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The admin login is locked out after failures (django-axes, config.identity.lockout) before
# Django checks the password.
AUTHENTICATION_BACKENDS = [
    "config.identity.lockout.AdminLoginLockout",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "config.identity.lockout.AdminLoginAttempts"
AXES_ONLY_ADMIN_SITE = True
# Failed admin logins, counted per username and (separately) per client address, lock that
# username or that address out for AXES_COOLOFF_TIME once they reach AXES_FAILURE_LIMIT.
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = env.list(
    "ADMIN_LOGIN_LOCKOUT_PARAMETERS", default=["username", "ip_address"]
)
AXES_RESET_ON_SUCCESS = True
# The client address as the throttles and the audit trail see it (NUM_PROXIES).
AXES_CLIENT_IP_CALLABLE = "config.request_context.client_address"
AXES_HTTP_RESPONSE_CODE = 429
# Axes logs a failure with its username and address masked (a password typed into the
# username field stays out of the logs) and keeps them in its table (admin: Axes → Access
# attempts), never the password.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# API messages are English; receipts and patient messages carry their own Vietnamese text.
LANGUAGE_CODE = "en"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
# Patient pages (the pay page, the public receipt) speak Vietnamese unless the patient
# switches to English (Django's set_language cookie; config.pages.language). Their
# translations are each app's locale/<lang>/LC_MESSAGES/django.po, compiled .mo committed.
PAGE_LANGUAGE_CODE = env.str("PAGE_LANGUAGE_CODE", default="vi")
LOCALE_PATHS: list[Path] = []
LANGUAGE_COOKIE_SECURE = env.bool("LANGUAGE_COOKIE_SECURE", default=False)
LANGUAGE_COOKIE_SAMESITE = "Lax"
# A refused form post: a translated page on patient pages, the API's JSON error on the API.
CSRF_FAILURE_VIEW = "config.pages.errors.csrf_failure"
# Rate limits of the patient pages per client address (config.pages.throttle): page views,
# payment starts, and the status polls a page makes every few seconds.
PAGE_THROTTLE_RATES = {
    "pay_page": env.str("THROTTLE_PAY_PAGE", default="60/min"),
    "pay_action": env.str("THROTTLE_PAY_ACTION", default="10/min"),
    "pay_status": env.str("THROTTLE_PAY_STATUS", default="120/min"),
}
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Without collectstatic (the demo, the tests) WhiteNoise serves straight from the apps' static
# folders; production serves the collected, hashed and compressed copies (production.py).
WHITENOISE_USE_FINDERS = True

# --- Content-Security-Policy (django-csp) -------------------------------------------------
# Every page: scripts, styles, images and fetches from this origin only; an inline <script>
# or <style> runs only with the request's nonce (`nonce="{{ CSP_NONCE }}"` in a template).
# No page may be framed, post a form elsewhere or load plugins. A page that needs another
# origin adds it for itself alone with csp.decorators.csp_update (as the card page does
# for Stripe) rather than here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

# --- The hospital -----------------------------------------------------------------------
HOSPITAL_CURRENCY = "VND"
# The chart of accounts (billing.chart): "tt24_2024" for a public hospital (Circular
# 24/2024/TT-BTC), "tt99_2025" for a private one (Circular 99/2025/TT-BTC). Changing it
# on a live database means running `manage.py chart_adopt --regime ...` first.
ACCOUNTING_REGIME = env.str("ACCOUNTING_REGIME", default="tt24_2024")
# The social-insurance office as a customer in the accountant's software (the counterparty
# of the health-insurance fund's receivable in the journal and the exports).
INSURANCE_FUND_CUSTOMER_CODE = env.str("INSURANCE_FUND_CUSTOMER_CODE", default="BHXH")
HOSPITAL_NAME = env.str("HOSPITAL_NAME", default="Bệnh viện Đa khoa Demo Hà Nội")
# The seller on receipts (Decree 123/2020/ND-CP Art. 10).
HOSPITAL_ADDRESS = env.str(
    "HOSPITAL_ADDRESS", default="Số 1 Đường Giải Phóng, Quận Hai Bà Trưng, Hà Nội"
)
HOSPITAL_TAX_CODE = env.str("HOSPITAL_TAX_CODE", default="0100000000")

# --- The reference web clients (/kiosk/, /desk/) ------------------------------------------
# Seconds without a touch before the kiosk clears the patient's data and returns to start;
# longer while a payment is on screen (the patient is busy with a bank app or the reader).
KIOSK_IDLE_SECONDS = env.int("KIOSK_IDLE_SECONDS", default=60)
KIOSK_PAYMENT_IDLE_SECONDS = env.int("KIOSK_PAYMENT_IDLE_SECONDS", default=300)
# The visible countdown ("are you still there?") for the last seconds before the reset.
KIOSK_IDLE_WARNING_SECONDS = env.int("KIOSK_IDLE_WARNING_SECONDS", default=15)

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.authentication.StaffTokenAuthentication",
        "config.api.authentication.DeviceKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "config.error_responses.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "auth_token": env.str("THROTTLE_AUTH_TOKEN", default="10/min"),
        "kiosk_lookup": env.str("THROTTLE_KIOSK_LOOKUP", default="30/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    # `format` is a real query parameter of ours (the ledger export), not content negotiation.
    "URL_FORMAT_OVERRIDE": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "vienphi API",
    "DESCRIPTION": (
        "Cashless payments for hospitals: bills, payments on every channel, a double-entry "
        "ledger and receipts. Every error has the body "
        '`{"error": {"code", "message", "param"?, "detail"?}}`.'
    ),
    "VERSION": "1",
    # Operation ids and default tags leave out the version: `ledger_entries_list`.
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs are public (they hold no data); credentials are not checked,
    # so a stale token in the browser cannot lock anyone out of the docs.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the pinned drf-spectacular-sidecar package, served from /static/ by the
    # app (no CDN); no call to the public validator either.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "ReceiptKindEnum": "notifications.models.ReceiptKind.choices",
        "MessageChannelEnum": "notifications.models.MessageChannel.choices",
        "ShareRuleEnum": "billing.models.insurance.ShareRule.choices",
        "EncounterKindEnum": "billing.models.encounters.EncounterKind.choices",
        "EncounterStatusEnum": "billing.models.encounters.EncounterStatus.choices",
        # The invoice's status (on the invoice and on the bill a pay link shows).
        "InvoiceStatusEnum": "billing.models.InvoiceStatus.choices",
        "EInvoiceKindEnum": "billing.models.einvoices.EInvoiceKind.choices",
        "EInvoiceStatusEnum": "billing.models.einvoices.EInvoiceStatus.choices",
        # A refund's status (on a refund and in a payment's list of refunds).
        "RefundStatusEnum": "payments.models.RefundStatus.choices",
        # A payment's status and channel (on a payment and in the desk's payment lists), under
        # the names they had before the lists had their own component.
        "PaymentOutputStatusEnum": "payments.models.PaymentStatus.choices",
        "PaymentOutputChannelEnum": "payments.models.PaymentChannel.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.schema.add_error_responses",
    ],
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "staffToken": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Token <key>` from POST /api/v1/auth/token",
            },
            "deviceKey": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Device <key>` printed once by `manage.py create_device`",
            },
        }
    },
}

# The Retry-After of `503 service_unavailable` when the throttles' store (Redis) is down
# on the login and the kiosk lookup (config.api.throttling.FailClosed).
THROTTLE_STORE_DOWN_RETRY_AFTER_SECONDS = env.int(
    "THROTTLE_STORE_DOWN_RETRY_AFTER_SECONDS", default=30
)

# Staff API tokens expire; a cashier logs in again each shift.
STAFF_TOKEN_TTL_HOURS = env.int("STAFF_TOKEN_TTL_HOURS", default=12)

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Embedded default: without a broker, tasks run in-process at the moment they are sent.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# One queue per installation sharing a Redis (and per test process: see test.py).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="vienphi")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Redis redelivers an unacknowledged task after this; no countdown may be longer.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
# Beat records a heartbeat as it ticks (config.celery); the worker every few seconds.
CELERY_BEAT_SCHEDULER = "config.celery.HeartbeatScheduler"
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=10.0)
# /readyz: a worker heartbeat older than this, or beat's, means not ready.
READY_WORKER_MAX_AGE_SECONDS = env.int("READY_WORKER_MAX_AGE_SECONDS", default=60)
READY_BEAT_MAX_AGE_SECONDS = env.int("READY_BEAT_MAX_AGE_SECONDS", default=120)

# --- Logging: JSON lines with the request id, never personal data (config.logs) ---------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "json" (one object per line) or "plain" (for reading in a terminal).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "personal_data": {"()": "config.logs.PersonalDataFilter"},
        "request_id": {"()": "config.logs.RequestIdFilter"},
    },
    "formatters": {
        "json": {"()": "config.logs.JsonLineFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Scrubbed where they are logged ("Not Found: /p/<token>"), so every handler
        # downstream (error mails too) gets the masked record; the request id is read
        # first, while the record still holds the request.
        "django.request": {"filters": ["request_id", "personal_data"]},
        "django.server": {"filters": ["request_id", "personal_data"]},
        # fpdf2 subsets fonts through fontTools, which logs every table at INFO.
        "fontTools": {"level": "WARNING"},
    },
}
# Celery workers log through LOGGING too (JSON, scrubbed, with the request id of the
# request that caused the task).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Metrics (/metrics, config.metrics) --------------------------------------------------
# A scraper sends "Authorization: Bearer <METRICS_TOKEN>" or scrapes from these networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
# The business gauges count what happened in this many recent minutes.
METRICS_WINDOW_MINUTES = env.int("METRICS_WINDOW_MINUTES", default=15)
# django-prometheus: latency buckets fit for an API (seconds).
PROMETHEUS_LATENCY_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    float("inf"),
)

# --- Error reports: Sentry when SENTRY_DSN is set, without personal data ------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from config.error_reports import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# --- Personal data ----------------------------------------------------------------------
# Key of the HMAC under which citizen IDs and insurance numbers are stored for lookup.
# Changing it makes every stored hash unfindable: set it once per installation.
PII_HASH_KEY = env.str("PII_HASH_KEY", default="embedded-default-pii-key-change-me")
# A patient's personal data is kept this long after the last visit (or registration), then
# anonymised by `manage.py anonymise_patient --expired` (accounting records stay whole).
PERSONAL_DATA_RETENTION_YEARS = env.int("PERSONAL_DATA_RETENTION_YEARS", default=10)

# --- Input bounds (config.api.fields) ----------------------------------------------------
# Dates the API accepts: birth dates and coverage from API_EARLIEST_DATE, moments (encounters,
# services, filters, report cut-offs) from API_EARLIEST_DATETIME, both up to API_LATEST_DATE.
API_EARLIEST_DATE = date.fromisoformat(env.str("API_EARLIEST_DATE", default="1900-01-01"))
API_EARLIEST_DATETIME = date.fromisoformat(env.str("API_EARLIEST_DATETIME", default="1970-01-01"))
API_LATEST_DATE = date.fromisoformat(env.str("API_LATEST_DATE", default="2199-12-31"))

# --- Billing ----------------------------------------------------------------------------
# One charge request (HIS) posts at most this many lines, each of at most this quantity.
CHARGE_MAX_LINES_PER_REQUEST = env.int("CHARGE_MAX_LINES_PER_REQUEST", default=200)
CHARGE_MAX_QUANTITY = env.int("CHARGE_MAX_QUANTITY", default=10_000)
# Invoice numbers are gap-free per series and calendar year: HD26-0000001, HD26-0000002, …
INVOICE_SERIES = env.str("INVOICE_SERIES", default="HD")

# --- Payments ---------------------------------------------------------------------------
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = env.int("IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", default=90)
# How long a concurrent duplicate waits for the first request's answer before 409.
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=5.0)
# Stripe (cards). Empty key = card payments are refused with 503 provider_not_configured.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
# Several secrets may be active while one is rotated out.
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRETS", default=[])
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")  # tests point it at a local fake
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# Stripe.js, loaded only by the pay page that holds the card form (tests: a local stand-in),
# and the origins that page may then reach (Content-Security-Policy additions).
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
STRIPE_JS_ORIGINS = env.list(
    "STRIPE_JS_ORIGINS", default=["https://js.stripe.com", "https://*.js.stripe.com"]
)
STRIPE_API_ORIGINS = env.list("STRIPE_API_ORIGINS", default=["https://api.stripe.com"])
STRIPE_FRAME_ORIGINS = env.list(
    "STRIPE_FRAME_ORIGINS", default=["https://js.stripe.com", "https://hooks.stripe.com"]
)
# VietQR: the hospital's receiving account and how long a QR can be paid.
VIETQR_BANK_BIN = env.str("VIETQR_BANK_BIN", default="970436")  # Vietcombank
VIETQR_ACCOUNT = env.str("VIETQR_ACCOUNT", default="0011001234567")
VIETQR_BANK_NAME = env.str("VIETQR_BANK_NAME", default="Vietcombank")  # shown on the pay page
VIETQR_TTL_MINUTES = env.int("VIETQR_TTL_MINUTES", default=15)
# A phone card payment still pending after this is canceled (its reservation released).
CARD_PAYMENT_TTL_MINUTES = env.int("CARD_PAYMENT_TTL_MINUTES", default=60)
# A QR is marked expired only this long after its time: bank feeds report transfers late.
VIETQR_EXPIRY_GRACE_MINUTES = env.int("VIETQR_EXPIRY_GRACE_MINUTES", default=10)
# Bank-feed webhooks (Casso v2 signature key; SePay API key).
CASSO_CHECKSUM_KEY = env.str("CASSO_CHECKSUM_KEY", default="")
SEPAY_API_KEY = env.str("SEPAY_API_KEY", default="")
PAY_LINK_TTL_HOURS = env.int("PAY_LINK_TTL_HOURS", default=72)
# A link revoked because its invoice was paid still shows the bill and its receipts this long
# (never pays again); any other revocation ends it at once.
PAY_LINK_READ_AFTER_PAID_MINUTES = env.int("PAY_LINK_READ_AFTER_PAID_MINUTES", default=60)
# A kiosk pays, or makes a pay link, only for a patient it looked up this recently.
KIOSK_PAY_LINK_LOOKUP_MINUTES = env.int("KIOSK_PAY_LINK_LOOKUP_MINUTES", default=10)
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Refunds above this amount (VND) need a supervisor's approval.
# Cash tendered may exceed the amount by at most this (VND): fifty of the largest note.
CASH_TENDERED_MAX_OVER_AMOUNT = env.int("CASH_TENDERED_MAX_OVER_AMOUNT", default=500_000 * 50)
# A bank-feed line above this (VND) is not booked: it becomes a reconciliation item
# (amount_out_of_range) for a person. It stays far below what the ledger's columns hold.
BANK_TRANSFER_MAX_AMOUNT = env.int("BANK_TRANSFER_MAX_AMOUNT", default=10**12)
# The threshold holds for the payment's refunds in total: a refund that brings them above it
# waits for a supervisor, however it is split.
REFUND_APPROVAL_THRESHOLD = env.int("REFUND_APPROVAL_THRESHOLD", default=500_000)
# What one cashier may refund in a day (hospital's local date) without a supervisor, all
# payments together; 0 turns the per-cashier limit off.
REFUND_CASHIER_DAILY_LIMIT = env.int("REFUND_CASHIER_DAILY_LIMIT", default=2_000_000)
# Cashier desk: a drawer's close whose |counted - expected| is above this (VND) waits for
# a supervisor's approval; at or below it the session closes at once.
CASHIER_VARIANCE_APPROVAL_THRESHOLD = env.int("CASHIER_VARIANCE_APPROVAL_THRESHOLD", default=50_000)

# --- Payments housekeeping (Celery beat) ------------------------------------------------
# A stored webhook event that failed to apply is retried by beat until this many attempts,
# then parked for a person.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
# A card payment in flight this long without news is asked about at Stripe...
PAYMENT_SYNC_AFTER_MINUTES = env.int("PAYMENT_SYNC_AFTER_MINUTES", default=10)
# ...until it is this old (an abandoned card form is not asked about forever).
PAYMENT_SYNC_MAX_AGE_HOURS = env.int("PAYMENT_SYNC_MAX_AGE_HOURS", default=48)
# Task name -> seconds between runs. Each run expires before the next one is due, so a
# backlog never piles up while the workers are down.
_PAYMENTS_BEAT = {
    "payments.relay_outbox": 15,
    "payments.expire_qr_payments": 60,
    "payments.retry_webhook_events": 60,
    "payments.sync_stuck_payments": 300,
    "payments.resend_approved_refunds": 300,
    "payments.adjust_missing_refund_einvoices": 300,
    "payments.prune_idempotency_keys": 3600,
}
CELERY_BEAT_SCHEDULE.update(
    {
        task: {"task": task, "schedule": float(every), "options": {"expires": every * 0.95}}
        for task, every in _PAYMENTS_BEAT.items()
    }
)

# --- Settlement and reconciliation -------------------------------------------------------
# The hospital's bank accounts whose statements may be imported (the VietQR receiving
# account by default); a statement of any other account is refused.
RECONCILIATION_BANK_ACCOUNTS = env.list("RECONCILIATION_BANK_ACCOUNTS", default=[VIETQR_ACCOUNT])
# The words a Stripe payout carries on the bank statement (its statement descriptor).
STRIPE_PAYOUT_DESCRIPTOR = env.str("STRIPE_PAYOUT_DESCRIPTOR", default="STRIPE")
# Business days after its expected date before an item not on the statement is missing:
# a payout after its arrival date, a deposit after the day it was carried to the bank, a
# VietQR capture after its day.
RECONCILIATION_SLA_BUSINESS_DAYS = env.int("RECONCILIATION_SLA_BUSINESS_DAYS", default=3)
# The grace for money the hospital sends (a refund, a discharge leftover paid back by bank
# transfer): business days after the day it was paid out before its debit line not on the
# statement makes it missing.
RECONCILIATION_TRANSFER_OUT_GRACE_BUSINESS_DAYS = env.int(
    "RECONCILIATION_TRANSFER_OUT_GRACE_BUSINESS_DAYS", default=1
)
# Each matcher run looks for VietQR captures that succeeded since the previous run started,
# less this many hours (the time a capture's transaction may take to commit, and any clock
# difference between the app's servers); the first run looks at all of them.
RECONCILIATION_ENROL_LOOKBACK_HOURS = env.int("RECONCILIATION_ENROL_LOOKBACK_HOURS", default=24)
# Balance transactions asked of Stripe per page when a payout is settled (at most 100); each
# page is stored with the position reached, so a run that dies resumes after it.
STRIPE_SETTLEMENT_PAGE_SIZE = env.int("STRIPE_SETTLEMENT_PAGE_SIZE", default=100)
# A Stripe payout may reach the statement this many days before its arrival date.
RECONCILIATION_PAYOUT_EARLY_DAYS = env.int("RECONCILIATION_PAYOUT_EARLY_DAYS", default=1)
# Write-offs above this (VND) need a second person of finance.
RECONCILIATION_WRITE_OFF_APPROVAL_THRESHOLD = env.int(
    "RECONCILIATION_WRITE_OFF_APPROVAL_THRESHOLD", default=200_000
)
# The watched folder: statement files dropped in <folder>/<bank>/ are imported by beat,
# then moved to <folder>/done/ or <folder>/rejected/ (empty: no folder is watched).
STATEMENT_INBOX = env.str("STATEMENT_INBOX", default="")
CELERY_BEAT_SCHEDULE.update(
    {
        "payments.import_statement_inbox": {
            "task": "payments.import_statement_inbox",
            "schedule": 300.0,
            "options": {"expires": 285.0},
        },
        "payments.run_matcher": {
            "task": "payments.run_matcher",
            "schedule": 3600.0,
            "options": {"expires": 3420.0},
        },
        "payments.settle_stripe_payouts": {
            "task": "payments.settle_stripe_payouts",
            "schedule": 86400.0,
            "options": {"expires": 82080.0},
        },
    }
)

# --- Receipts and messages (notifications) ----------------------------------------------
# A payment receipt is proof of payment, not the tax invoice (that is the e-invoice issued
# through the provider, below). Form number and the 6-character symbol per series: one per
# channel for payments, one for advances, one for refunds; "{yy}" becomes the two digits of
# the issue year (K26TKA in 2026), so a symbol never has to be edited on 1 January. A symbol
# starts with K: C would claim a tax authority's code that a receipt never carries.
RECEIPT_FORM = env.str("RECEIPT_FORM", default="5")
RECEIPT_SERIES = env.dict(
    "RECEIPT_SERIES",
    default={
        "kiosk": "K{yy}TKA",
        "desk": "K{yy}TQA",
        "phone": "K{yy}TDA",
        "deposit": "K{yy}TUA",
        "refund": "K{yy}THA",
    },
)
# Where rendered receipt PDFs are stored: a key of STORAGES (FileSystemStorage under
# MEDIA_ROOT by default; point "receipts" at S3 or similar in production).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "receipts": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": f"{MEDIA_ROOT}/receipts"},
    },
}
# Patient messages: SMS backend ("console" logs a masked copy; "esms" is the eSMS.vn HTTP
# gateway) and e-mail through Django's EMAIL_BACKEND (console unless EMAIL_HOST is set).
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
SMS_GATEWAY_URL = env.str(
    "SMS_GATEWAY_URL",
    default="https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/",
)
SMS_API_KEY = env.str("SMS_API_KEY", default="")
SMS_SECRET_KEY = env.str("SMS_SECRET_KEY", default="")
SMS_BRAND_NAME = env.str("SMS_BRAND_NAME", default="")
SMS_TIMEOUT_SECONDS = env.float("SMS_TIMEOUT_SECONDS", default=10.0)
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=bool(EMAIL_HOST))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.locmem.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="vienphi <no-reply@localhost>")
# The order in which channels are tried for a message to a patient: it goes once, by the
# first channel that can carry it (the patient's recorded preference goes first); a Zalo
# message Zalo refuses for good falls back once to the next one. Receipts also send a copy
# by e-mail when the patient has an address (RECEIPT_EMAIL_COPY). Language "vi" or "en".
MESSAGE_CHANNELS = env.list("MESSAGE_CHANNELS", default=["zalo", "sms", "email"])
RECEIPT_EMAIL_COPY = env.bool("RECEIPT_EMAIL_COPY", default=True)
MESSAGE_LANGUAGE = env.str("MESSAGE_LANGUAGE", default="vi")
# Resends of one receipt (POST /receipts/{public_id}/resend, any channel): at most this many in
# this many minutes, then 429 resend_limit_reached with Retry-After.
RECEIPT_RESEND_LIMIT = env.int("RECEIPT_RESEND_LIMIT", default=3)
RECEIPT_RESEND_WINDOW_MINUTES = env.int("RECEIPT_RESEND_WINDOW_MINUTES", default=60)
# Zalo notifications (ZNS: approved templates sent to a phone through the hospital's Official
# Account; README "Zalo notifications"). Off unless ZALO_ENABLED; production then needs the
# app's credentials, the OA secret key (webhook signatures) and a token encryption key.
ZALO_ENABLED = env.bool("ZALO_ENABLED", default=False)
ZALO_APP_ID = env.str("ZALO_APP_ID", default="")
ZALO_APP_SECRET = env.str("ZALO_APP_SECRET", default="")
ZALO_OA_SECRET_KEY = env.str("ZALO_OA_SECRET_KEY", default="")
ZALO_API_BASE = env.str("ZALO_API_BASE", default="https://business.openapi.zalo.me")
ZALO_OAUTH_BASE = env.str("ZALO_OAUTH_BASE", default="https://oauth.zaloapp.com")
ZALO_TIMEOUT_SECONDS = env.float("ZALO_TIMEOUT_SECONDS", default=10.0)
# Fernet keys for the OA tokens at rest, newest first (older ones only decrypt: rotation).
# Empty: a key derived from SECRET_KEY (the embedded default; production refuses it).
ZALO_TOKEN_ENCRYPTION_KEYS = env.list("ZALO_TOKEN_ENCRYPTION_KEYS", default=[])
# Beat refreshes the access token when it has less than this left (it lives ~25 h).
ZALO_TOKEN_REFRESH_MARGIN_MINUTES = env.int("ZALO_TOKEN_REFRESH_MARGIN_MINUTES", default=120)
# Approved template id per message (pay_link, receipt, refund_receipt); a message without
# one is not sent by Zalo. Parameter names: ZALO_TEMPLATE_PARAMS (JSON, default: the sample
# templates of the README), {"receipt": {"receipt_code": "number:code", ...}}.
ZALO_TEMPLATE_IDS = env.dict("ZALO_TEMPLATE_IDS", default={})
ZALO_TEMPLATE_PARAMS = env.json("ZALO_TEMPLATE_PARAMS", default={})
# ZNS "development" mode: only the OA's and app's administrators receive (testing templates).
ZALO_DEVELOPMENT_MODE = env.bool("ZALO_DEVELOPMENT_MODE", default=False)
# Sending: attempts before a message is failed, the first retry delay (doubling each time),
# and its cap (never above a quarter of the broker's visibility timeout either, so a
# waiting retry is never redelivered early: config.tasks.backoff_seconds).
MESSAGE_MAX_ATTEMPTS = env.int("MESSAGE_MAX_ATTEMPTS", default=5)
MESSAGE_RETRY_BASE_SECONDS = env.float("MESSAGE_RETRY_BASE_SECONDS", default=30.0)
MESSAGE_RETRY_MAX_SECONDS = env.float("MESSAGE_RETRY_MAX_SECONDS", default=900.0)
# A message queued (or "sending") this long without news lost its task: beat sends it again.
MESSAGE_STALE_MINUTES = env.int("MESSAGE_STALE_MINUTES", default=10)
# A payment or refund that succeeded this long ago without a receipt lost its event's task
# (the broker died with its queue): beat issues the receipt, up to this many hours back.
RECEIPT_SWEEP_AFTER_MINUTES = env.int("RECEIPT_SWEEP_AFTER_MINUTES", default=5)
RECEIPT_SWEEP_MAX_AGE_HOURS = env.int("RECEIPT_SWEEP_MAX_AGE_HOURS", default=72)
# A receipt still without its PDF this long after issue lost its render task: beat renders it.
RECEIPT_PDF_STALE_MINUTES = env.int("RECEIPT_PDF_STALE_MINUTES", default=5)
CELERY_BEAT_SCHEDULE.update(
    {
        task: {"task": task, "schedule": float(every), "options": {"expires": every * 0.95}}
        for task, every in {
            "notifications.send_due_messages": 60,
            "notifications.issue_missing_receipts": 120,
            "notifications.render_missing_pdfs": 300,
            "notifications.refresh_zalo_token": 600,
        }.items()
    }
)

# --- E-invoices (billing) ---------------------------------------------------------------
# The legal document for an invoice's services is the e-invoice the hospital issues through
# its provider (README "E-invoices"). Empty: no e-invoices are issued (receipts still are).
EINVOICE_PROVIDER = env.str("EINVOICE_PROVIDER", default="")
# When the e-invoice goes out: "paid" (once the invoice is paid in full) or "issue" (when the
# invoice is issued, for hospitals that invoice before payment).
EINVOICE_ISSUE_AT = env.str("EINVOICE_ISSUE_AT", default="paid")
# Voiding an invoice whose e-invoice was issued: "adjust" issues an adjusting e-invoice that
# takes the whole amount back; "replace" waits for the visit's next invoice, whose e-invoice
# then replaces it (Decree 123/2020/ND-CP Art. 19 as amended by Decree 70/2025/ND-CP).
EINVOICE_VOID_CORRECTION = env.str("EINVOICE_VOID_CORRECTION", default="adjust")
# Prefix of the provider's transaction key (followed by our invoice id): unique per
# installation issuing under one tax code.
EINVOICE_TRANSACTION_PREFIX = env.str("EINVOICE_TRANSACTION_PREFIX", default="vienphi")
EINVOICE_TIMEOUT_SECONDS = env.float("EINVOICE_TIMEOUT_SECONDS", default=30.0)
# After a transient failure the first waiting e-invoice is tried again after this (doubling
# up to the maximum); the ones after it wait their turn.
EINVOICE_RETRY_BASE_SECONDS = env.float("EINVOICE_RETRY_BASE_SECONDS", default=60.0)
EINVOICE_RETRY_MAX_SECONDS = env.float("EINVOICE_RETRY_MAX_SECONDS", default=900.0)
# Where a buyer looks an e-invoice up with its lookup code (mã tra cứu): the provider's page.
EINVOICE_LOOKUP_URL = env.str(
    "EINVOICE_LOOKUP_URL", default="https://vinvoice.viettel.vn/utilities/invoice-search"
)
# Viettel S-Invoice: the partner web-service account, the registered template and series.
VIETTEL_SINVOICE_BASE_URL = env.str(
    "VIETTEL_SINVOICE_BASE_URL",
    default="https://api-vinvoice.viettel.vn/services/einvoiceapplication/api",
)
VIETTEL_SINVOICE_AUTH_URL = env.str(
    "VIETTEL_SINVOICE_AUTH_URL", default="https://api-vinvoice.viettel.vn/auth/login"
)
VIETTEL_SINVOICE_USERNAME = env.str("VIETTEL_SINVOICE_USERNAME", default="")
VIETTEL_SINVOICE_PASSWORD = env.str("VIETTEL_SINVOICE_PASSWORD", default="")
VIETTEL_SUPPLIER_TAX_CODE = env.str("VIETTEL_SUPPLIER_TAX_CODE", default="")  # HOSPITAL_TAX_CODE
# Form 2 (sales invoice): a public hospital's services. "{yy}": the year's two digits.
VIETTEL_INVOICE_TYPE = env.str("VIETTEL_INVOICE_TYPE", default="2")
VIETTEL_TEMPLATE_CODE = env.str("VIETTEL_TEMPLATE_CODE", default="2/001")
VIETTEL_INVOICE_SERIES = env.str("VIETTEL_INVOICE_SERIES", default="C{yy}TBV")
CELERY_BEAT_SCHEDULE.update(
    {
        task: {"task": task, "schedule": float(every), "options": {"expires": every * 0.95}}
        for task, every in {
            "billing.send_einvoices": 60,
            "billing.poll_einvoice_codes": 120,
        }.items()
    }
)
