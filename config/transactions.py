"""Which transactions an error answer rolls back: the ones the request itself opened.

Services own their transactions (``ATOMIC_REQUESTS = False``), so most requests open none,
and a service that fails has already rolled its own back as the exception left its
``atomic`` block. A request can still run inside a transaction it opened —
``ATOMIC_REQUESTS`` on a database, or a view whose ``dispatch`` is atomic — and there the
error handler, which turns the exception into an ordinary response, must mark it for
rollback or it would commit. A transaction the request merely runs *inside* (a caller's
``atomic``, a test case) is not the request's to roll back: marking it would break every
query its owner makes afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.http import HttpRequest
from django.http.response import HttpResponseBase

_DEPTH_ON_ARRIVAL = "_vienphi_atomic_depth_on_arrival"


class AtomicDepthMiddleware:
    """Notes how deep each open database connection is in ``atomic`` blocks on arrival."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        depth = {
            conn.alias: len(conn.atomic_blocks) for conn in connections.all(initialized_only=True)
        }
        setattr(request, _DEPTH_ON_ARRIVAL, depth)
        return self.get_response(request)


def rollback_request_transactions(request: Any) -> None:
    """Mark for rollback every ``atomic`` block opened since the request arrived.

    Without the middleware's note (a view called directly), fall back to DRF's rule: roll
    back when the database wraps requests in a transaction (``ATOMIC_REQUESTS``).
    """
    depth_on_arrival: dict[str, int] | None = getattr(request, _DEPTH_ON_ARRIVAL, None)
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            continue
        if depth_on_arrival is None:
            opened_by_request = bool(conn.settings_dict["ATOMIC_REQUESTS"])
        else:
            opened_by_request = len(conn.atomic_blocks) > depth_on_arrival.get(conn.alias, 0)
        if opened_by_request:
            conn.set_rollback(True)
