"""The language of a patient page: Vietnamese unless the patient chose English.

The API speaks English whatever the client's ``Accept-Language`` (its messages are for
developers), so there is no ``LocaleMiddleware``: each page view is wrapped in
``page_language``, which reads only the language cookie that Django's ``set_language``
view (``POST /i18n/setlang/``, a CSRF-protected form on every page) sets."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

View = Callable[..., HttpResponse]


def page_language_of(request: HttpRequest) -> str:
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    known = {code for code, _ in settings.LANGUAGES}
    return chosen if chosen in known else settings.PAGE_LANGUAGE_CODE


def page_language(view: View) -> View:
    """Render ``view`` in the patient's language; the answer says which
    (``Content-Language``) and that it depends on the cookie (``Vary: Cookie``)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = page_language_of(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        response.headers["Content-Language"] = language
        patch_vary_headers(response, ["Cookie"])
        return response

    return wrapped
