"""Running work truly at once against PostgreSQL, for the concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_at_once(count: int, work: Callable[[int], Any], *, timeout: float = 60) -> list[Any]:
    """``work(0) … work(count - 1)`` in threads released together by a barrier; returns each
    result (or the exception raised), in order. Every thread closes its own DB connection."""
    start = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            start.wait(timeout=timeout)
            outcomes[index] = work(index)
        except Exception as error:  # the outcome, error or not, is what the test inspects
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker never finished"
    return outcomes
