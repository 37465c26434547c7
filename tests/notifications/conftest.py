"""Fixtures of the receipt and message tests: the local fake SMS gateway and SMTP server,
settings pointing the app at them, and receipt storage in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.sms_gateway import (
    API_KEY,
    BRAND_NAME,
    SECRET_KEY,
    FakeSmsGateway,
    FakeSmsGatewayServer,
)
from tests.fakes.smtp_server import FakeSmtp, FakeSmtpServer


@pytest.fixture
def fake_sms_gateway() -> Iterator[FakeSmsGateway]:
    with FakeSmsGatewayServer() as gateway:
        yield gateway


@pytest.fixture
def fake_smtp() -> Iterator[FakeSmtp]:
    with FakeSmtpServer() as smtp:
        yield smtp


def messaging_settings(gateway: FakeSmsGateway, smtp: FakeSmtp) -> dict[str, Any]:
    """The settings (and environment variables) that send through the fakes."""
    return {
        "SMS_BACKEND": "esms",
        "SMS_GATEWAY_URL": gateway.url,
        "SMS_API_KEY": API_KEY,
        "SMS_SECRET_KEY": SECRET_KEY,
        "SMS_BRAND_NAME": BRAND_NAME,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp.host,
        "EMAIL_PORT": smtp.port,
        "EMAIL_USE_TLS": False,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
    }


@pytest.fixture
def messaging(
    settings: Any, fake_sms_gateway: FakeSmsGateway, fake_smtp: FakeSmtp
) -> tuple[FakeSmsGateway, FakeSmtp]:
    """The app sends SMS to the fake eSMS gateway and e-mail to the fake SMTP server."""
    for name, value in messaging_settings(fake_sms_gateway, fake_smtp).items():
        setattr(settings, name, value)
    return fake_sms_gateway, fake_smtp


@pytest.fixture(autouse=True)
def receipt_storage(settings: Any, tmp_path: Path) -> Path:
    """Rendered PDFs go to a temporary folder."""
    folder = tmp_path / "receipts"
    settings.STORAGES = {
        **settings.STORAGES,
        "receipts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    return folder
