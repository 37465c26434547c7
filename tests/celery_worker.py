"""A real Celery worker for integration tests: a separate process on the Redis broker,
consuming this test process's own queue, working on this test process's database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """Starts ``celery worker`` (solo pool) against the test database and this process's
    queue, and switches tasks from in-process to the broker for the test."""
    yield from _worker_running(pool="solo")


@pytest.fixture
def celery_worker_keeping_connections(
    transactional_db: None,
) -> Iterator[subprocess.Popen[bytes]]:
    """The solo worker with production's persistent connections (``CONN_MAX_AGE`` 60)."""
    yield from _worker_running(pool="solo", extra_env={"TEST_CONN_MAX_AGE": "60"})


@pytest.fixture
def celery_prefork_worker(transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """The same with one prefork child: a child that dies is replaced, and its message
    rejected back to the queue (``reject_on_worker_lost``), as in production."""
    yield from _worker_running(pool="prefork")


def _worker_running(
    *, pool: str, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    name = connection.settings_dict["NAME"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        **(extra_env or {}),
    }
    app.control.purge()  # this process's queue: nothing left over from an earlier run
    worker = subprocess.Popen(  # noqa: S603 - our own celery app
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            "1",
            "--include",
            "tests.task_probes",
            "--queues",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield worker
    finally:
        app.conf.task_always_eager = previous
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        connection.close()  # the worker's connection goes with it; flush may proceed


def wait_until(condition: Callable[[], bool], *, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()
