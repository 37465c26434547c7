"""One wire format for every error: ``{"error": {"code", "message", "param"?, "detail"?}}``.

The handler marks for rollback the transaction the request opened, if any, on every error
(DRF's own handler does that only for its own exceptions; see ``config.transactions``
for which transactions count), so nothing is half-written.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from config.errors import DomainError
from config.transactions import rollback_request_transactions


def error_body(code: str, message: str, param: str | None = None, detail: Any = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if param is not None:
        body["param"] = param
    if detail is not None:
        body["detail"] = detail
    return {"error": body}


def _first_field_error(detail: Any, path: str = "") -> tuple[str, Any]:
    """The path (``lines[0].account``) and the first ErrorDetail of a nested DRF error."""
    if isinstance(detail, dict):
        key, value = next(iter(detail.items()))
        if key == "non_field_errors":
            return _first_field_error(value, path)
        if isinstance(key, int):  # a list's errors may come keyed by the item's index
            return _first_field_error(value, f"{path}[{key}]")
        return _first_field_error(value, f"{path}.{key}" if path else str(key))
    if isinstance(detail, list) and detail:
        for index, item in enumerate(detail):
            if item:
                if isinstance(item, dict | list):
                    return _first_field_error(item, f"{path}[{index}]")
                return path, item
    return path, detail


_STATUS_CODES: dict[type[exceptions.APIException], tuple[str, str | None]] = {
    exceptions.ParseError: ("malformed_json", "The request body is not valid JSON."),
    exceptions.NotAuthenticated: ("authentication_required", None),
    exceptions.AuthenticationFailed: ("authentication_failed", None),
    exceptions.PermissionDenied: ("permission_denied", None),
    exceptions.NotFound: ("not_found", None),
    exceptions.MethodNotAllowed: ("method_not_allowed", None),
    exceptions.NotAcceptable: ("not_acceptable", None),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", None),
    exceptions.Throttled: ("rate_limited", None),
}


def _validation_error(exc: exceptions.ValidationError) -> tuple[str, str, str | None]:
    param, first = _first_field_error(exc.detail)
    error_code = getattr(first, "code", "invalid")
    code = "parameter_missing" if error_code in ("required", "null") else "parameter_invalid"
    message = str(first) if first else "Invalid request."
    if param:
        message = f"{param}: {message}"
    return code, message, param or None


# PostgreSQL's answers to a conflict between concurrent transactions: nothing of the request
# was kept, and the same request is expected to succeed when sent again.
TRANSIENT_SQLSTATES = {
    "40P01": "deadlock_detected",
    "40001": "serialization_failure",
    "55P03": "lock_not_available",
}


def _transient_database_error(exc: Exception) -> bool:
    cause = exc.__cause__
    return isinstance(exc, OperationalError) and (
        getattr(cause, "sqlstate", None) in TRANSIENT_SQLSTATES
    )


# PostgreSQL's connection exceptions (class 08) and its shutting a backend down (57P0x);
# psycopg's own client-side losses ("server closed the connection unexpectedly") carry none.
_CONNECTION_SQLSTATE_CLASSES = ("08", "57P01", "57P02", "57P03")


def _database_connection_lost(exc: Exception) -> bool:
    """The connection to PostgreSQL broke during the request (a restart, a terminated
    backend, a network cut), or could not be made: an error of the connection, not of the
    request. Told by the driver's error itself, not by the connection's state now: after a
    failed commit Django closes the connection, and the next query (the idempotency key's
    release) opens a new one."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    cause = exc.__cause__
    if isinstance(cause, psycopg.InterfaceError):
        return True
    if not isinstance(cause, psycopg.OperationalError):
        return False
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(_CONNECTION_SQLSTATE_CLASSES)


def _retry_later(code: str, message: str, seconds: int) -> Response:
    body = error_body(code, message, detail={"retry_after_seconds": seconds})
    return Response(body, status=503, headers={"Retry-After": str(seconds)})


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if _database_connection_lost(exc):
        # What the request did before is unknown (a commit may have been under way): the
        # answer says so. A retry with the same Idempotency-Key finds what was committed.
        return _retry_later(
            "database_unavailable",
            "The connection to the database was lost during the request; what it did is "
            "unknown. Send the same request again (with the same Idempotency-Key).",
            2,
        )
    if _transient_database_error(exc):
        rollback_request_transactions(context.get("request"))
        return _retry_later(
            "database_contention",
            "A concurrent change got in the way; nothing was saved. Send the same request "
            "again (with the same Idempotency-Key).",
            1,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, DomainError):
        rollback_request_transactions(context.get("request"))
        body = exc.as_body()
        if exc.retry_after_seconds is None:
            return Response(body, status=exc.status)
        body["error"].setdefault("detail", {"retry_after_seconds": exc.retry_after_seconds})
        return Response(
            body, status=exc.status, headers={"Retry-After": str(exc.retry_after_seconds)}
        )
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handler (config.urls.server_error) answers

    rollback_request_transactions(context.get("request"))
    headers: dict[str, str] = {}
    if isinstance(exc, exceptions.ValidationError):
        code, message, param = _validation_error(exc)
        body = error_body(code, message, param, detail=exc.detail)
    else:
        known_code, known_message = _STATUS_CODES.get(type(exc), (None, None))
        code = known_code or str(getattr(exc, "default_code", "error"))
        if isinstance(exc, exceptions.ParseError) and "JSON" not in str(exc.detail):
            code, known_message = "malformed_body", None
        body = error_body(code, known_message or str(exc.detail))
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(int(wait) + 1)
            body["error"]["detail"] = {"retry_after_seconds": int(wait) + 1}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    return Response(body, status=exc.status_code, headers=headers)


def route_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body("route_not_found", f"No route for {request.method} {request.path}."),
        status=404,
    )


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("internal_error", "Something went wrong on our side; nothing was saved."),
        status=500,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("bad_request", "The request is malformed."), status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("permission_denied", "Forbidden."), status=403)
