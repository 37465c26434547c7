"""Running work truly at once against PostgreSQL, for the concurrency tests."""

from __future__ import annotations

import threading
import time
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


def wait_for_a_lock_wait(who: str, *, seconds: float = 15) -> None:
    """Until a backend of the test database waits for a lock (``who`` names it in the
    failure): the point of a test where a second transaction is held on the first's row."""
    for _ in range(int(seconds / 0.05)):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError(f"{who} never waited for a lock")
