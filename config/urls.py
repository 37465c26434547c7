from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView

from config.api.views import (
    ApiDocsView,
    AuthTokenCreateApi,
    AuthTokenRevokeApi,
    HealthApi,
    ReadyApi,
)
from config.metrics import metrics_view
from config.pages.csrf import page_csrf_protect

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token", AuthTokenCreateApi.as_view(), name="auth-token"),
    path("auth/token/revoke", AuthTokenRevokeApi.as_view(), name="auth-token-revoke"),
    path("", include("config.audit.urls")),
    path("", include("billing.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("notifications.api.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    # Called by payment providers, signed by them: no user authentication, no CSRF.
    path("webhooks/", include("payments.api.webhook_urls")),
    path("webhooks/", include("notifications.api.webhook_urls")),
    # Public receipt verification (the QR code on every receipt).
    path("", include("notifications.api.public_urls")),
    # The pay page a pay link opens, and the language switch of patient pages.
    path("", include("phone.urls")),
    path("i18n/setlang/", page_csrf_protect(set_language), name="set_language"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="docs"),
    path("healthz", HealthApi.as_view(), name="healthz"),
    path("readyz", ReadyApi.as_view(), name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    # The reference web clients: static pages that use the public API above.
    path("", include("config.clients.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "config.error_responses.bad_request"
handler403 = "config.error_responses.permission_denied"
handler404 = "config.error_responses.route_not_found"
# Patient pages get a translated page, the API its JSON (config.pages.errors).
handler500 = "config.pages.errors.page_server_error"
