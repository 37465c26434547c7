"""A conflict between concurrent transactions (a deadlock PostgreSQL broke) is not a 500: the
client is told nothing was saved and to send the same request again. Nor is a connection to
PostgreSQL lost during the request (its backend terminated, as the load bench's fault does):
503 ``database_unavailable``, the outcome unknown, send it again."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import OperationalError, connection, transaction

from billing.chart import BANK, MAIN_CASH
from config.error_responses import exception_handler
from tests.concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def _real_deadlock() -> OperationalError:
    """Two transactions taking two rows in opposite order: PostgreSQL aborts one of them."""
    both_hold_one = threading.Barrier(2)
    orders = [(MAIN_CASH, BANK), (BANK, MAIN_CASH)]

    def take(index: int) -> None:
        first, second = orders[index]
        with transaction.atomic(), connection.cursor() as cursor:
            lock = "SELECT id FROM billing_account WHERE code = %s FOR UPDATE"
            cursor.execute(lock, [first])
            both_hold_one.wait(timeout=10)
            cursor.execute(lock, [second])

    outcomes = run_at_once(2, take, timeout=30)
    caught = [outcome for outcome in outcomes if isinstance(outcome, OperationalError)]
    assert len(caught) == 1, outcomes
    return caught[0]


def test_a_deadlock_answers_503_database_contention_with_retry_after() -> None:
    deadlock = _real_deadlock()

    response = exception_handler(deadlock, {})

    assert response is not None
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.data["error"]["code"] == "database_contention"


def test_other_database_errors_stay_server_errors() -> None:
    assert exception_handler(OperationalError("the server closed the connection"), {}) is None


def test_a_connection_lost_during_the_request_answers_503_database_unavailable() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    try:
        with pytest.raises(OperationalError) as lost, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM billing_account")
        # As after a failed commit: Django closes the connection, and the idempotency key's
        # release opens a new one before the answer is made.
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

        response = exception_handler(lost.value, {})
    finally:
        connection.close()

    assert response is not None
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.data["error"]["code"] == "database_unavailable"
