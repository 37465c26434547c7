"""/healthz: database and broker reachability, for load balancers and monitoring."""

from __future__ import annotations

import time
from typing import Any

from rest_framework.test import APIClient

from tests.assertions import assert_error

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_healthz_answers_200_when_database_and_broker_answer(
    db: None, anon_client: APIClient
) -> None:
    response = anon_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True, "info": "postgresql"},
        "broker": {"ok": True, "info": "redis"},
    }


def test_healthz_answers_503_quickly_when_the_broker_is_unreachable(
    db: None, anon_client: APIClient, settings: Any
) -> None:
    settings.REDIS_URL = UNREACHABLE_REDIS
    started = time.monotonic()

    response = anon_client.get("/healthz")

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == {"ok": True, "info": "postgresql"}
    assert body["broker"]["ok"] is False
    assert body["broker"]["info"] == "OperationalError"


def test_healthz_recovers_when_the_broker_comes_back(
    db: None, anon_client: APIClient, settings: Any
) -> None:
    reachable = settings.REDIS_URL
    settings.REDIS_URL = UNREACHABLE_REDIS
    down = anon_client.get("/healthz")
    settings.REDIS_URL = reachable

    up = anon_client.get("/healthz")

    assert (down.status_code, up.status_code) == (503, 200)


def test_healthz_reports_in_process_tasks_without_a_broker(
    db: None, anon_client: APIClient, settings: Any
) -> None:
    settings.REDIS_URL = ""

    response = anon_client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["broker"] == {"ok": True, "info": "in-process (embedded default)"}


def test_healthz_needs_no_credentials_and_ignores_stale_ones(
    db: None, anon_client: APIClient
) -> None:
    anon_client.credentials(HTTP_AUTHORIZATION="Token tok_revoked-long-ago")

    assert anon_client.get("/healthz").status_code == 200


def test_healthz_answers_head_for_probes(db: None, anon_client: APIClient) -> None:
    assert anon_client.head("/healthz").status_code == 200


def test_healthz_refuses_other_methods_in_the_error_format(
    db: None, anon_client: APIClient
) -> None:
    assert_error(anon_client.post("/healthz"), 405, "method_not_allowed")
