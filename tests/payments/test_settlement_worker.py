"""Settlement on a real Celery worker whose process is killed in the middle of listing a
payout's balance transactions: the message comes back (``reject_on_worker_lost``), the new
process resumes after the last stored page, and the payout is posted once."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from billing.chart import CASH_IN_TRANSIT, STRIPE_CLEARING
from billing.models import JournalEntry
from payments.models import PayoutStatus, StripeBalanceLine, StripePayout
from payments.tasks import settle_stripe_payout
from tests.assertions import balance
from tests.celery_worker import celery_prefork_worker, wait_until  # noqa: F401 (fixture)
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.payments import STRIPE_KEY, paid_by_card

pytestmark = pytest.mark.usefixtures("worker_lists_slowly", "celery_prefork_worker")
LIST = "/v1/balance_transactions"


@pytest.fixture
def worker_lists_slowly(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch, stripe_configured: FakeStripeServer
) -> None:
    """The worker process reads its settings from the environment it is started with: the
    fake Stripe, two balance transactions a page."""
    for name, value in {
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_API_BASE": stripe_configured.url,
        "STRIPE_MAX_NETWORK_RETRIES": "0",
        "STRIPE_SETTLEMENT_PAGE_SIZE": "2",
    }.items():
        monkeypatch.setenv(name, value)


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def test_a_worker_killed_mid_list_resumes_after_the_stored_pages_and_posts_once(
    stripe_configured: FakeStripeServer,
    celery_prefork_worker: Any,  # noqa: F811 (the fixture imported above)
) -> None:
    for amount in (10_000, 20_000, 30_000, 40_000, 50_000):
        paid_by_card(stripe_configured, amount=amount)
    payout = stripe_configured.payout_all()
    assert payout is not None
    stripe_configured.set_latency(2.0, LIST)
    settle_stripe_payout.delay(payout_id=payout["id"])
    assert wait_until(lambda: StripeBalanceLine.objects.count() >= 2, timeout=90)
    children = _children(celery_prefork_worker.pid)
    assert children, "no worker process to kill"
    for child in children:
        os.kill(child, signal.SIGKILL)  # the process dies in the middle of the next page
    before = [r.query for r in stripe_configured.request_log if r.path == LIST]
    with stripe_configured.lock:
        stripe_configured._latency.clear()
    assert wait_until(
        lambda: StripePayout.objects.filter(status=PayoutStatus.SETTLED).exists(), timeout=120
    ), "the settlement never finished after the worker died"
    lists = [r for r in stripe_configured.request_log if r.path == LIST]
    assert sum("starting_after" not in r.query for r in lists) == 1  # never started over
    # The next delivery goes on from the pages stored: no page the dead process had finished
    # before its last one is listed again (its last one may be: it died reading it, or
    # before storing it). On a loaded machine the kill can land on any page.
    after = [r.query for r in lists[len(before) :]]
    assert after, "nothing listed after the worker died"
    assert not set(after) & set(before[:-1]), (before, after)
    assert StripeBalanceLine.objects.count() == 6
    assert JournalEntry.objects.filter(source_type="stripe_payout").count() == 1
    assert balance(STRIPE_CLEARING) == 0
    assert balance(CASH_IN_TRANSIT) == payout["amount"]
