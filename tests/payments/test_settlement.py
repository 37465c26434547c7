"""Stripe settlement through the official client against the fake Stripe: a payout's balance
transactions listed page by page (auto-pagination), traced to our payments and refunds, one
entry per payout (fees, net payout in transit, clearing emptied), idempotent, resumed after
a failure mid-list, disputes to suspense, a failed payout reversed, the webhook and the
daily run."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from billing.chart import CASH_IN_TRANSIT, PROVIDER_FEES, STRIPE_CLEARING, SUSPENSE
from billing.models import JournalEntry
from payments.models import (
    PayoutStatus,
    ReconItem,
    ReconStatus,
    StripeBalanceLine,
    StripePayout,
)
from payments.services.matching import reconciliation_match
from payments.services.refunds import refund_request
from payments.services.settlement import stripe_payout_settle
from payments.tasks import settle_stripe_payouts
from tests.assertions import assert_trial_balance_balanced, balance
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.desk import desk_user
from tests.payments.builders.payments import paid_by_card
from tests.payments.builders.webhooks import deliver_stripe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_configured")]

AMOUNTS = (250_000, 180_000, 96_800)


def fee(amount: int) -> int:
    return (amount * 290 + 5_000) // 10_000 + 2_000


def card_day(fake: FakeStripeServer, amounts: tuple[int, ...] = AMOUNTS) -> list[Any]:
    return [paid_by_card(fake, amount=amount) for amount in amounts]


def test_a_payout_books_fees_and_the_net_in_transit_and_empties_clearing(
    stripe_configured: FakeStripeServer,
) -> None:
    card_day(stripe_configured)
    payout = stripe_configured.payout_all()
    assert payout is not None
    record = stripe_payout_settle(payout_id=payout["id"])
    assert record.status == PayoutStatus.SETTLED
    fees = sum(fee(a) for a in AMOUNTS)
    assert payout["amount"] == sum(AMOUNTS) - fees
    assert balance(PROVIDER_FEES) == fees
    assert balance(CASH_IN_TRANSIT, f"payout:{payout['id']}") == payout["amount"]
    assert balance(STRIPE_CLEARING) == 0
    lines = StripeBalanceLine.objects.filter(payout=record, type="charge")
    assert lines.count() == 3
    assert all(line.payment_id for line in lines)
    assert_trial_balance_balanced()


def test_a_refund_in_the_payout_lowers_what_clearing_gives(
    stripe_configured: FakeStripeServer,
) -> None:
    first, *_ = card_day(stripe_configured)
    refund = refund_request(
        payment=first,
        amount=50_000,
        reason="overpayment",
        requested_by=desk_user(),
        idempotency_key="refund-settle-1",
    )
    assert refund.provider_reference.startswith("re_")
    payout = stripe_configured.payout_all()
    assert payout is not None
    stripe_payout_settle(payout_id=payout["id"])
    assert StripeBalanceLine.objects.get(type="refund").refund_id == refund.pk
    assert balance(STRIPE_CLEARING) == 0
    assert balance(CASH_IN_TRANSIT) == sum(AMOUNTS) - 50_000 - sum(fee(a) for a in AMOUNTS)


def test_the_list_is_read_page_by_page_and_settling_again_posts_nothing(
    stripe_configured: FakeStripeServer, settings: Any
) -> None:
    settings.STRIPE_SETTLEMENT_PAGE_SIZE = 2
    card_day(stripe_configured, (10_000, 20_000, 30_000, 40_000, 50_000))
    payout = stripe_configured.payout_all()
    assert payout is not None
    stripe_payout_settle(payout_id=payout["id"])
    pages = [r for r in stripe_configured.request_log if r.path == "/v1/balance_transactions"]
    assert len(pages) == 3  # six transactions (five charges and the payout's own), two a page
    stripe_payout_settle(payout_id=payout["id"])
    assert JournalEntry.objects.filter(source_type="stripe_payout").count() == 1
    assert StripeBalanceLine.objects.count() == 6


def test_a_failure_mid_list_resumes_after_the_last_stored_page(
    stripe_configured: FakeStripeServer, settings: Any
) -> None:
    settings.STRIPE_SETTLEMENT_PAGE_SIZE = 2
    card_day(stripe_configured, (10_000, 20_000, 30_000, 40_000, 50_000))
    payout = stripe_configured.payout_all()
    assert payout is not None
    stripe_configured.fail_next("/v1/balance_transactions", method="GET", after=1, status=500)
    with pytest.raises(Exception, match="Injected failure"):
        stripe_payout_settle(payout_id=payout["id"])
    record = StripePayout.objects.get()
    assert (record.status, StripeBalanceLine.objects.count()) == (PayoutStatus.LISTING, 2)
    assert not JournalEntry.objects.filter(source_type="stripe_payout").exists()
    stripe_payout_settle(payout_id=payout["id"])
    resumed = [r for r in stripe_configured.request_log if r.path == "/v1/balance_transactions"]
    assert f"starting_after={record.listed_through}" in resumed[-2].query
    assert StripeBalanceLine.objects.count() == 6
    assert balance(STRIPE_CLEARING) == 0


def test_a_dispute_goes_to_suspense_for_finance(stripe_configured: FakeStripeServer) -> None:
    card_day(stripe_configured)
    stripe_configured.add_balance_adjustment(-96_800, kind="dispute", fee=0)
    payout = stripe_configured.payout_all()
    assert payout is not None
    stripe_payout_settle(payout_id=payout["id"])
    assert balance(SUSPENSE) == 96_800
    assert balance(STRIPE_CLEARING) == 0
    assert_trial_balance_balanced()


def test_the_payout_webhook_settles_and_the_matcher_expects_the_bank_line(
    stripe_configured: FakeStripeServer, django_capture_on_commit_callbacks: Any
) -> None:
    card_day(stripe_configured)
    payout = stripe_configured.payout_all()
    assert payout is not None
    (event,) = stripe_configured.events_of_type("payout.paid")
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_stripe(Client(), stripe_configured, event).status_code == 200
    assert StripePayout.objects.get().status == PayoutStatus.SETTLED
    item = ReconItem.objects.get(source_type="stripe_payout")
    assert (item.status, item.amount, item.match_code) == (
        ReconStatus.EXPECTED,
        payout["amount"],
        "STRIPE",
    )


def test_a_failed_payout_is_reversed(stripe_configured: FakeStripeServer) -> None:
    card_day(stripe_configured)
    payout = stripe_configured.payout_all()
    assert payout is not None
    stripe_payout_settle(payout_id=payout["id"])
    reconciliation_match()
    with stripe_configured.lock:
        stripe_configured._objects[payout["id"]]["status"] = "failed"
    record = stripe_payout_settle(payout_id=payout["id"])
    assert record.status == PayoutStatus.FAILED
    assert balance(CASH_IN_TRANSIT) == 0
    assert balance(STRIPE_CLEARING) == sum(AMOUNTS)
    assert ReconItem.objects.get().status == ReconStatus.WRITTEN_OFF


def test_the_daily_run_settles_the_payouts_a_webhook_did_not_bring(
    stripe_configured: FakeStripeServer,
) -> None:
    card_day(stripe_configured)
    stripe_configured.payout_all()
    assert settle_stripe_payouts() == 1
    assert StripePayout.objects.get().status == PayoutStatus.SETTLED
    assert settle_stripe_payouts() == 0
