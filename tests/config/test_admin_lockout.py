"""The admin login locks out after repeated failures (django-axes): per username and per
client address, with a configurable limit and cool-off, logged without the password; the
API's token exchange keeps its own throttle and does not count here."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-9"
WRONG = "Wr0ng-guess-%d"


@pytest.fixture
def admin_user() -> str:
    get_user_model().objects.create_superuser("lockout-admin", password=PASSWORD)
    return "lockout-admin"


def _login(username: str, password: str, address: str = "203.0.113.7") -> int:
    response = Client(REMOTE_ADDR=address).post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )
    return response.status_code


def test_fifteen_wrong_passwords_lock_the_admin_login_even_for_the_right_one(
    admin_user: str,
) -> None:
    answers = [_login(admin_user, WRONG % n) for n in range(15)]

    # Five failures are answered as a wrong password, then the login is locked.
    assert answers[:4] == [200] * 4
    assert set(answers[5:]) == {429}
    assert _login(admin_user, PASSWORD) == 429
    # From another address too: the username is locked.
    assert _login(admin_user, PASSWORD, address="198.51.100.20") == 429


def test_one_address_trying_many_usernames_is_locked_out(admin_user: str) -> None:
    for n in range(5):
        _login(f"guess-{n}", WRONG % n, address="192.0.2.50")

    assert _login(admin_user, PASSWORD, address="192.0.2.50") == 429
    # Another address with the right password is let in: the username itself was not tried.
    assert _login(admin_user, PASSWORD, address="192.0.2.51") == 302


@override_settings(AXES_FAILURE_LIMIT=2, AXES_COOLOFF_TIME=timedelta(minutes=10))
def test_the_limit_and_the_cool_off_are_settings(
    admin_user: str, time_machine: time_machine.TimeMachineFixture
) -> None:
    # The clock is moved, not waited for: on a loaded machine a real wait of a short cool-off
    # could run out between two slow requests.
    time_machine.move_to(timezone.now(), tick=False)
    assert _login(admin_user, WRONG % 1) == 200
    assert _login(admin_user, WRONG % 2) == 429
    assert _login(admin_user, PASSWORD) == 429

    time_machine.shift(timedelta(minutes=9, seconds=59))
    assert _login(admin_user, PASSWORD) == 429
    # That try during the lockout started the cool-off again (axes' default).

    time_machine.shift(timedelta(minutes=10, seconds=1))
    assert _login(admin_user, PASSWORD) == 302


def test_a_success_before_the_limit_starts_the_count_again(admin_user: str) -> None:
    for n in range(4):
        _login(admin_user, WRONG % n)
    assert _login(admin_user, PASSWORD) == 302

    assert [_login(admin_user, WRONG % n) for n in range(4)] == [200] * 4


def test_failures_are_logged_and_stored_without_the_password(
    admin_user: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret_guess = "Hunter2-very-secret-guess"
    with caplog.at_level(logging.DEBUG):
        for _ in range(6):
            _login(admin_user, secret_guess)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "login failed" in logged.lower()
    assert "locking out" in logged.lower()
    assert secret_guess not in logged
    # The log masks the username too (a password typed into the username field); the
    # admin's Access attempts list has it, with the address.
    assert admin_user not in logged
    attempt = AccessAttempt.objects.get(username=admin_user)
    assert attempt.failures_since_start >= 5
    stored = " ".join(str(value) for value in AccessAttempt.objects.values_list())
    assert secret_guess not in stored


def test_api_token_failures_keep_their_own_throttle_and_do_not_lock_the_admin(
    admin_user: str,
) -> None:
    api = APIClient(REMOTE_ADDR="203.0.113.7")
    for n in range(8):
        response = api.post(
            "/api/v1/auth/token", {"username": admin_user, "password": WRONG % n}, format="json"
        )
        assert response.status_code == 401

    assert not AccessAttempt.objects.exists()
    assert _login(admin_user, PASSWORD) == 302
