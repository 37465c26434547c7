"""Throttles whose rate follows the settings at request time, and what each does when its
store (the Redis cache) cannot be reached.

DRF copies ``DEFAULT_THROTTLE_RATES`` into a class attribute when it is imported, so a
changed setting (or a test's override) would be ignored.

A throttle counts in the cache, i.e. Redis in production. When Redis is down, DRF's
throttles raise the client library's error and the request ends in a 500. Every throttle of
ours says instead which way it fails:

* :class:`FailClosed` — endpoints that guard credentials or personal data (the staff login,
  the kiosk's patient lookup) refuse with ``503 service_unavailable`` and ``Retry-After``:
  never answered unthrottled, where a password or a citizen ID could be guessed at full speed.
* :class:`FailOpen` — endpoints where a missing count costs little and refusing costs a
  patient or a cashier their work: the request goes through, and a warning is logged.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.settings import api_settings

from config.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

# What the cache raises when its store cannot be reached (refused, timed out, reset).
STORE_ERRORS = (RedisError, OSError)


class RateFromSettings:
    scope: str

    def get_rate(self) -> str | None:
        return cast("str | None", api_settings.DEFAULT_THROTTLE_RATES[self.scope])


class FailClosed:
    """A throttle whose store is unreachable refuses the request with 503 and Retry-After."""

    scope: str

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return cast("bool", super().allow_request(request, view))  # type: ignore[misc]
        except STORE_ERRORS as exc:
            logger.error(
                "throttle %s: its store is unreachable (%s)", self.scope, type(exc).__name__
            )
            raise ServiceUnavailable(
                retry_after_seconds=settings.THROTTLE_STORE_DOWN_RETRY_AFTER_SECONDS
            ) from exc


class FailOpen:
    """A throttle whose store is unreachable lets the request through and logs a warning."""

    scope: str

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return cast("bool", super().allow_request(request, view))  # type: ignore[misc]
        except STORE_ERRORS as exc:
            logger.warning(
                "throttle %s: its store is unreachable (%s); request let through",
                self.scope,
                type(exc).__name__,
            )
            return True
