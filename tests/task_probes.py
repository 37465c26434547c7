"""Tasks that exist only for the tests: a real worker loads them (``--include``) to show how
``ReliableTask`` counts, retries and parks deliveries. Each run is counted in Redis under
the key the test passes, so the test can see what the worker did."""

from __future__ import annotations

import os

import redis
from celery import shared_task
from django.conf import settings

from config.tasks import ReliableTask


def probe_runs(key: str) -> int:
    return int(redis.Redis.from_url(settings.REDIS_URL).get(f"{key}:runs") or 0)


def probe_done(key: str) -> bool:
    return bool(redis.Redis.from_url(settings.REDIS_URL).exists(f"{key}:done"))


@shared_task(name="tests.probe", base=ReliableTask, max_attempts=3, retry_base_seconds=0.2)
def probe(*, key: str, failures: int, failure: str, **_: object) -> None:
    """Fails its first ``failures`` runs the way ``failure`` says, then succeeds."""
    store = redis.Redis.from_url(settings.REDIS_URL)
    runs = store.incr(f"{key}:runs")
    if runs <= failures:
        if failure == "worker_dies":
            os._exit(1)  # the process running it is gone, as with an out-of-memory kill
        if failure == "transient":
            raise ConnectionError("the gateway did not answer")
        raise ValueError("this message can never succeed")
    store.set(f"{key}:done", runs)


@shared_task(name="tests.request_id_probe", base=ReliableTask)
def request_id_probe(*, key: str) -> None:
    """Stores the request id bound while it runs, and logs a line with personal data."""
    import logging

    from config.request_context import current_request_id

    logging.getLogger("tests.probe").info("task for Nguyễn Văn An, phone 0912345678")
    redis.Redis.from_url(settings.REDIS_URL).set(f"{key}:request_id", current_request_id())


@shared_task(name="tests.backend_pid_probe")
def backend_pid_probe(*, key: str) -> None:
    """Appends the PostgreSQL server process its query ran in (a plain task: no retry, so a
    broken connection would fail it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    redis.Redis.from_url(settings.REDIS_URL).rpush(f"{key}:pids", pid)
