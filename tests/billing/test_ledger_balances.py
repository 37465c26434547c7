"""Daily account balances kept by PostgreSQL as lines are inserted (issue 20): the trial
balance read from them equals the one added up from every line, at any moment (``as_of``
inside a day, before and after it), with entries back-dated and with many posters to one
hot account at once (each connection adds into its own slot row)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Sum

from billing.chart import PATIENT_RECEIVABLE, SERVICE_REVENUE, VIETQR_CLEARING
from billing.models import AccountBalance, JournalLine
from billing.money import Money
from billing.selectors.ledger import trial_balance, trial_balance_from_lines
from billing.services.ledger import Posting, ledger_post
from tests.concurrency import run_at_once


def _post(key: str, amount: int, *, at: datetime | None = None, pay: bool = False) -> None:
    debit, credit = (
        (VIETQR_CLEARING, PATIENT_RECEIVABLE)
        if pay
        else (
            PATIENT_RECEIVABLE,
            SERVICE_REVENUE,
        )
    )
    ledger_post(
        posting_key=key,
        lines=[Posting.dr(debit, Money(amount, "VND")), Posting.cr(credit, Money(amount, "VND"))],
        source_type="manual",
        posted_at=at,
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("chart")
def test_the_trial_balance_from_daily_balances_equals_the_lines_at_any_moment() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    day = datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    _post("a", 100_000, at=day + timedelta(minutes=10))
    _post("b", 30_000, at=day + timedelta(minutes=20), pay=True)
    _post("c", 7_000)  # now
    _post("d", 50_000, at=day + timedelta(minutes=15))  # back-dated before "b"
    moments = [
        None,
        day - timedelta(seconds=1),
        day,
        day + timedelta(minutes=10),
        day + timedelta(minutes=17),
        now + timedelta(days=1),
    ]

    for as_of in moments:
        assert trial_balance(as_of=as_of) == trial_balance_from_lines(as_of=as_of), as_of
    totals = {row.code: row for row in trial_balance()}
    assert totals[PATIENT_RECEIVABLE].debit_total == 157_000
    assert totals[PATIENT_RECEIVABLE].credit_total == 30_000
    assert trial_balance(as_of=day + timedelta(minutes=17))[0].debit_total > 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("chart")
def test_many_posters_to_one_hot_account_at_once_leave_its_balance_exact() -> None:
    threads, each = 8, 5

    def poster(index: int) -> None:
        for n in range(each):
            _post(f"hot:{index}:{n}", 1_000 + index, pay=True)

    outcomes = run_at_once(threads, poster)

    assert outcomes == [None] * threads

    lines = JournalLine.objects.filter(account__code=VIETQR_CLEARING).aggregate(d=Sum("debit"))
    balances = AccountBalance.objects.filter(account__code=VIETQR_CLEARING).aggregate(
        d=Sum("debit_total"), n=Sum("line_count")
    )
    assert lines["d"] == sum((1_000 + i) * each for i in range(threads))
    assert balances == {"d": lines["d"], "n": threads * each}
    assert trial_balance() == trial_balance_from_lines()


@pytest.mark.django_db
@pytest.mark.usefixtures("chart")
def test_a_multi_row_insert_of_lines_is_added_once_per_account_and_day() -> None:
    """The trigger runs per statement: lines inserted by one ``INSERT … SELECT`` (as the
    benchmark's fill does) are added in one go, each account's once."""
    _post("base", 5_000)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_journalentry (posted_at, memo, source_type, source_id,"
            " posting_key, created_at) SELECT now() - n * interval '1 hour', '', 'manual',"
            " '', 'bulk:' || n, now() FROM generate_series(1, 60) n"
        )
        cursor.execute(
            "INSERT INTO billing_journalline (entry_id, account_id, debit, credit, reference,"
            " counterparty) SELECT e.id, a.id, CASE WHEN a.code = %s THEN 2000 ELSE 0 END,"
            " CASE WHEN a.code = %s THEN 2000 ELSE 0 END, '', ''"
            " FROM billing_journalentry e CROSS JOIN billing_account a"
            " WHERE e.posting_key LIKE 'bulk:%%' AND a.code IN (%s, %s)",
            [PATIENT_RECEIVABLE, SERVICE_REVENUE, PATIENT_RECEIVABLE, SERVICE_REVENUE],
        )

    assert trial_balance() == trial_balance_from_lines()
    assert AccountBalance.objects.aggregate(n=Sum("line_count"))["n"] == 2 + 120
