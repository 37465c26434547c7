"""The receipts benchmark's own Celery tasks, loaded into its worker with ``--include``:
no-op tasks to measure what a drain costs with nothing to do. Not part of the app."""

from __future__ import annotations

import os

import redis
from celery import shared_task

from config.tasks import ReliableTask

COUNTER = "bench:noop:done"


def _count() -> None:
    redis.Redis.from_url(os.environ["REDIS_URL"]).incr(COUNTER)


@shared_task(name="bench.noop", ignore_result=True, acks_late=True)
def noop(index: int) -> None:
    """A plain Celery task (acknowledged late, as ours are) that only counts itself."""
    _count()


@shared_task(name="bench.noop_reliable", base=ReliableTask)
def noop_reliable(index: int) -> None:
    """The same, on the project's base class (its delivery bookkeeping included)."""
    _count()
