"""Every receipt arrives even when the broker loses its queue: the outbox counts an event as
published once Redis has it, so a Redis without persistence that dies between the relay and
the worker loses the receipt tasks. Beat's sweep (``notifications.issue_missing_receipts``)
finds the payments and refunds that succeeded a while ago without a receipt and issues them
through the same idempotent services."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app
from notifications.models import Receipt, ReceiptKind
from notifications.tasks import issue_missing_receipts
from payments.models import OutboxEvent, Payment
from tests.celery_worker import wait_until
from tests.notifications.builders import refunded
from tests.payments.builders.desk import paid_in_cash
from tests.payments.builders.payments import payable_invoice
from tests.redis_server import own_redis

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def redis_on(port: int) -> subprocess.Popen[bytes]:
    """A fresh, empty redis-server on ``port`` (the one that died, restarted)."""
    binary = shutil.which("redis-server")
    assert binary is not None
    process = subprocess.Popen(  # noqa: S603 - the system's redis-server, our arguments
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    assert wait_until(lambda: _pings(client), timeout=10), "redis-server did not restart"
    return process


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def env_with(broker_url: str) -> dict[str, str]:
    """A process of the application on this test's database, with ``broker_url`` as its
    broker, publishing to this test process's queue."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "REDIS_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "RECEIPT_SWEEP_AFTER_MINUTES": "0",
    }


@pytest.fixture
def tasks_through_a_broker() -> Iterator[None]:
    """Events are relayed to a broker (as in production), not run in this process."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = previous
        app.control.purge()


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own celery app
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"),
            *("--queues", settings.CELERY_TASK_DEFAULT_QUEUE, "--without-gossip"),
            *("--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.usefixtures("tasks_through_a_broker")
def test_every_receipt_arrives_when_the_broker_dies_between_the_relay_and_the_worker() -> None:
    with own_redis() as broker:
        payments = [
            paid_in_cash(amount=100_000, invoice=payable_invoice(100_000)) for _ in range(3)
        ]
        refund = refunded(payments[0], 40_000)  # a bank-transfer refund, paid out

        # The relay (a web process, say) hands the four events' tasks to the broker...
        relay = subprocess.run(  # noqa: S603 - our own manage.py
            [
                *(sys.executable, "manage.py", "shell", "-c"),
                "from payments.outbox import outbox_relay; print(outbox_relay())",
            ],
            cwd=ROOT,
            env=env_with(broker.url),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert relay.returncode == 0, relay.stderr
        assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
        queued = redis.Redis(port=broker.port).llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        # Four events; the refund's has two subscribers (its receipt, its e-invoice).
        assert queued == 5
        # ...and the broker dies without persistence before any worker took them.
        broker.stop()
        restarted = redis_on(broker.port)
        try:
            assert redis.Redis(port=broker.port).llen(settings.CELERY_TASK_DEFAULT_QUEUE) == 0
            worker = start_worker(env_with(broker.url))
            try:
                # Beat's sweep, sent as beat sends it.
                sweep = subprocess.run(  # noqa: S603 - our own celery app
                    [
                        *(sys.executable, "-m", "celery", "-A", "config", "call"),
                        *("notifications.issue_missing_receipts", "--queue"),
                        settings.CELERY_TASK_DEFAULT_QUEUE,
                    ],
                    cwd=ROOT,
                    env=env_with(broker.url),
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert sweep.returncode == 0, sweep.stderr
                arrived = wait_until(lambda: Receipt.objects.count() == 4, timeout=180)
            finally:
                worker.terminate()
                worker.wait(timeout=30)
        finally:
            restarted.kill()
            restarted.wait(timeout=10)
            connection.close()

    assert arrived, list(Receipt.objects.values_list("kind", flat=True))
    for payment in payments:
        assert Receipt.objects.filter(payment=payment, refund__isnull=True).count() == 1
    assert Receipt.objects.get(refund=refund).kind == ReceiptKind.REFUND


@pytest.mark.usefixtures("tasks_through_a_broker")  # no worker: the events wait
def test_the_sweep_leaves_recent_payments_and_receipts_already_issued_alone(settings) -> None:
    settings.RECEIPT_SWEEP_AFTER_MINUTES = 5
    recent = paid_in_cash(amount=100_000, invoice=payable_invoice(100_000))
    older = paid_in_cash(amount=100_000, invoice=payable_invoice(100_000))
    ten_minutes_ago = timezone.now() - timedelta(minutes=10)
    Payment.objects.filter(pk=older.pk).update(succeeded_at=ten_minutes_ago)
    assert not Receipt.objects.exists()

    assert issue_missing_receipts() == 1
    assert issue_missing_receipts() == 0  # issued once, however often beat runs

    assert Receipt.objects.filter(payment=older).count() == 1
    assert not Receipt.objects.filter(payment=recent).exists()
