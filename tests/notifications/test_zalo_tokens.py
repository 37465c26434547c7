"""The Zalo Official Account's tokens: encrypted at rest, never logged, refreshed before they
expire by beat and once across workers (Zalo's refresh token is single-use) without a
database lock held while Zalo is called."""

from __future__ import annotations

import io
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from notifications.backends.zalo import ZaloAuthorizationError, oa_token_refresh
from notifications.models import ZaloToken
from notifications.services.zalo_tokens import (
    token_decrypt,
    zalo_access_token,
    zalo_token_refresh,
)
from notifications.tasks import refresh_zalo_token
from tests.concurrency import run_at_once
from tests.fakes.zalo_server import FakeZalo

pytestmark = pytest.mark.django_db


def _stored() -> tuple[ZaloToken, str, str]:
    row = ZaloToken.objects.get()
    return (
        row,
        token_decrypt(row.access_token_encrypted),
        token_decrypt(row.refresh_token_encrypted),
    )


def _no_lock_on_the_token_row() -> bool:
    """True when another connection can lock the token row at once."""
    try:
        with transaction.atomic():
            ZaloToken.objects.select_for_update(nowait=True).get()
        return True
    except Exception:
        return False
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_call_zalo_once_and_both_get_the_new_token(
    zalo: FakeZalo,
) -> None:
    row, old_access, old_refresh = _stored()
    zalo.hold_refreshes()  # the first refresh waits at Zalo while the other worker arrives
    observed: dict[str, bool] = {}

    def work(index: int) -> Any:
        if index < 2:
            return zalo_token_refresh(seen_version=row.version)
        assert zalo.refreshes_waiting.acquire(timeout=20), "no refresh reached Zalo"
        time.sleep(0.3)  # let the second worker find the lease taken (widens the race)
        observed["unlocked_while_calling_zalo"] = _no_lock_on_the_token_row()
        zalo.release_refreshes()
        return None

    first, second, _ = run_at_once(3, work)

    assert zalo.refresh_calls == 1
    assert first.version == second.version == row.version + 1
    assert first.value == second.value != old_access
    assert observed == {"unlocked_while_calling_zalo": True}
    stored, access, refresh = _stored()
    assert (stored.version, access, stored.lease_owner, stored.lease_until) == (
        row.version + 1,
        first.value,
        "",
        None,
    )
    with pytest.raises(ZaloAuthorizationError):  # single-use: the old one is dead at Zalo
        oa_token_refresh(refresh_token=old_refresh)
    assert refresh in zalo.refresh_tokens


def test_a_worker_that_saw_an_older_token_gets_the_current_one_without_calling_zalo(
    zalo: FakeZalo,
) -> None:
    row, _, _ = _stored()
    newer = zalo_token_refresh(seen_version=row.version)

    again = zalo_token_refresh(seen_version=row.version)

    assert again == newer
    assert zalo.refresh_calls == 1


def test_beat_refreshes_the_token_only_when_it_is_about_to_expire(
    zalo: FakeZalo, settings: Any
) -> None:
    settings.ZALO_TOKEN_REFRESH_MARGIN_MINUTES = 120
    row, _, _ = _stored()

    early = refresh_zalo_token.apply().get()
    ZaloToken.objects.update(expires_at=timezone.now() + timedelta(minutes=90))
    due = refresh_zalo_token.apply().get()

    assert (early, due) == (False, True)
    assert zalo.refresh_calls == 1
    stored, _, _ = _stored()
    assert stored.version == row.version + 1
    assert stored.expires_at > timezone.now() + timedelta(hours=24)


def test_beat_does_nothing_while_zalo_is_off_or_unreachable(zalo: FakeZalo, settings: Any) -> None:
    ZaloToken.objects.update(expires_at=timezone.now() + timedelta(minutes=5))
    settings.ZALO_ENABLED = False
    off = refresh_zalo_token.apply().get()
    settings.ZALO_ENABLED = True
    settings.ZALO_OAUTH_BASE = "http://127.0.0.1:9"  # nothing listens

    unreachable = refresh_zalo_token.apply().get()

    assert (off, unreachable) == (False, False)
    stored = ZaloToken.objects.get()
    assert (stored.version, stored.lease_owner, stored.needs_authorization) == (1, "", False)


def test_an_expired_token_is_refreshed_before_it_is_used(zalo: FakeZalo) -> None:
    ZaloToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    token = zalo_access_token()

    assert token.version == 2
    assert token.value in zalo.access_tokens
    assert zalo.refresh_calls == 1


def test_tokens_are_encrypted_at_rest_and_a_rotated_key_still_decrypts(
    zalo: FakeZalo, settings: Any
) -> None:
    row, access, refresh = _stored()
    assert access in zalo.access_tokens
    assert access not in row.access_token_encrypted
    assert refresh not in row.refresh_token_encrypted

    settings.ZALO_TOKEN_ENCRYPTION_KEYS = ["a-newer-key", "test-zalo-token-key-one"]
    assert zalo_access_token().value == access
    settings.ZALO_TOKEN_ENCRYPTION_KEYS = ["a-newer-key"]
    with pytest.raises(ImproperlyConfigured, match="cannot decrypt"):
        zalo_access_token()


def test_tokens_never_reach_the_logs(zalo: FakeZalo, caplog: pytest.LogCaptureFixture) -> None:
    row, access, refresh = _stored()

    with caplog.at_level(logging.DEBUG):
        new = zalo_token_refresh(seen_version=row.version)
        zalo.refresh_tokens.clear()
        ZaloToken.objects.update(expires_at=timezone.now())
        with pytest.raises(ZaloAuthorizationError):
            zalo_access_token()

    assert "refreshed" in caplog.text
    for token in (access, refresh, new.value, *zalo.access_tokens):
        assert token not in caplog.text
    assert access not in repr(new)


def test_the_connect_command_reads_a_refresh_token_from_standard_input(
    zalo: FakeZalo, monkeypatch: pytest.MonkeyPatch
) -> None:
    ZaloToken.objects.all().delete()
    _, refresh = zalo.issue_pair()
    monkeypatch.setattr("sys.stdin", io.StringIO(refresh + "\n"))
    out = io.StringIO()

    call_command("zalo_connect", stdout=out)

    assert "connected" in out.getvalue()
    assert refresh not in out.getvalue()
    _, access, _ = _stored()
    assert access in zalo.access_tokens
    assert refresh not in zalo.refresh_tokens  # used once by the exchange


@pytest.mark.django_db(transaction=True)
def test_while_zalo_is_called_the_row_holds_a_lease_and_no_lock(zalo: FakeZalo) -> None:
    row, _, _ = _stored()
    zalo.hold_refreshes()
    result: list[Any] = []

    def refresh() -> None:
        try:
            result.append(zalo_token_refresh(seen_version=row.version))
        finally:
            connection.close()

    worker = threading.Thread(target=refresh)
    worker.start()
    assert zalo.refreshes_waiting.acquire(timeout=20)

    leased = ZaloToken.objects.get()
    unlocked = _no_lock_on_the_token_row()
    zalo.release_refreshes()
    worker.join(timeout=20)

    assert unlocked
    assert leased.lease_owner != ""
    assert leased.lease_until is not None
    assert result[0].version == row.version + 1
