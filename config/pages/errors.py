"""The answers of the frame's error handlers on patient pages.

A patient page (the pay page ``/p/…``, the public receipt ``/r/…``, the language switch
``/i18n/…``) is opened by a person in a phone's browser, so a refused form (CSRF) or an
error on our side is answered with a page in the patient's language, in the pages' look,
never with the API's JSON or a stack trace. Every other path keeps the frame's answer
(the API's JSON error, Django's own page for the admin)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.views.csrf import csrf_failure as django_csrf_failure

from config.error_responses import permission_denied, server_error
from config.pages.language import page_language_of

logger = logging.getLogger(__name__)

PAGE_PATH_PREFIXES = ("/p/", "/r/", "/R/", "/i18n/")
API_PATH_PREFIXES = ("/api/", "/webhooks/")

# What a browser gets when even the error page cannot be rendered: both languages, no markup
# that could depend on anything but this text.
_LAST_RESORT = (
    "Đã có lỗi ở phía chúng tôi. Vui lòng thử lại sau ít phút.\n"
    "Something went wrong on our side. Please try again in a few minutes.\n"
)


def is_page_path(path: str) -> bool:
    return path.startswith(PAGE_PATH_PREFIXES)


def error_page(request: HttpRequest, kind: str, *, status: int) -> HttpResponse:
    """``pages/error.html`` for ``kind`` (``csrf`` or ``server_error``) in the patient's
    language, private like every patient page."""
    language = page_language_of(request)
    try:
        with translation.override(language):
            response = render(request, "pages/error.html", {"kind": kind}, status=status)
    except Exception:
        logger.exception("page_error_render_failed", extra={"kind": kind})
        response = HttpResponse(_LAST_RESORT, status=status, content_type="text/plain")
    response.headers["Content-Language"] = language
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    patch_vary_headers(response, ["Cookie"])
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a refused form post (expired or missing token, foreign origin).
    A patient page gets a page saying the form must be sent again; the API and webhooks get
    the API's ``permission_denied``; anything else (the admin) Django's own page."""
    if is_page_path(request.path):
        return error_page(request, "csrf", status=403)
    if request.path.startswith(API_PATH_PREFIXES):
        return permission_denied(request)
    return django_csrf_failure(request, reason=reason)


def page_server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a page for patient pages, the API's ``internal_error`` elsewhere."""
    if is_page_path(request.path):
        return error_page(request, "server_error", status=500)
    return server_error(request)
