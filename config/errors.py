"""The one error hierarchy of vienphi (after Zulip's JsonableError and Stripe's error body).

Every failure a client can cause is a subclass of :class:`DomainError` with a stable
machine-readable ``code`` and an HTTP status. The frame renders it
(``config.error_responses``) as ``{"error": {"code", "message", "param"?, "detail"?}}`` and
rolls the request's transaction back.

The generic classes live here; each app keeps its own in one module (``billing.errors``,
``payments.errors``, ``notifications.errors``). A code names one failure: two classes share
a code only when one is a subclass of the other with the same status
(``tests/config/test_error_codes.py`` checks it, and that the README lists every code).
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid_request"
    default_message: ClassVar[str] = "The request could not be processed."
    # When set, the answer carries `Retry-After` (and detail.retry_after_seconds).
    retry_after_seconds: int | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        detail: Any = None,
    ) -> None:
        self.message = message or self.default_message
        self.param = param
        self.detail = detail
        super().__init__(self.message)

    def as_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.param is not None:
            body["param"] = self.param
        if self.detail is not None:
            body["detail"] = self.detail
        return {"error": body}


class InvalidRequest(DomainError):
    code = "invalid_request"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = "No such object."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


# --- The frame's own ---------------------------------------------------------------------


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"
    default_message = "Username or password is wrong, or the account is disabled."


class ServiceUnavailable(DomainError):
    """A store the request cannot safely go without is unreachable (the throttles' Redis in
    front of the login and the kiosk lookup): refused, never let through unguarded."""

    status = 503
    code = "service_unavailable"
    default_message = "This service is briefly unavailable; nothing was done. Try again shortly."

    def __init__(self, message: str | None = None, *, retry_after_seconds: int = 30) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
