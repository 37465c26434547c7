"""Sentry through its SDK when SENTRY_DSN is set, personal data off: what reaches a local
Sentry (tests/fakes/sentry_server.py) after a real error log and a real exception."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sentry_sdk

from config.error_reports import sentry_init
from tests.fakes.sentry_server import SentryState, sentry_dsn, sentry_server

CITIZEN_ID = "001203012345"
PHONE = "0912345678"
NAME = "Nguyễn Thị Hồng Nhung"
PAY_TOKEN = "42:1tFq9x:Zb3kP0v9aQ1yW2e3R4t5Y6u7I8o9P0aS"


@pytest.fixture
def local_sentry() -> Iterator[SentryState]:
    server, state = sentry_server()
    server.start()
    sentry_init(dsn=sentry_dsn(server), environment="test", traces_sample_rate=0.0)
    try:
        yield state
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init(dsn=None)
        server.stop()


def test_errors_reach_sentry_without_personal_data(local_sentry: SentryState) -> None:
    logging.getLogger("vienphi.test").error(
        "refund failed for %s (phone %s) via /pay/%s", NAME, PHONE, PAY_TOKEN
    )
    try:
        raise ValueError(f"no patient with citizen ID {CITIZEN_ID}")
    except ValueError as error:
        sentry_sdk.capture_exception(error)
    sentry_sdk.flush(timeout=5)

    sent = b"".join(local_sentry.envelopes).decode()
    assert "refund failed for [name]" in sent
    assert "no patient with citizen ID [citizen-id]" in sent
    for secret in (CITIZEN_ID, PHONE, "Nhung", PAY_TOKEN):
        assert secret not in sent, secret
