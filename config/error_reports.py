"""Sentry, through its SDK, when ``SENTRY_DSN`` is set — with personal data off.

``data_collection`` keeps out users, client addresses, request bodies, local variables
and task arguments; and ``before_send`` runs
every string of the event (message, exception values, URL, breadcrumbs, local variables)
through the log scrubber (``config.logs.scrub_value``), which also blanks any field named
like personal data or a credential. Pay-link URLs lose their token.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from config.logs import scrub_value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event with every string scrubbed; request headers reduced to harmless ones."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        headers = request.get("headers") or {}
        request["headers"] = {
            name: value
            for name, value in headers.items()
            if name.lower() in {"content-type", "user-agent", "x-request-id", "host"}
        }
    sdk = event.pop("sdk", None)
    scrubbed: dict[str, Any] = scrub_value(event)
    if sdk is not None:
        scrubbed["sdk"] = sdk
    return scrubbed


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        # Personal data off: no user, cookies, request bodies, local variables or task
        # arguments are collected.
        data_collection={
            "user_info": False,
            "http_bodies": [],
            "stack_frame_variables": False,
            "database_query_data": False,
            "queues": False,
        },
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,  # type: ignore[arg-type]
        before_send_transaction=scrub_event,  # type: ignore[arg-type]
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(),
            LoggingIntegration(),
        ],
    )
