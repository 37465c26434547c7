"""Query parameters of the API given with no value (``?status=``, ``?to=``) are refused.

Django-filter and DRF read an empty value as "not given", so ``?status=`` would list every
status and ``?to=`` would export up to today: a client that meant a value gets an answer to
another question. Under ``/api/`` an empty query parameter is ``400 parameter_invalid``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from config.error_responses import error_body

API_PREFIX = "/api/v"


class EmptyQueryParameterMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            for name, values in request.GET.lists():
                if any(value == "" for value in values):
                    return JsonResponse(
                        error_body("parameter_invalid", f"{name}: may not be empty.", param=name),
                        status=400,
                    )
        return self.get_response(request)
