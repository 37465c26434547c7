"""A worker keeps its database connection across tasks, as Django keeps one across
requests (config/celery.py): with ``CONN_MAX_AGE`` above 0 the tasks run in one server
process; a connection the server ended is found broken by the health check before the
next task's first query and replaced, so that task still succeeds. With ``CONN_MAX_AGE``
0 (the tests' own setting) each task connects anew, as Celery's default."""

from __future__ import annotations

import subprocess
import uuid

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.celery_worker import (  # noqa: F401 (fixtures)
    celery_worker,
    celery_worker_keeping_connections,
    wait_until,
)
from tests.task_probes import backend_pid_probe

pytestmark = pytest.mark.django_db(transaction=True)


def _pids(key: str, count: int) -> list[int]:
    store = redis.Redis.from_url(settings.REDIS_URL)
    run = backend_pid_probe.apply_async(kwargs={"key": key})
    assert run.id
    assert wait_until(lambda: store.llen(f"{key}:pids") >= count, timeout=60), "task not run"
    return [int(pid) for pid in store.lrange(f"{key}:pids", 0, -1)]


def test_a_worker_keeps_its_connection_and_replaces_one_the_server_ended(
    celery_worker_keeping_connections: subprocess.Popen[bytes],  # noqa: F811 (the fixture)
) -> None:
    key = f"pids-{uuid.uuid4().hex}"

    first = _pids(key, 1)[-1]
    second = _pids(key, 2)[-1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [second])
    third = _pids(key, 3)[-1]
    fourth = _pids(key, 4)[-1]

    assert first == second, "each task connected anew"
    assert third != second, "the ended connection was used"
    assert fourth == third


def test_with_conn_max_age_0_each_task_connects_anew(
    celery_worker: subprocess.Popen[bytes],  # noqa: F811 (the fixture)
) -> None:
    key = f"pids-{uuid.uuid4().hex}"

    _pids(key, 1)
    pids = _pids(key, 2)

    assert pids[0] != pids[1]
