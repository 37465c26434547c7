"""Fixtures of the payments tests: the app's settings for the refund approval threshold, the
bank feeds and the fake Stripe server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.payments import STRIPE_KEY
from tests.payments.builders.refunds import THRESHOLD
from tests.payments.builders.webhooks import CASSO_KEY, HOSPITAL_ACCOUNT, SEPAY_KEY


@pytest.fixture
def refund_threshold() -> int:
    """The threshold ``approval_threshold`` sets; a module overrides this fixture to pin
    another."""
    return THRESHOLD


@pytest.fixture
def approval_threshold(settings: Any, refund_threshold: int) -> int:
    """``REFUND_APPROVAL_THRESHOLD`` pinned to ``refund_threshold`` (whatever the
    environment sets): a module opts in with ``pytest.mark.usefixtures``."""
    settings.REFUND_APPROVAL_THRESHOLD = refund_threshold
    return refund_threshold


@pytest.fixture
def bank_feeds_configured(settings: Any) -> None:
    settings.VIETQR_ACCOUNT = HOSPITAL_ACCOUNT
    settings.CASSO_CHECKSUM_KEY = CASSO_KEY
    settings.SEPAY_API_KEY = SEPAY_KEY


@pytest.fixture
def stripe_configured(settings: Any, fake_stripe: FakeStripeServer) -> FakeStripeServer:
    """The app pointed at the fake Stripe server, with its webhook secret."""
    settings.STRIPE_SECRET_KEY = STRIPE_KEY
    settings.STRIPE_API_BASE = fake_stripe.url
    settings.STRIPE_WEBHOOK_SECRETS = list(fake_stripe.webhook_secrets)
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    return fake_stripe
