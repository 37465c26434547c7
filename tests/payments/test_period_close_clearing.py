"""The close of a month warns on captures still in a clearing account at its end: card
captures no settled Stripe payout has taken, VietQR captures the bank statement has not
shown. Settling the payout and matching the statement line clear the warnings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from config.identity.models import Role
from payments.models import Payment
from payments.services.matching import reconciliation_match
from payments.services.settlement import stripe_payout_settle
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.payments import paid_by_card, paid_by_transfer
from tests.payments.builders.statements import statement

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("stripe_configured", "bank_feeds_configured"),
]

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
NOVEMBER = "/api/v1/ledger/periods/2026-11"


def captured_on(payment: Payment, moment: datetime) -> Payment:
    Payment.objects.filter(pk=payment.pk).update(succeeded_at=moment)
    payment.refresh_from_db()
    return payment


def findings(client: APIClient) -> dict[str, dict[str, Any]]:
    response = client.post(f"{NOVEMBER}/close?dry_run=true")
    assert response.status_code == 200, response.content
    return {finding["code"]: finding for finding in response.json()["findings"]}


def test_captures_left_in_clearing_at_the_months_end_warn_until_settled_and_matched(
    stripe_configured: FakeStripeServer, staff_client: Callable[[str], APIClient]
) -> None:
    card = captured_on(
        paid_by_card(stripe_configured, amount=250_000), datetime(2026, 11, 30, 21, tzinfo=HANOI)
    )
    qr = captured_on(paid_by_transfer(amount=90_000), datetime(2026, 11, 30, 22, tzinfo=HANOI))
    captured_on(paid_by_transfer(amount=40_000), datetime(2026, 12, 1, 8, tzinfo=HANOI))
    finance = staff_client(Role.FINANCE)

    found = findings(finance)

    unsettled = found["card_captures_unsettled"]
    assert (unsettled["severity"], unsettled["count"], unsettled["amount"]) == ("warn", 1, 250_000)
    assert unsettled["examples"] == [card.public_id]
    unmatched = found["vietqr_captures_unmatched"]
    assert (unmatched["severity"], unmatched["count"], unmatched["amount"]) == ("warn", 1, 90_000)
    assert unmatched["examples"] == [qr.public_id]

    payout = stripe_configured.payout_all()
    assert payout is not None
    stripe_payout_settle(payout_id=payout["id"])
    assert qr.memo_code
    statement(f'30/11/2026,FT26334001,,"90,000",MBVCB.1.{qr.memo_code}.CT tu A')
    reconciliation_match()

    found = findings(finance)
    assert "card_captures_unsettled" not in found
    assert "vietqr_captures_unmatched" not in found
