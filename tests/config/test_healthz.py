"""/healthz (liveness: the process answers) and /readyz (readiness: database with its
migrations, broker, a worker's heartbeat and beat's), for orchestrators and monitoring."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from config.heartbeats import BEAT, WORKER, _key, heartbeat_record
from tests.assertions import assert_error
from tests.celery_worker import celery_worker  # noqa: F401 (fixture)

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def fresh_heartbeats() -> None:
    heartbeat_record(WORKER)
    heartbeat_record(BEAT)


def test_healthz_answers_while_the_process_does_and_touches_nothing(
    db: None, anon_client: APIClient, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.REDIS_URL = UNREACHABLE_REDIS

    with django_assert_num_queries(0):
        response = anon_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_200_when_everything_is_up(
    db: None, anon_client: APIClient, fresh_heartbeats: None
) -> None:
    response = anon_client.get("/readyz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["database"] == {"ok": True, "info": "postgresql"}
    assert body["migrations"] == {"ok": True, "info": "applied"}
    assert body["broker"] == {"ok": True, "info": "redis"}
    assert body["worker"]["ok"]
    assert body["beat"]["ok"]


def test_readyz_answers_503_quickly_when_the_broker_is_unreachable(
    db: None, anon_client: APIClient, settings: Any, fresh_heartbeats: None
) -> None:
    settings.REDIS_URL = UNREACHABLE_REDIS
    started = time.monotonic()

    response = anon_client.get("/readyz")

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == {"ok": True, "info": "postgresql"}
    assert body["broker"] == {"ok": False, "info": "OperationalError"}


def test_readyz_recovers_when_the_broker_comes_back(
    db: None, anon_client: APIClient, settings: Any, fresh_heartbeats: None
) -> None:
    reachable = settings.REDIS_URL
    settings.REDIS_URL = UNREACHABLE_REDIS
    down = anon_client.get("/readyz")
    settings.REDIS_URL = reachable

    up = anon_client.get("/readyz")

    assert (down.status_code, up.status_code) == (503, 200)


def test_readyz_is_not_ready_without_a_recent_worker_heartbeat(
    db: None, anon_client: APIClient, settings: Any
) -> None:
    heartbeat_record(BEAT)
    cache.delete(_key(WORKER))
    never = anon_client.get("/readyz")
    cache.set(_key(WORKER), time.time() - settings.READY_WORKER_MAX_AGE_SECONDS - 5)
    stale = anon_client.get("/readyz")

    assert (never.status_code, stale.status_code) == (503, 503)
    assert never.json()["worker"] == {"ok": False, "info": "never seen"}
    assert stale.json()["worker"]["ok"] is False
    assert stale.json()["beat"]["ok"] is True


def test_readyz_is_not_ready_when_beat_stopped_ticking(
    db: None, anon_client: APIClient, settings: Any
) -> None:
    heartbeat_record(WORKER)
    cache.set(_key(BEAT), time.time() - settings.READY_BEAT_MAX_AGE_SECONDS - 5)

    response = anon_client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["beat"]["ok"] is False


def test_readyz_reports_in_process_tasks_without_a_broker(
    db: None, anon_client: APIClient, settings: Any
) -> None:
    settings.REDIS_URL = ""

    response = anon_client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["broker"] == body["worker"] == body["beat"]
    assert body["worker"] == {"ok": True, "info": "in-process (embedded default)"}


def test_readyz_holds_no_secrets(db: None, anon_client: APIClient, settings: Any) -> None:
    text = anon_client.get("/readyz").content.decode()

    assert settings.REDIS_URL not in text
    assert "postgres://" not in text
    assert "6379" not in text


def test_a_real_worker_and_beat_beat(
    celery_worker: subprocess.Popen[bytes],  # noqa: F811 (the fixture)
    settings: Any,
    tmp_path: Path,
) -> None:
    """The worker's heartbeat thread and beat's scheduler write what /readyz reads."""
    cache.delete(_key(WORKER))
    cache.delete(_key(BEAT))
    beat = subprocess.Popen(  # noqa: S603 - our own celery app
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--schedule",
            str(tmp_path / "beat-schedule"),
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=_beat_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90  # two processes starting on a busy machine
        client = APIClient()
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = client.get("/readyz").json()
            if body["worker"]["ok"] and body["beat"]["ok"]:
                break
            time.sleep(0.5)
        assert body["worker"]["ok"], body
        assert body["beat"]["ok"], body
    finally:
        beat.terminate()
        try:
            beat.wait(timeout=60)  # a loaded machine has seen beat take over 10 s to exit
        except subprocess.TimeoutExpired:
            beat.kill()
            beat.wait()
            raise


def _beat_env(settings: Any) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        # Beat only sends; nothing it sends may run against another test's database.
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }


def test_healthz_needs_no_credentials_and_ignores_stale_ones(
    db: None, anon_client: APIClient
) -> None:
    anon_client.credentials(HTTP_AUTHORIZATION="Token tok_revoked-long-ago")

    assert anon_client.get("/healthz").status_code == 200


def test_health_endpoints_answer_head_for_probes(
    db: None, anon_client: APIClient, fresh_heartbeats: None
) -> None:
    assert anon_client.head("/healthz").status_code == 200
    assert anon_client.head("/readyz").status_code == 200


def test_health_endpoints_refuse_other_methods_in_the_error_format(
    db: None, anon_client: APIClient
) -> None:
    assert_error(anon_client.post("/healthz"), 405, "method_not_allowed")
    assert_error(anon_client.post("/readyz"), 405, "method_not_allowed")
