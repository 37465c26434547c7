"""Fixtures of the receipt and message tests: the local fake SMS gateway, SMTP server and
Zalo, settings pointing the app at them, and receipt storage in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notifications.services.zalo_tokens import zalo_connect
from tests.fakes.sms_gateway import (
    API_KEY,
    BRAND_NAME,
    SECRET_KEY,
    FakeSmsGateway,
    FakeSmsGatewayServer,
)
from tests.fakes.smtp_server import FakeSmtp, FakeSmtpServer
from tests.fakes.zalo_server import APP_ID as ZALO_APP_ID
from tests.fakes.zalo_server import APP_SECRET as ZALO_APP_SECRET
from tests.fakes.zalo_server import OA_SECRET_KEY as ZALO_OA_SECRET_KEY
from tests.fakes.zalo_server import TEMPLATE_IDS as ZALO_TEMPLATE_IDS
from tests.fakes.zalo_server import FakeZalo, FakeZaloServer


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


@pytest.fixture
def fake_zalo() -> Iterator[FakeZalo]:
    with FakeZaloServer() as zalo:
        yield zalo


def zalo_settings(zalo: FakeZalo) -> dict[str, Any]:
    """The settings (and environment variables) that send Zalo messages to the fake."""
    return {
        "ZALO_ENABLED": True,
        "ZALO_APP_ID": ZALO_APP_ID,
        "ZALO_APP_SECRET": ZALO_APP_SECRET,
        "ZALO_OA_SECRET_KEY": ZALO_OA_SECRET_KEY,
        "ZALO_API_BASE": zalo.url,
        "ZALO_OAUTH_BASE": zalo.url,
        "ZALO_TIMEOUT_SECONDS": 5,
        "ZALO_TEMPLATE_IDS": ZALO_TEMPLATE_IDS,
        "ZALO_TOKEN_ENCRYPTION_KEYS": "test-zalo-token-key-one",
    }


def apply_zalo_settings(settings: Any, zalo: FakeZalo) -> None:
    for name, value in zalo_settings(zalo).items():
        if name == "ZALO_TEMPLATE_IDS":
            value = dict(pair.split("=") for pair in value.split(","))
        elif name == "ZALO_TOKEN_ENCRYPTION_KEYS":
            value = value.split(",")
        setattr(settings, name, value)


@pytest.fixture
def zalo(
    settings: Any, fake_zalo: FakeZalo, messaging: tuple[FakeSmsGateway, FakeSmtp]
) -> FakeZalo:
    """Zalo enabled against the fake, the Official Account connected (an authorization
    code exchanged for a pair), SMS and e-mail to their fakes. ``refresh_calls`` starts at 0."""
    apply_zalo_settings(settings, fake_zalo)
    zalo_connect(code=fake_zalo.issue_code())
    fake_zalo.forget_calls()
    return fake_zalo
