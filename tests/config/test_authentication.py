"""Staff tokens and device keys: issued once, stored as a digest, expiring and revocable."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from config.identity.models import ApiToken, Device, DeviceKind, Role
from config.identity.services import staff_create, token_revoke
from tests.assertions import assert_error

TOKEN_URL = "/api/v1/auth/token"
ACCOUNTS_URL = "/api/v1/ledger/accounts"
PASSWORD = "đúng-mật-khẩu-42"


def _login(client: APIClient, username: str, password: str) -> Any:
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json")


def _stored_text(instance: Any) -> str:
    """Every column of the row, as read back from the database, as text."""
    instance.refresh_from_db()
    return " ".join(str(getattr(instance, f.attname)) for f in instance._meta.concrete_fields)


@pytest.mark.parametrize(
    ("role", "roles"),
    [
        (Role.CASHIER, ["cashier"]),
        (Role.SUPERVISOR, ["cashier", "supervisor"]),
        (Role.FINANCE, ["finance"]),
        (Role.AUDITOR, ["auditor"]),
        (Role.ADMIN, ["admin", "auditor", "cashier", "finance", "supervisor"]),
    ],
)
def test_login_returns_an_expiring_token_and_the_roles(
    db: None, anon_client: APIClient, role: str, roles: list[str]
) -> None:
    staff_create(username="an.nguyen", role=role, password=PASSWORD)

    response = _login(anon_client, "an.nguyen", PASSWORD)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"token", "expires_at", "roles"}
    assert body["roles"] == roles
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=11, minutes=59) < expires_at - timezone.now() <= timedelta(hours=12)
    token = ApiToken.objects.get()
    assert token.key_digest == hashlib.sha256(body["token"].encode()).hexdigest()
    assert body["token"] not in _stored_text(token)


def test_issued_token_authenticates_the_staff_user(db: None, anon_client: APIClient) -> None:
    staff_create(username="an.nguyen", role=Role.FINANCE, password=PASSWORD)
    token = _login(anon_client, "an.nguyen", PASSWORD).json()["token"]
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert anon_client.get(ACCOUNTS_URL).status_code == 200


def test_token_lifetime_follows_the_setting(
    db: None, anon_client: APIClient, settings: Any
) -> None:
    settings.STAFF_TOKEN_TTL_HOURS = 1
    staff_create(username="an.nguyen", role=Role.CASHIER, password=PASSWORD)

    _login(anon_client, "an.nguyen", PASSWORD)

    token = ApiToken.objects.get()
    assert token.expires_at - token.created_at < timedelta(hours=1, seconds=5)


@pytest.mark.parametrize(
    ("username", "password"),
    [("an.nguyen", "wrong"), ("AN.NGUYEN", PASSWORD), ("nobody", PASSWORD)],
)
def test_wrong_credentials_answer_invalid_credentials(
    db: None, anon_client: APIClient, username: str, password: str
) -> None:
    staff_create(username="an.nguyen", role=Role.FINANCE, password=PASSWORD)

    response = _login(anon_client, username, password)

    assert_error(response, 401, "invalid_credentials")
    assert not ApiToken.objects.exists()


def test_blank_password_answers_parameter_invalid(db: None, anon_client: APIClient) -> None:
    staff_create(username="an.nguyen", role=Role.FINANCE, password=PASSWORD)

    response = _login(anon_client, "an.nguyen", "")

    assert_error(response, 400, "parameter_invalid", param="password")


def test_disabled_user_cannot_log_in(db: None, anon_client: APIClient) -> None:
    user, _ = staff_create(username="an.nguyen", role=Role.FINANCE, password=PASSWORD)
    user.is_active = False
    user.save()

    assert_error(_login(anon_client, "an.nguyen", PASSWORD), 401, "invalid_credentials")


def test_disabled_user_token_stops_working(finance_client: APIClient) -> None:
    get_user_model().objects.update(is_active=False)

    assert_error(finance_client.get(ACCOUNTS_URL), 401, "authentication_failed")


def test_token_works_until_it_expires(finance_client: APIClient) -> None:
    token = ApiToken.objects.get()
    token.expires_at = timezone.now() + timedelta(minutes=1)
    token.save()
    before = finance_client.get(ACCOUNTS_URL)
    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save()

    after = finance_client.get(ACCOUNTS_URL)

    assert before.status_code == 200
    assert_error(after, 401, "authentication_failed")


def test_revoked_token_is_refused_and_others_keep_working(db: None, anon_client: APIClient) -> None:
    staff_create(username="an.nguyen", role=Role.FINANCE, password=PASSWORD)
    first = _login(anon_client, "an.nguyen", PASSWORD).json()["token"]
    second = _login(anon_client, "an.nguyen", PASSWORD).json()["token"]
    token_revoke(token=ApiToken.objects.get(key_digest=hashlib.sha256(first.encode()).hexdigest()))

    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    revoked = anon_client.get(ACCOUNTS_URL)
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    other = anon_client.get(ACCOUNTS_URL)

    assert_error(revoked, 401, "authentication_failed")
    assert other.status_code == 200


def test_create_staff_prints_the_password_once_and_stores_only_its_hash(db: None) -> None:
    out = StringIO()

    call_command("create_staff", "--role", "finance", "--username", "an.nguyen", stdout=out)

    printed = out.getvalue()
    password = printed.split("shown only this once:")[1].split()[0]
    assert printed.count(password) == 1
    user = get_user_model().objects.get(username="an.nguyen")
    assert user.check_password(password)
    assert password not in _stored_text(user)
    assert list(user.groups.values_list("name", flat=True)) == ["finance"]
    assert _login(APIClient(), "an.nguyen", password).status_code == 201


def test_create_staff_refuses_a_taken_username(db: None) -> None:
    staff_create(username="an.nguyen", role=Role.CASHIER)

    with pytest.raises(CommandError, match="already exists"):
        call_command("create_staff", "--role", "finance", "--username", "an.nguyen")


def test_create_device_prints_the_key_once_and_stores_only_its_digest(db: None) -> None:
    out = StringIO()

    call_command("create_device", "--kind", "his", "--name", "his-main", stdout=out)

    printed = out.getvalue()
    match = re.search(r"Authorization: Device (\S+)", printed)
    assert match is not None, printed
    key = match.group(1)
    assert printed.count(key) == 1
    device = Device.objects.get(name="his-main")
    assert device.kind == DeviceKind.HIS
    assert device.key_digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in _stored_text(device)
    assert key.startswith(device.key_hint)
    assert len(key) - len(device.key_hint) >= 32  # what the hint leaves unknown: > 190 bits


def test_device_key_authenticates_until_revoke_device_runs(db: None) -> None:
    out = StringIO()
    call_command("create_device", "--kind", "kiosk", "--name", "kiosk-sanh-b", stdout=out)
    key = out.getvalue().split("Authorization: Device ")[1].split()[0]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {key}")
    before = client.get(ACCOUNTS_URL)

    call_command("revoke_device", "--name", "kiosk-sanh-b", stdout=StringIO())
    after = client.get(ACCOUNTS_URL)

    assert_error(before, 403, "permission_denied")  # authenticated: a kiosk is not finance
    assert_error(after, 401, "authentication_failed")
    assert Device.objects.get(name="kiosk-sanh-b").revoked_at is not None


def test_revoke_device_refuses_an_unknown_name(db: None) -> None:
    with pytest.raises(CommandError, match="No device named"):
        call_command("revoke_device", "--name", "kiosk-nowhere")


def test_create_device_refuses_a_taken_name(db: None) -> None:
    call_command("create_device", "--kind", "kiosk", "--name", "kiosk-a", stdout=StringIO())

    with pytest.raises(CommandError, match="already exists"):
        call_command("create_device", "--kind", "his", "--name", "kiosk-a", stdout=StringIO())
