"""With Redis down: the login and the kiosk's patient lookup refuse with 503 and Retry-After
(their throttles cannot count, and they guard credentials and personal data), never a 500
and never unthrottled; cash payments at the desk go on, their events kept for the relay.

Redis here is a server of the test's own (``tests/redis_server.py``), holding both the
throttles' cache and Celery's broker, which the test kills."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings
from kombu import pools as kombu_pools
from rest_framework.test import APIClient

from config.celery import app
from config.identity.models import DeviceKind
from config.identity.services import device_create, staff_create
from payments.models import OutboxEvent, Payment, PaymentStatus
from tests.assertions import assert_error
from tests.payments.builders.desk import at_desk, pay_cash
from tests.payments.builders.payments import payable_invoice
from tests.redis_server import OwnRedis, own_redis

pytestmark = pytest.mark.django_db


def _fresh_producer_pool() -> None:
    """Close the Celery app's broker connections and drop the closed pool, so that the next
    task sent (by this test or a later one in this process) opens a new pool on the broker
    in force."""
    app.pool.force_close_all()  # type: ignore[attr-defined]
    app._pool = None  # type: ignore[attr-defined]
    kombu_pools.reset()  # kombu keeps one pool per broker URL, closed ones too
    # reset() closed every pool kombu kept, the one Celery's amqp caches among them.
    app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def redis_of_our_own() -> Iterator[OwnRedis]:
    """Throttle counts and the Celery broker on a Redis that the test may kill."""
    with own_redis() as server:
        cache = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": server.url,
                "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
            }
        }
        saved = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
        app.conf.update(broker_url=server.url, task_always_eager=False)
        _fresh_producer_pool()
        try:
            with override_settings(CACHES=cache):
                yield server
        finally:
            app.conf.update(saved)
            _fresh_producer_pool()


def _login(username: str, password: str) -> Any:
    return APIClient().post(
        "/api/v1/auth/token", {"username": username, "password": password}, format="json"
    )


def _lookup(kiosk: APIClient) -> Any:
    return kiosk.post("/api/v1/kiosk/lookup", {"patient_code": "BN-NOBODY"}, format="json")


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_with_redis_down_login_and_lookup_answer_503_and_cash_payments_go_on(
    redis_of_our_own: OwnRedis, staff_client: Callable[..., APIClient]
) -> None:
    username = "redis-down-cashier"
    _, password = staff_create(username=username, role="cashier")
    _, device_key = device_create(kind=DeviceKind.KIOSK, name="kiosk-redis-down")
    kiosk = APIClient()
    kiosk.credentials(HTTP_AUTHORIZATION=f"Device {device_key}")
    desk, _ = at_desk(staff_client)

    # Redis up: all three work.
    assert _login(username, password).status_code == 201
    assert _lookup(kiosk).status_code == 404
    assert (
        pay_cash(desk, amount=100_000, tendered=100_000, invoice=payable_invoice()).status_code
        == 201
    )

    redis_of_our_own.stop()

    for response, seconds in (
        _timed(lambda: _login(username, password)),
        _timed(lambda: _login(username, "a wrong guess")),
        _timed(lambda: _lookup(kiosk)),
    ):
        assert_error(response, 503, "service_unavailable")
        assert response["Retry-After"] == "30"
        assert response.json()["error"]["detail"] == {"retry_after_seconds": 30}
        assert seconds < 5

    invoice = payable_invoice()
    response, seconds = _timed(
        lambda: pay_cash(desk, amount=250_000, tendered=300_000, invoice=invoice)
    )
    assert response.status_code == 201, response.content
    assert seconds < 10
    payment = Payment.objects.get(public_id=response.json()["id"])
    assert payment.status == PaymentStatus.SUCCEEDED
    # Its events wait in the outbox for the relay (beat) once the broker is back.
    assert OutboxEvent.objects.filter(published_at__isnull=True).exists()


@override_settings(THROTTLE_STORE_DOWN_RETRY_AFTER_SECONDS=7)
def test_the_retry_after_follows_the_setting(redis_of_our_own: OwnRedis) -> None:
    redis_of_our_own.stop()

    response = _login("anyone", "anything")

    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "7"
