"""Many posters at once, against PostgreSQL, each thread on its own connection.

Concurrent posters of one ``posting_key`` serialise on the unique index (``INSERT … ON
CONFLICT DO NOTHING`` waits for the first inserter's transaction): exactly one entry lands.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from billing.chart import (
    BANK,
    MAIN_CASH,
    PATIENT_RECEIVABLE,
    SERVICE_REVENUE,
    STRIPE_CLEARING,
    VIETQR_CLEARING,
)
from billing.errors import PostingKeyConflict
from billing.models import Account, JournalEntry
from billing.money import Money
from billing.selectors.ledger import account_balance, trial_balance
from billing.services.ledger import Posting, ledger_post, ledger_reverse
from tests.concurrency import run_at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("chart"),
]

THREADS = 16
TIMEOUT_SECONDS = 30


def vnd(amount: int) -> Money:
    return Money(amount, "VND")


def _backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the posters to block"
        time.sleep(0.02)


def _assert_trial_balance_is_zero() -> None:
    net: defaultdict[str, int] = defaultdict(int)
    for row in trial_balance():
        net[row.currency] += row.debit_total - row.credit_total
    assert dict(net) == dict.fromkeys(net, 0)


def _visit_fee(amount: int = 180_000) -> list[Posting]:
    return [Posting.dr(PATIENT_RECEIVABLE, vnd(amount)), Posting.cr(SERVICE_REVENUE, vnd(amount))]


def test_concurrent_posters_of_one_key_land_exactly_one_entry_and_all_get_its_id():
    def issue_invoice(_: int) -> int:
        return ledger_post(
            posting_key="invoice:1:issue", lines=_visit_fee(), source_type="invoice"
        ).pk

    outcomes = run_at_once(THREADS, issue_invoice)

    entry = JournalEntry.objects.get(posting_key="invoice:1:issue")
    assert outcomes == [entry.pk] * THREADS
    assert JournalEntry.objects.count() == 1
    assert entry.lines.count() == 2
    assert account_balance(account=Account.objects.get(code=PATIENT_RECEIVABLE)) == vnd(180_000)


def test_concurrent_posters_of_one_key_with_different_lines_land_one_and_the_rest_conflict():
    def issue_invoice_for_another_amount(index: int) -> int:
        return ledger_post(
            posting_key="invoice:2:issue",
            lines=_visit_fee(amount=100_000 + index),
            source_type="invoice",
        ).pk

    outcomes = run_at_once(THREADS, issue_invoice_for_another_amount)

    entry = JournalEntry.objects.get(posting_key="invoice:2:issue")
    winners = [outcome for outcome in outcomes if isinstance(outcome, int)]
    conflicts = [outcome for outcome in outcomes if isinstance(outcome, PostingKeyConflict)]
    assert winners == [entry.pk]
    assert len(conflicts) == THREADS - 1
    assert all(conflict.detail == {"entry_id": entry.pk} for conflict in conflicts)
    assert JournalEntry.objects.count() == 1
    assert entry.lines.count() == 2


@pytest.mark.parametrize("first_poster_commits", [True, False], ids=["commits", "rolls-back"])
def test_posters_blocked_behind_an_open_transaction_get_the_entry_that_finally_lands(
    first_poster_commits,
):
    posted = threading.Event()
    release = threading.Event()
    first_entry_id: list[int] = []

    def first_poster() -> None:
        try:
            with transaction.atomic():
                first_entry_id.append(
                    ledger_post(
                        posting_key="invoice:3:issue", lines=_visit_fee(), source_type="invoice"
                    ).pk
                )
                posted.set()
                release.wait(timeout=TIMEOUT_SECONDS)
                transaction.set_rollback(not first_poster_commits)
        finally:
            connection.close()

    holder = threading.Thread(target=first_poster)
    holder.start()
    assert posted.wait(timeout=TIMEOUT_SECONDS)
    waiters = THREADS - 1

    def post_then_release_once_all_are_blocked(index: int) -> int:
        if index == waiters:
            # The extra thread is the referee: it lets the first poster finish only once
            # every other poster is provably waiting on its row lock.
            _wait_until(lambda: _backends_waiting_on_a_lock() >= waiters)
            release.set()
            return -1
        return ledger_post(
            posting_key="invoice:3:issue", lines=_visit_fee(), source_type="invoice"
        ).pk

    outcomes = run_at_once(waiters + 1, post_then_release_once_all_are_blocked)
    holder.join(timeout=TIMEOUT_SECONDS)

    entry = JournalEntry.objects.get(posting_key="invoice:3:issue")
    assert outcomes == [entry.pk] * waiters + [-1]
    assert (entry.pk == first_entry_id[0]) is first_poster_commits
    assert account_balance(account=Account.objects.get(code=PATIENT_RECEIVABLE)) == vnd(180_000)


def test_concurrent_postings_with_different_keys_all_land_and_the_trial_balance_is_zero():
    accounts = [MAIN_CASH, BANK, STRIPE_CLEARING, VIETQR_CLEARING]

    def pay(index: int) -> int:
        amount = 10_000 * (index + 1)
        return ledger_post(
            posting_key=f"payment:{index}:capture",
            lines=[
                Posting.dr(accounts[index % len(accounts)], vnd(amount)),
                Posting.cr(PATIENT_RECEIVABLE, vnd(amount)),
            ],
            source_type="payment",
            source_id=str(index),
        ).pk

    outcomes = run_at_once(THREADS, pay)

    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    assert len(set(outcomes)) == THREADS
    assert JournalEntry.objects.filter(source_type="payment").count() == THREADS
    _assert_trial_balance_is_zero()
    expected = Counter[str]()
    for index in range(THREADS):
        expected[accounts[index % len(accounts)]] += 10_000 * (index + 1)
    for code, amount in expected.items():
        assert account_balance(account=Account.objects.get(code=code)) == vnd(amount)
    total = sum(10_000 * (index + 1) for index in range(THREADS))
    assert account_balance(account=Account.objects.get(code=PATIENT_RECEIVABLE)) == vnd(-total)


def test_concurrent_reversals_of_one_entry_land_exactly_one_reversal():
    original = ledger_post(posting_key="invoice:4:issue", lines=_visit_fee(), source_type="invoice")

    outcomes = run_at_once(THREADS, lambda _: ledger_reverse(entry=original).pk)

    reversal = JournalEntry.objects.get(reverses=original)
    assert outcomes == [reversal.pk] * THREADS
    assert account_balance(account=Account.objects.get(code=PATIENT_RECEIVABLE)) == vnd(0)
    _assert_trial_balance_is_zero()
