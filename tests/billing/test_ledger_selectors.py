"""Reads of the ledger: balances as of a moment, account statements, the trial balance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing.chart import (
    DEPOSIT_LIABILITY,
    MAIN_CASH,
    PATIENT_RECEIVABLE,
    PROVIDER_FEES,
    SERVICE_REVENUE,
    STRIPE_CLEARING,
)
from billing.models import Account, JournalLine
from billing.money import Money
from billing.selectors.ledger import (
    _contra_in_query,
    _contra_per_chunk,
    account_balance,
    account_statement,
    journal_entries,
    trial_balance,
)
from billing.services.ledger import Posting, ledger_post

pytestmark = pytest.mark.usefixtures("chart")

MARCH_1 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
MARCH_10 = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)
MARCH_20 = datetime(2025, 3, 20, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def vnd(amount: int) -> Money:
    return Money(amount, "VND")


def _cash_payment(key: str, amount: int, posted_at: datetime) -> int:
    """A patient pays cash at the desk: Dr main safe / Cr patient receivable."""
    return ledger_post(
        posting_key=key,
        lines=[Posting.dr(MAIN_CASH, vnd(amount)), Posting.cr(PATIENT_RECEIVABLE, vnd(amount))],
        source_type="payment",
        source_id=key,
        memo=f"cash {amount}",
        posted_at=posted_at,
    ).pk


def _refund(key: str, amount: int, posted_at: datetime) -> int:
    """Cash handed back: Dr patient receivable / Cr main safe."""
    return ledger_post(
        posting_key=key,
        lines=[Posting.dr(PATIENT_RECEIVABLE, vnd(amount)), Posting.cr(MAIN_CASH, vnd(amount))],
        source_type="refund",
        posted_at=posted_at,
    ).pk


def _account(code: str) -> Account:
    return Account.objects.get(code=code)


def test_a_balance_as_of_a_moment_includes_entries_up_to_it_and_excludes_later_ones():
    _cash_payment("p1", 100_000, MARCH_1)
    _cash_payment("p2", 50_000, MARCH_10)
    _cash_payment("p3", 20_000, MARCH_10 + SECOND)
    cash = _account(MAIN_CASH)

    assert account_balance(account=cash, as_of=MARCH_1 - SECOND) == vnd(0)
    assert account_balance(account=cash, as_of=MARCH_1) == vnd(100_000)
    assert account_balance(account=cash, as_of=MARCH_10) == vnd(150_000)
    assert account_balance(account=cash) == vnd(170_000)


def test_a_balance_is_read_on_the_accounts_normal_side():
    ledger_post(
        posting_key="invoice:1:issue",
        lines=[
            Posting.dr(PATIENT_RECEIVABLE, vnd(300_000)),
            Posting.cr(SERVICE_REVENUE, vnd(300_000)),
        ],
        source_type="invoice",
    )
    ledger_post(
        posting_key="deposit:1:take",
        lines=[
            Posting.dr(MAIN_CASH, vnd(1_000_000)),
            Posting.cr(DEPOSIT_LIABILITY, vnd(1_000_000)),
        ],
        source_type="deposit",
    )

    assert account_balance(account=_account(PATIENT_RECEIVABLE)) == vnd(
        300_000
    )  # asset: debit-normal
    assert account_balance(account=_account(SERVICE_REVENUE)) == vnd(
        300_000
    )  # revenue: credit-normal
    assert account_balance(account=_account(DEPOSIT_LIABILITY)) == vnd(1_000_000)  # liability
    assert account_balance(account=_account(PROVIDER_FEES)) == vnd(0)  # no lines at all


def test_a_statement_has_an_opening_balance_running_balances_and_a_closing_balance():
    _cash_payment("before", 500_000, MARCH_1 - SECOND)
    first = _cash_payment("first", 100_000, MARCH_1)
    refund = _refund("refund", 30_000, MARCH_10 + SECOND)
    last = _cash_payment("last", 40_000, MARCH_20 - SECOND)
    _cash_payment("after", 999_000, MARCH_20)

    statement = account_statement(account=_account(MAIN_CASH), date_from=MARCH_1, date_to=MARCH_20)

    # [March 1, March 20): an entry at the start belongs to it, one at the end does not.
    assert statement.opening_balance == vnd(500_000)
    assert [(line.entry_id, line.debit, line.credit, line.balance) for line in statement.lines] == [
        (first, 100_000, 0, 600_000),
        (refund, 0, 30_000, 570_000),
        (last, 40_000, 0, 610_000),
    ]
    assert statement.closing_balance == vnd(610_000)
    assert statement.closing_balance == account_balance(
        account=_account(MAIN_CASH), as_of=MARCH_20 - SECOND
    )
    assert (statement.lines[0].source_type, statement.lines[0].memo) == ("payment", "cash 100000")


def test_a_lines_contra_accounts_are_its_entrys_other_accounts_once_each_in_code_order():
    split = ledger_post(
        posting_key="split",
        lines=[
            Posting.dr(MAIN_CASH, vnd(100_000)),
            Posting.dr(STRIPE_CLEARING, vnd(50_000)),
            Posting.cr(PATIENT_RECEIVABLE, vnd(90_000)),
            Posting.cr(SERVICE_REVENUE, vnd(40_000)),
            Posting.cr(SERVICE_REVENUE, vnd(20_000)),
        ],
        source_type="manual",
        posted_at=MARCH_1,
    ).pk
    paid = _cash_payment("paid", 10_000, MARCH_10)
    cash = _account(MAIN_CASH)
    lines = JournalLine.objects.filter(account=cash).order_by("entry_id", "id")

    # PostgreSQL computes them with each line (one query); the query per chunk of lines
    # (other databases) finds the same.
    in_query = [(row[0], row[-1]) for row in _contra_in_query(lines, cash)]
    per_chunk = [(row[0], row[-1]) for row in _contra_per_chunk(lines, cash)]

    assert (
        in_query
        == per_chunk
        == [
            (split, sorted([PATIENT_RECEIVABLE, SERVICE_REVENUE, STRIPE_CLEARING])),
            (paid, [PATIENT_RECEIVABLE]),
        ]
    )


def test_a_statement_of_a_credit_normal_account_counts_credits_as_increases():
    invoice = ledger_post(
        posting_key="invoice:1:issue",
        lines=[
            Posting.dr(PATIENT_RECEIVABLE, vnd(300_000)),
            Posting.cr(SERVICE_REVENUE, vnd(300_000)),
        ],
        source_type="invoice",
        posted_at=MARCH_10,
    ).pk
    credit_note = ledger_post(
        posting_key="invoice:1:credit-note",
        lines=[
            Posting.dr(SERVICE_REVENUE, vnd(100_000)),
            Posting.cr(PATIENT_RECEIVABLE, vnd(100_000)),
        ],
        source_type="invoice",
        posted_at=MARCH_20,
    ).pk

    statement = account_statement(account=_account(SERVICE_REVENUE))

    assert statement.opening_balance == vnd(0)
    assert [(line.entry_id, line.balance) for line in statement.lines] == [
        (invoice, 300_000),
        (credit_note, 200_000),
    ]
    assert statement.closing_balance == vnd(200_000)


def test_consecutive_statements_chain_and_an_entry_at_the_boundary_appears_in_exactly_one():
    _cash_payment("early", 100_000, MARCH_1 + SECOND)
    on_boundary = _cash_payment("on-boundary", 50_000, MARCH_10)
    late = _cash_payment("late", 20_000, MARCH_10 + SECOND)
    cash = _account(MAIN_CASH)

    earlier = account_statement(account=cash, date_from=MARCH_1, date_to=MARCH_10)
    later = account_statement(account=cash, date_from=MARCH_10, date_to=MARCH_20)

    assert earlier.closing_balance == later.opening_balance == vnd(100_000)
    entry_ids = [line.entry_id for line in earlier.lines + later.lines]
    assert entry_ids.count(on_boundary) == 1
    assert on_boundary in [line.entry_id for line in later.lines]  # [from, to): it opens later
    assert entry_ids.count(late) == 1
    assert later.closing_balance == vnd(170_000)


def test_the_trial_balance_as_of_a_moment_leaves_out_later_entries_and_balances():
    _cash_payment("p1", 100_000, MARCH_1)
    ledger_post(
        posting_key="fee:1",
        lines=[Posting.dr(PROVIDER_FEES, vnd(2_000)), Posting.cr(STRIPE_CLEARING, vnd(2_000))],
        source_type="fee",
        posted_at=MARCH_20,
    )

    as_of_march_10 = {row.code: row for row in trial_balance(as_of=MARCH_10)}
    today = {row.code: row for row in trial_balance()}

    assert set(as_of_march_10) == {MAIN_CASH, PATIENT_RECEIVABLE}
    assert (as_of_march_10[MAIN_CASH].debit_total, as_of_march_10[MAIN_CASH].credit_total) == (
        100_000,
        0,
    )
    assert (
        as_of_march_10[PATIENT_RECEIVABLE].credit_balance,
        as_of_march_10[PATIENT_RECEIVABLE].balance,
    ) == (
        100_000,
        -100_000,
    )
    assert set(today) == {MAIN_CASH, STRIPE_CLEARING, PATIENT_RECEIVABLE, PROVIDER_FEES}
    assert today[PROVIDER_FEES].balance == 2_000
    for rows in (as_of_march_10.values(), today.values()):
        assert sum(row.debit_total for row in rows) == sum(row.credit_total for row in rows)


def test_the_trial_balance_lists_accounts_in_code_order_with_their_totals():
    _cash_payment("p1", 100_000, MARCH_1)
    _refund("r1", 40_000, MARCH_10)

    rows = trial_balance()

    assert [(row.code, row.debit_total, row.credit_total) for row in rows] == [
        (MAIN_CASH, 100_000, 40_000),
        (PATIENT_RECEIVABLE, 40_000, 100_000),
    ]
    assert [(row.debit_balance, row.credit_balance) for row in rows] == [(60_000, 0), (0, 60_000)]


def test_journal_entries_filter_by_period_from_inclusive_to_exclusive_and_by_account():
    on_start = _cash_payment("on-start", 100_000, MARCH_1)
    _cash_payment("on-end", 50_000, MARCH_10)
    fee = ledger_post(
        posting_key="fee:1",
        lines=[Posting.dr(PROVIDER_FEES, vnd(2_000)), Posting.cr(STRIPE_CLEARING, vnd(2_000))],
        source_type="fee",
        posted_at=MARCH_1 + SECOND,
    ).pk

    in_period = journal_entries(date_from=MARCH_1, date_to=MARCH_10)
    on_fees = journal_entries(account_code=PROVIDER_FEES)
    by_source = journal_entries(source_type="payment", source_id="on-start")

    assert [entry.pk for entry in in_period] == [fee, on_start]  # newest first
    assert [entry.pk for entry in on_fees] == [fee]
    assert [entry.pk for entry in by_source] == [on_start]
