"""Resends of one receipt are rate-limited per receipt (RECEIPT_RESEND_LIMIT per
RECEIPT_RESEND_WINDOW_MINUTES), counted in the database: concurrent resends count each
other, a retried request (same Idempotency-Key) is not counted twice, other receipts are
not affected, and the count forgets resends older than the window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from config.identity.models import Role
from notifications.models import Message
from tests.assertions import assert_error
from tests.concurrency import run_at_once
from tests.notifications.builders import issued

pytestmark = pytest.mark.django_db


def _resend(client: APIClient, receipt_id: str, key: str) -> Any:
    return client.post(
        f"/api/v1/receipts/{receipt_id}/resend",
        {"channel": "sms"},
        format="json",
        headers={"Idempotency-Key": key},
    )


def test_the_fourth_resend_within_the_hour_is_refused_with_retry_after(
    staff_client: Callable[..., APIClient],
) -> None:
    cashier = staff_client(Role.CASHIER)
    receipt, other = issued(), issued()

    answers = [_resend(cashier, receipt.public_id, f"limit-{n}").status_code for n in range(3)]
    replay = _resend(cashier, receipt.public_id, "limit-2")
    fourth = _resend(cashier, receipt.public_id, "limit-3")

    assert answers == [202, 202, 202]
    assert replay.status_code == 202  # the same request again: its first answer, not counted
    assert_error(fourth, 429, "resend_limit_reached")
    retry_after = int(fourth["Retry-After"])
    assert 3500 < retry_after <= 3601
    assert _resend(cashier, other.public_id, "limit-other").status_code == 202


def test_resends_older_than_the_window_no_longer_count(
    staff_client: Callable[..., APIClient],
) -> None:
    cashier = staff_client(Role.CASHIER)
    receipt = issued()
    for n in range(3):
        assert _resend(cashier, receipt.public_id, f"old-{n}").status_code == 202
    Message.objects.filter(receipt=receipt).update(
        created_at=timezone.now() - timedelta(minutes=61)
    )

    assert _resend(cashier, receipt.public_id, "old-3").status_code == 202


@pytest.mark.django_db(transaction=True)
def test_concurrent_resends_never_pass_the_limit(
    staff_client: Callable[..., APIClient], settings: Any
) -> None:
    settings.RECEIPT_RESEND_LIMIT = 2
    receipt = issued()
    clients = [staff_client(Role.CASHIER) for _ in range(5)]

    answers = run_at_once(
        5, lambda n: _resend(clients[n], receipt.public_id, f"race-{n}").status_code
    )

    assert sorted(answers) == [202, 202, 429, 429, 429]
