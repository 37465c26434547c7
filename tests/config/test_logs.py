"""Logs: JSON lines with the request id (also in the tasks a request causes), and personal
data and credentials scrubbed — proven with real log calls through the configured handler."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from config.logs import scrub
from config.request_context import bound
from tests.celery_worker import celery_worker, wait_until  # noqa: F401 (fixture)
from tests.task_probes import request_id_probe

CITIZEN_ID = "001203012345"
PHONE = "0912345678"
NAME = "Nguyễn Thị Hồng Nhung"
EMAIL = "nhung.nguyen@example.vn"
PAY_TOKEN = "42:1tFq9x:Zb3kP0v9aQ1yW2e3R4t5Y6u7I8o9P0aS"
STAFF_TOKEN = "tok_q8Zr1mX2vB3nC4kL5jH6gF7dS8aP9oI0"
SECRETS = [CITIZEN_ID, PHONE, "Nhung", "Nguyễn", EMAIL, PAY_TOKEN, STAFF_TOKEN, "84912345678"]


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """The configured console handler (LOGGING: filters and JSON formatter) writing here."""
    handler = next(h for h in logging.getLogger().handlers if h.filters)
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def test_log_lines_are_json_with_the_request_id(log_output: io.StringIO) -> None:
    with bound(request_id="req-abc"):
        logging.getLogger("vienphi.test").warning("payment %s refused", 42)

    (line,) = _lines(log_output)
    assert line["message"] == "payment 42 refused"
    assert line["level"] == "WARNING"
    assert line["logger"] == "vienphi.test"
    assert line["request_id"] == "req-abc"
    assert line["time"]


def test_personal_data_and_credentials_never_reach_the_log(log_output: io.StringIO) -> None:
    log = logging.getLogger("vienphi.test")

    log.info("patient %s, citizen ID %s, phone %s", NAME, CITIZEN_ID, PHONE)
    log.info("mail to %s; also +84912345678", EMAIL)
    log.info("GET /api/v1/pay/%s?lang=vi", PAY_TOKEN)
    log.info("Authorization: Token %s and PayLink %s", STAFF_TOKEN, PAY_TOKEN)
    log.info("lookup %(patient)s", {"patient": NAME})
    log.info("patient updated", extra={"full_name": NAME, "phone": PHONE, "invoice": 7})
    try:
        raise ValueError(f"no patient with citizen ID {CITIZEN_ID} ({NAME})")
    except ValueError:
        log.exception("lookup failed")

    text = log_output.getvalue()
    _assert_clean(text)
    lines = _lines(log_output)
    assert len(lines) == 7
    assert "[citizen-id]" in lines[0]["message"]
    assert "[phone]" in lines[0]["message"]
    assert "[name]" in lines[0]["message"]
    assert "[email]" in lines[1]["message"]
    assert lines[2]["message"] == "GET /api/v1/pay/[redacted]?lang=vi"
    assert lines[5]["full_name"] == "[redacted]"
    assert lines[5]["invoice"] == 7
    assert "lookup failed" in lines[6]["message"]
    assert "ValueError" in lines[6]["exc_info"]


def test_a_stripe_client_secret_in_the_3ds_return_address_is_cut() -> None:
    secret = "pi_3QxYz1AbCdEf_secret_Zq9R8s7T6u5V4w3X2y1"
    query = f"payment_intent=pi_3QxYz1AbCdEf&payment_intent_client_secret={secret}"

    scrubbed = scrub(f"GET /p/plk_abcdefgh12345678?{query}&redirect_status=succeeded")

    assert "_secret_" not in scrubbed
    assert "plk_abcdefgh12345678" not in scrubbed
    assert scrubbed.endswith(
        "payment_intent=pi_3QxYz1AbCdEf&payment_intent_client_secret="
        "[redacted]&redirect_status=succeeded"
    )


def test_scrub_keeps_what_is_not_personal() -> None:
    text = "payment 180000 VND for invoice HD26-0000042 at kiosk kiosk-sanh-b, 2026-12-04"

    assert scrub(text) == text


def test_a_request_returns_its_id_and_logs_carry_it(
    db: None, anon_client: APIClient, log_output: io.StringIO
) -> None:
    given = anon_client.get(f"/api/v1/pay/{PAY_TOKEN}", HTTP_X_REQUEST_ID="req-given-1")
    made = anon_client.get("/healthz")
    hostile = anon_client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert given["X-Request-ID"] == "req-given-1"
    assert len(made["X-Request-ID"]) == 32
    assert hostile["X-Request-ID"] != "bad id\nwith newline"
    lines = _lines(log_output)
    warning = next(line for line in lines if line["logger"] == "django.request")
    assert warning["request_id"] == "req-given-1"
    _assert_clean(log_output.getvalue())


def test_tasks_caused_by_a_request_carry_its_id(
    celery_worker: Any,  # noqa: F811 (the fixture)
) -> None:
    key = f"reqid-{uuid.uuid4().hex}"

    with bound(request_id="req-into-task"):
        request_id_probe.delay(key=key)

    store = redis.Redis.from_url(settings.REDIS_URL)
    assert wait_until(lambda: bool(store.exists(f"{key}:request_id")), timeout=90)
    assert store.get(f"{key}:request_id") == b"req-into-task"
