"""Heartbeats of the Celery worker and beat, read by ``/readyz``.

The worker's main process writes its beat every ``WORKER_HEARTBEAT_SECONDS`` from a daemon
thread started when the worker is ready (a worker killed with ``kill -9`` stops beating);
beat writes one each time its scheduler ticks. Both go to the cache (Redis in production)
under the installation's queue name, so two installations sharing a Redis never read each
other's heartbeats.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

WORKER = "worker"
BEAT = "beat"


def _key(kind: str) -> str:
    return f"heartbeat:{kind}:{settings.CELERY_TASK_DEFAULT_QUEUE}"


def heartbeat_record(kind: str) -> None:
    """Records that ``kind`` is alive now. Never raises: a heartbeat lost to a Redis outage
    shows as an old heartbeat, which is the truth."""
    try:
        cache.set(_key(kind), time.time(), timeout=24 * 3600)
    except Exception as exc:  # the broker's Redis being down must not stop the process
        logger.warning("heartbeat of %s not recorded: %s", kind, type(exc).__name__)


def heartbeat_age(kind: str) -> float | None:
    """Seconds since ``kind`` last beat, or None when it never did (or the cache is down)."""
    try:
        seen = cache.get(_key(kind))
    except Exception:
        return None
    return None if seen is None else max(time.time() - float(seen), 0.0)


def worker_heartbeat_start(**_: Any) -> None:
    """Connected to ``celery.signals.worker_ready``."""

    def beat() -> None:
        while True:
            heartbeat_record(WORKER)
            time.sleep(settings.WORKER_HEARTBEAT_SECONDS)

    threading.Thread(target=beat, name="vienphi-heartbeat", daemon=True).start()
