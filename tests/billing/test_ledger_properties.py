"""Properties of the ledger under random sequences of postings, replays and reversals.

Each example runs in a savepoint that is rolled back, so every example starts from an empty
ledger although pytest-django's ``db`` fixture is set up once per test function. After each
posting the deferred balance checks are forced to run (``SET CONSTRAINTS ALL IMMEDIATE``), so
the database's own commit-time guard judges every entry too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.chart import current_pack
from billing.models import JournalEntry
from billing.money import Money
from billing.selectors.ledger import account_balance, trial_balance
from billing.services.ledger import Posting, ledger_post, ledger_reverse

CHART_CODES = [account.code for account in current_pack().accounts]
MAX_AMOUNT = 10**12  # a trillion đồng: far beyond any hospital bill, well inside bigint
# Written out here rather than taken from the model, so that the check stays independent.
DEBIT_NORMAL_TYPES = {"asset", "expense"}


@dataclass(frozen=True)
class Post:
    lines: tuple[Posting, ...]


@dataclass(frozen=True)
class Replay:
    """Post an earlier posting's key again, with the same lines."""

    pick: int


@dataclass(frozen=True)
class Reverse:
    """Reverse an earlier entry (a posting or a reversal)."""

    pick: int


def _split(draw: st.DrawFn, total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` positive integers."""
    if parts == 1:
        return [total]
    cuts = sorted(draw(st.sets(st.integers(1, total - 1), min_size=parts - 1, max_size=parts - 1)))
    return [high - low for low, high in zip([0, *cuts], [*cuts, total], strict=True)]


@st.composite
def balanced_postings(draw: st.DrawFn) -> Post:
    """2-5 lines on random chart accounts, balanced by construction."""
    line_count = draw(st.integers(2, 5))
    debit_count = draw(st.integers(1, line_count - 1))
    debits = draw(st.lists(st.integers(1, MAX_AMOUNT), min_size=debit_count, max_size=debit_count))
    credit_count = min(line_count - debit_count, sum(debits))
    credits = _split(draw, sum(debits), credit_count)
    codes = draw(
        st.lists(
            st.sampled_from(CHART_CODES),
            min_size=len(debits) + len(credits),
            max_size=len(debits) + len(credits),
        )
    )
    lines = [
        Posting.dr(code, Money(amount, "VND"))
        for code, amount in zip(codes[: len(debits)], debits, strict=True)
    ] + [
        Posting.cr(code, Money(amount, "VND"))
        for code, amount in zip(codes[len(debits) :], credits, strict=True)
    ]
    return Post(tuple(draw(st.permutations(lines))))


operations = st.lists(
    st.one_of(
        balanced_postings(),
        st.integers(0, 1_000).map(Replay),
        st.integers(0, 1_000).map(Reverse),
    ),
    min_size=1,
    max_size=12,
)


def _force_deferred_checks() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _balances_by_raw_sql() -> dict[str, int]:
    """Each account's balance on its normal side, summed from the lines without the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.code, a.type, coalesce(sum(l.debit), 0), coalesce(sum(l.credit), 0)"
            " FROM billing_account a LEFT JOIN billing_journalline l ON l.account_id = a.id"
            " GROUP BY a.id, a.code, a.type"
        )
        rows = cursor.fetchall()
    return {
        code: int(debit - credit) if account_type in DEBIT_NORMAL_TYPES else int(credit - debit)
        for code, account_type, debit, credit in rows
    }


Line = tuple[str, int, int]  # account code, debit, credit


def _apply(ops: list[Post | Replay | Reverse]) -> dict[str, int]:
    """Run the operations; return the net debit per account code they should leave, worked
    out from the operations themselves (a posting adds its lines, a reversal their mirror,
    a replay or a repeated reversal nothing)."""
    posted: list[tuple[str, Post, int]] = []
    entries: list[JournalEntry] = []
    lines_of: dict[int, list[Line]] = {}
    expected_net: defaultdict[str, int] = defaultdict(int)
    for step, op in enumerate(ops):
        if isinstance(op, Post):
            key = f"property:{step}"
            entry = ledger_post(posting_key=key, lines=op.lines, source_type="property")
            posted.append((key, op, entry.pk))
            new_lines = [(line.account_code, line.debit, line.credit) for line in op.lines]
        elif isinstance(op, Replay) and posted:
            key, original, original_id = posted[op.pick % len(posted)]
            entry = ledger_post(posting_key=key, lines=original.lines, source_type="property")
            assert entry.pk == original_id, "a replay returns the entry already posted"
            new_lines = []
        elif isinstance(op, Reverse) and entries:
            reversed_entry = entries[op.pick % len(entries)]
            entry = ledger_reverse(entry=reversed_entry)
            new_lines = [
                (code, credit, debit) for code, debit, credit in lines_of[reversed_entry.pk]
            ]
        else:
            continue
        _force_deferred_checks()
        if entry.pk not in lines_of:
            lines_of[entry.pk] = new_lines
            entries.append(entry)
            for code, debit, credit in new_lines:
                expected_net[code] += debit - credit
    assert JournalEntry.objects.count() == len(lines_of)
    return expected_net


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_random_postings_replays_and_reversals_keep_every_balance_consistent(chart, ops):
    with transaction.atomic():
        try:
            expected_net = _apply(ops)

            totals: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
            for row in trial_balance():
                totals[row.currency][0] += row.debit_total
                totals[row.currency][1] += row.credit_total
            assert all(debit == credit for debit, credit in totals.values()), dict(totals)

            by_raw_sql = _balances_by_raw_sql()
            for account in chart.values():
                balance = account_balance(account=account)
                assert balance == Money(by_raw_sql[account.code], "VND"), account.code
                net = expected_net[account.code]
                assert balance.amount == (net if account.type in DEBIT_NORMAL_TYPES else -net)
        finally:
            transaction.set_rollback(True)
