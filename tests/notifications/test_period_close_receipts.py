"""notifications' part of a month's close: payments of the month without a receipt warn."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from config.identity.models import Role
from payments.models import Payment
from tests.notifications.builders import issued, paid

pytestmark = pytest.mark.django_db

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def test_a_payment_of_the_month_without_a_receipt_warns(
    staff_client: Callable[[str], APIClient],
):
    without = paid()
    with_receipt = issued().payment
    paid()  # today: after May
    Payment.objects.filter(pk__in=[without.pk, with_receipt.pk]).update(
        succeeded_at=datetime(2026, 5, 15, 10, tzinfo=HANOI)
    )

    body = staff_client(Role.FINANCE).post("/api/v1/ledger/periods/2026-05/close?dry_run=true")

    findings = {f["code"]: f for f in body.json()["findings"]}
    receipts = findings["receipts_not_issued"]
    assert (receipts["severity"], receipts["count"]) == ("warn", 1)
    assert receipts["examples"] == [without.public_id]
    assert receipts["detail"] == {"payments": 1, "refunds": 0}
