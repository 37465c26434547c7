"""Records the audited API operations (``config.audit.routes``) that their services do not
record themselves, once each, with who called (the authenticated staff user or device, else
the public), the client's address, the request id, the target (the URL's id, or the id of
what was created), the cashier terminal when the answer names one, and the outcome:
``success`` for 2xx, ``refused`` for 4xx (the error code in the detail), ``failed`` for 5xx.
A replayed answer (``Idempotent-Replayed``) is not recorded again: the first one was.

The operations that move money or approve (``RECORDED_BY_SERVICES``) are recorded by their
services in the change's own transaction; here only their refusals and failures that left
no committed audit row (the transaction rolled back) — never a second row for a change, and
a crash after the service's commit cannot lose its row.

It runs after the operation's own transaction ended, in a transaction of its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from config.audit.models import AuditCategory, AuditOutcome
from config.audit.routes import AUDITED_ROUTES, DETAIL_FIELDS, RECORDED_BY_SERVICES
from config.audit.services import audit_record, recording

logger = logging.getLogger(__name__)

_SAFE = {"GET", "HEAD", "OPTIONS"}
_TARGET_KWARGS = ("public_id", "pk", "code")


def _answer(response: HttpResponse) -> dict[str, Any]:
    if not response.get("Content-Type", "").startswith("application/json"):
        return {}
    try:
        body = json.loads(response.content)
    except (ValueError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _outcome(status: int) -> str:
    if status >= 500:
        return AuditOutcome.FAILED
    if status >= 400:
        return AuditOutcome.REFUSED
    return AuditOutcome.SUCCESS


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with recording() as committed:
            response = self.get_response(request)
        match = request.resolver_match
        route = AUDITED_ROUTES.get(match.url_name or "") if match else None
        if route is None or match is None:
            return response
        action, category = route
        if request.method in _SAFE and category != AuditCategory.PERSONAL_DATA:
            return response
        if request.method in {"HEAD", "OPTIONS"} or response.get("Idempotent-Replayed"):
            return response
        if match.url_name in RECORDED_BY_SERVICES and (response.status_code < 400 or committed):
            # Its service recorded what changed, in the change's transaction (or nothing
            # changed: a duplicate delivery, a request resumed after a crash).
            return response
        try:
            self._record(request, response, action, category, match.kwargs)
        except Exception:  # the answer is already decided; a person must see this
            logger.exception("audit row not recorded for %s", action)
        return response

    def _record(
        self,
        request: HttpRequest,
        response: HttpResponse,
        action: str,
        category: str,
        kwargs: dict[str, Any],
    ) -> None:
        answer = _answer(response) if not response.streaming else {}
        target_id = next((str(kwargs[k]) for k in _TARGET_KWARGS if k in kwargs), "")
        if not target_id and response.status_code < 300:
            target_id = str(answer.get("id", ""))[:64]
        detail: dict[str, Any] = {
            "method": request.method,
            "status": response.status_code,
        }
        for field in DETAIL_FIELDS:
            value = answer.get(field)
            if isinstance(value, str | int) and not isinstance(value, bool):
                detail[f"answer_{field}"] = value
        error = answer.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            detail["error_code"] = error["code"]
        terminal = answer.get("terminal")
        audit_record(
            action=action,
            category=category,
            actor=getattr(request, "user", None) or _Anonymous(),
            outcome=_outcome(response.status_code),
            target_type=action.split(".", 1)[0],
            target_id=target_id,
            terminal=terminal if isinstance(terminal, str) else "",
            detail=detail,
        )


class _Anonymous:
    is_authenticated = False
