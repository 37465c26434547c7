"""A fixed-window rate limit for patient pages, per client address and scope, in the cache
(Redis in production, shared by every worker).

When the cache cannot be reached the limit fails open (the request goes through, a warning
is logged): a page is reached only with a pay link's 256-bit token, which no rate of guessing
finds, while refusing would stop a patient paying their bill."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from config.api.throttling import STORE_ERRORS

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str:
    """The client's address: the one ``NUM_PROXIES`` trusted proxies saw, as DRF reads it."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        return hops[-min(int(proxies), len(hops))]
    return str(request.META.get("REMOTE_ADDR", ""))


def _rate(scope: str) -> tuple[int, int]:
    count, _, period = settings.PAGE_THROTTLE_RATES[scope].partition("/")
    seconds = {"s": 1, "sec": 1, "min": 60, "m": 60, "hour": 3600, "h": 3600}[period]
    return int(count), seconds


def page_throttled(request: HttpRequest, *, scope: str) -> int | None:
    """Count this request; ``None`` while under ``PAGE_THROTTLE_RATES[scope]``, else the
    seconds until the window ends (the ``Retry-After`` to send)."""
    limit, period = _rate(scope)
    window = int(time.time()) // period
    key = f"page-throttle:{scope}:{client_address(request)}:{window}"
    try:
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr: this request opens the window
            cache.set(key, 1, timeout=period + 1)
            count = 1
    except STORE_ERRORS as exc:
        logger.warning(
            "page throttle %s: its store is unreachable (%s); request let through",
            scope,
            type(exc).__name__,
        )
        return None
    if count <= limit:
        return None
    return period - int(time.time()) % period
