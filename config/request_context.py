"""What the current request (or the task it caused) is: its id and the client's address.

``RequestContextMiddleware`` takes the id from ``X-Request-ID`` (or makes one), returns it
in the response, and keeps both values in context variables for the request's duration.
Log lines carry the id (``config.logging``), tasks sent during the request carry it in their
headers (``config.celery``) and the audit trail records both (``config.audit``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only when it looks like an id: it ends up in logs and headers.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

_request_id: ContextVar[str] = ContextVar("vienphi_request_id", default="")
_client_address: ContextVar[str | None] = ContextVar("vienphi_client_address", default=None)
_request: ContextVar[HttpRequest | None] = ContextVar("vienphi_request", default=None)


def current_request_id() -> str:
    return _request_id.get()


def current_client_address() -> str | None:
    return _client_address.get()


def current_caller() -> object | None:
    """Who made the current request, once authentication ran (DRF sets the Django request's
    ``user`` too): a staff user, a device, a pay-link holder or anonymous; None outside a
    request (a task, a command)."""
    request = _request.get()
    return getattr(request, "user", None) if request is not None else None


def new_request_id() -> str:
    return uuid.uuid4().hex


def acceptable_request_id(value: str | None) -> str | None:
    if value and _ACCEPTABLE_ID.match(value):
        return value
    return None


def client_address(request: HttpRequest) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or with ``NUM_PROXIES`` reverse proxies in front
    the address the outermost of ours saw in ``X-Forwarded-For`` (as DRF's throttling does)."""
    num_proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if num_proxies and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if addresses:
            return addresses[-min(num_proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR") or None


@contextmanager
def bound(*, request_id: str, address: str | None = None) -> Iterator[None]:
    """Binds a request id (and address) for the block: a request, or a task it caused."""
    id_token = _request_id.set(request_id)
    address_token = _client_address.set(address)
    try:
        yield
    finally:
        _request_id.reset(id_token)
        _client_address.reset(address_token)


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = acceptable_request_id(request.headers.get(REQUEST_ID_HEADER))
        request_id = request_id or new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _request.set(request)
        try:
            with bound(request_id=request_id, address=client_address(request)):
                response = self.get_response(request)
        finally:
            _request.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response
