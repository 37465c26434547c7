"""Pytest fixtures for the fake Stripe and Viettel S-Invoice servers (loaded by
tests/conftest.py via pytest_plugins)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from tests.fakes.stripe_server import FakeStripeServer
from tests.fakes.viettel_sinvoice import FakeSInvoiceServer


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripeServer]:
    """A fresh fake Stripe account on an ephemeral loopback port, stopped after the test.

    Point the official client at it: ``stripe.StripeClient("sk_test_...",
    base_addresses={"api": fake_stripe.url})``. Webhook secret: ``fake_stripe.webhook_secrets``.
    """
    with FakeStripeServer() as server:
        yield server


@pytest.fixture
def fast_stripe_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """stripe-python waits at least 0.5 s before each network retry; shrink that backoff so
    retry tests stay fast. Which responses are retried, and with which key, is unchanged."""
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(stripe.HTTPClient, "MAX_DELAY", 0.02)


@pytest.fixture
def fake_sinvoice(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSInvoiceServer]:
    """A fake Viettel S-Invoice on a loopback port, with billing's settings (and the
    environment, for a real worker started by the test) pointing at it."""
    server = FakeSInvoiceServer()
    server.start()
    for name, value in server.settings().items():
        setattr(settings, name, value)
        monkeypatch.setenv(name, value)
    try:
        yield server
    finally:
        server.stop()
