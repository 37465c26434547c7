"""A whole day, end to end: kiosk and phone cards, VietQR transfers, desk cash, a refund,
a Stripe payout with fees and one that never arrives, the safe's deposit, the bank
statement with a stray transfer. After the matcher, the clearing and in-transit accounts are
zero except for the missing payout, which is an exception finance sees in the summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.chart import BANK, CASH_IN_TRANSIT, PROVIDER_FEES, STRIPE_CLEARING, VIETQR_CLEARING
from config.identity.models import Role
from payments.models import ReconItem, ReconKind, ReconStatus, StatementLine
from payments.services.matching import add_business_days, reconciliation_match
from tests.assertions import assert_trial_balance_balanced, balance
from tests.celery_worker import celery_worker, wait_until  # noqa: F401 (fixture)
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.payments import STRIPE_KEY
from tests.payments.builders.settlement_day import STRAY, Day, run_the_day, run_the_day_in_process
from tests.payments.builders.webhooks import HOSPITAL_ACCOUNT, SEPAY_KEY

pytestmark = pytest.mark.usefixtures("bank_feeds_configured", "stripe_configured")


def fee(amount: int) -> int:
    return (amount * 290 + 5_000) // 10_000 + 2_000


def assert_the_day_reconciles(day: Day, finance: APIClient) -> None:
    missing = day.payout_missing
    # Clearing and in transit are zero, except for the payout the bank never showed.
    assert balance(VIETQR_CLEARING) == 0
    assert balance(STRIPE_CLEARING) == 0
    assert balance(CASH_IN_TRANSIT) == missing["amount"]
    assert balance(CASH_IN_TRANSIT, f"payout:{missing['id']}") == missing["amount"]
    fees = sum(fee(p.amount) for p in day.card_payments)
    assert balance(PROVIDER_FEES) == fees
    on_statement = day.payout_on_statement["amount"]
    qr = sum(p.amount for p in day.qr_payments)
    assert balance(BANK) == on_statement + qr + day.deposit_amount + STRAY
    assert_trial_balance_balanced()
    # The lines: the feed's two QR transfers and the file's are the same lines.
    assert StatementLine.objects.count() == 5
    assert day.statement["lines_new"] == 3
    statuses = {
        (item.kind, item.status) for item in ReconItem.objects.exclude(kind=ReconKind.BANK_REFUND)
    }
    assert statuses == {
        (ReconKind.VIETQR_CAPTURE, ReconStatus.MATCHED),
        (ReconKind.STRIPE_PAYOUT, ReconStatus.MATCHED),
        (ReconKind.STRIPE_PAYOUT, ReconStatus.MISSING),
        (ReconKind.CASH_DEPOSIT, ReconStatus.MATCHED),
        (ReconKind.BANK_LINE, ReconStatus.UNEXPECTED),
    }
    assert ReconItem.objects.get(source_id=missing["id"]).status == ReconStatus.MISSING
    # The summary shows the exception.
    summary = finance.get("/api/v1/reconciliation/summary", {"date": day.today.isoformat()}).json()
    card = summary["channels"]["card"]
    assert card["missing"] == {"count": 1, "amount": missing["amount"]}
    assert card["matched"] == {"count": 1, "amount": on_statement}
    assert summary["channels"]["vietqr"]["matched"] == {"count": 2, "amount": qr}
    assert summary["channels"]["cash"]["matched"]["amount"] == day.deposit_amount
    assert summary["channels"]["bank"]["unexpected"] == {"count": 1, "amount": STRAY}
    assert summary["in_transit"]["cash_in_transit"] == missing["amount"]
    assert summary["in_transit"]["stripe_clearing"] == 0
    assert summary["balances"]["provider_payouts"] == on_statement + missing["amount"]
    assert summary["balances"]["drawers_counted_cash"] == 300_000
    daily = finance.get("/api/v1/reconciliation/daily", {"date": day.today.isoformat()}).json()
    assert daily["reconciled"] is False
    assert (daily["open_items"]["missing"], daily["open_items"]["unexpected"]) == (1, 1)


@pytest.mark.django_db
def test_a_day_settles_to_the_bank_and_the_missing_payout_is_the_exception(
    stripe_configured: FakeStripeServer,
    staff_client: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Any,
) -> None:
    day = run_the_day_in_process(
        stripe_configured, staff_client, django_capture_on_commit_callbacks
    )
    reconciliation_match(today=add_business_days(day.today, 4))
    assert_the_day_reconciles(day, staff_client(Role.FINANCE))


@pytest.fixture
def worker_reaches_the_fakes(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch, stripe_configured: FakeStripeServer
) -> None:
    """The worker process reads its settings from the environment it is started with."""
    for name, value in {
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_API_BASE": stripe_configured.url,
        "STRIPE_WEBHOOK_SECRETS": ",".join(stripe_configured.webhook_secrets),
        "STRIPE_MAX_NETWORK_RETRIES": "0",
        "VIETQR_ACCOUNT": HOSPITAL_ACCOUNT,
        "SEPAY_API_KEY": SEPAY_KEY,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("worker_reaches_the_fakes", "celery_worker")
def test_the_same_day_on_a_real_celery_worker(
    stripe_configured: FakeStripeServer, staff_client: Callable[..., APIClient]
) -> None:
    from payments.tasks import run_matcher

    def until(condition: Callable[[], bool]) -> None:
        assert wait_until(condition, timeout=60), "the worker did not get there"

    day = run_the_day(
        stripe_configured, staff_client, after_commit=lambda block: block(), until=until
    )
    until(
        lambda: ReconItem.objects.filter(
            kind=ReconKind.CASH_DEPOSIT, status=ReconStatus.MATCHED
        ).exists()
    )
    run_matcher.delay(today=add_business_days(day.today, 4).isoformat())
    until(lambda: ReconItem.objects.filter(status=ReconStatus.MISSING).exists())
    until(lambda: ReconItem.objects.filter(kind=ReconKind.BANK_LINE).exists())
    assert_the_day_reconciles(day, staff_client(Role.FINANCE))
