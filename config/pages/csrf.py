"""CSRF protection for the forms of pages that send no referrer.

A patient page carries its credential in its URL (the pay link's token), so it answers with
``Referrer-Policy: no-referrer``. Browsers then send ``Origin: null`` with the page's own
form posts (the Fetch standard serialises the origin as null under that policy), which
Django's CSRF check refuses as a foreign origin. ``page_csrf_protect`` is Django's check
with one difference: ``Origin: null`` passes the origin step. The CSRF token (cookie and
form field) is still required and compared exactly as Django compares it, and any real
origin other than ours is still refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.csrf import csrf_exempt


class NoReferrerPageCsrf(CsrfViewMiddleware):
    def _origin_verified(self, request: HttpRequest) -> bool:
        if request.META.get("HTTP_ORIGIN") == "null":
            return True
        return bool(super()._origin_verified(request))  # type: ignore[misc]


_protect = decorator_from_middleware(NoReferrerPageCsrf)


def page_csrf_protect(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view's POSTs need the CSRF token (checked here rather than by the global
    middleware, which would refuse the page's ``Origin: null``)."""
    return cast(Callable[..., HttpResponse], csrf_exempt(cast(Any, _protect(view))))
