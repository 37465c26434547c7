"""With Redis down the pay page still opens: its rate limit cannot count, and it fails open
(a pay link's token cannot be guessed, and refusing would stop a patient paying)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client, override_settings

from tests.phone.builders import clinic_bill, pay_path
from tests.redis_server import own_redis

pytestmark = pytest.mark.django_db


def test_with_the_cache_down_the_pay_page_opens_and_says_why_in_the_log(caplog):
    invoice = clinic_bill()
    with own_redis() as server:
        cache = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": server.url,
                "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
            }
        }
        with override_settings(CACHES=cache):
            server.stop()
            with caplog.at_level(logging.WARNING, logger="config.pages.throttle"):
                response = Client().get(pay_path(invoice))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "360.000 ₫" in response.content.decode()
    assert "store is unreachable" in caplog.text
    assert pay_path(invoice).split("/")[-1] not in caplog.text  # the token never logged
