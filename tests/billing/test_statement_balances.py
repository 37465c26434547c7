"""The statements' opening and closing balances come from the daily balances (issue 20,
item 4), kept per UTC day, while a statement's days are the hospital's local days (UTC+7:
local midnight is 17:00 UTC). On a ledger with postings on both sides of both midnights
over many days they equal a plain scan of the lines, for every range and at every moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from billing.chart import AccountRole, account_for
from billing.models import Account, AccountType, JournalLine
from billing.money import Money
from billing.selectors.ledger import Totals, account_totals_before
from billing.selectors.statements import account_detail, cash_book, local_window
from billing.services.ledger import Posting, ledger_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("chart")]

RECEIVABLE = account_for(AccountRole.PATIENT_RECEIVABLE)
REVENUE = account_for(AccountRole.SERVICE_REVENUE)
SAFE = account_for(AccountRole.MAIN_SAFE)
DRAWER_1 = account_for(AccountRole.DRAWER, drawer=1)
FIRST_DAY = date(2026, 3, 1)
DAYS = 12
# UTC times of day: the UTC midnight, just before and after local midnight (17:00 UTC), the
# local night (17:00-24:00 UTC), the local working day.
CLOCK = [
    timedelta(0),
    timedelta(hours=3),
    timedelta(hours=16, minutes=59, seconds=59),
    timedelta(hours=17),
    timedelta(hours=17, seconds=1),
    timedelta(hours=21),
    timedelta(hours=23, minutes=59, seconds=59),
]


def _post(key: str, when: datetime, debit: str, credit: str, amount: int, who: str = "") -> None:
    money = Money(amount, "VND")
    ledger_post(
        posting_key=key,
        lines=[
            Posting.dr(debit, money, "invoice:1", counterparty=who if debit == RECEIVABLE else ""),
            Posting.cr(
                credit, money, "invoice:1", counterparty=who if credit == RECEIVABLE else ""
            ),
        ],
        source_type="manual",
        memo=key,
        posted_at=when,
    )


@pytest.fixture
def boundary_ledger() -> list[datetime]:
    """Invoices, payments into drawer 1 and the drawer's cash to the safe at each of
    :data:`CLOCK`'s times of :data:`DAYS` days; returns every posting's moment."""
    Account.objects.create(code=DRAWER_1, name="Quầy 01", type=AccountType.ASSET)
    moments = []
    for day in range(DAYS):
        midnight = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time(), UTC)
        for slot, offset in enumerate(CLOCK):
            when = midnight + offset
            key = f"{day}-{slot}"
            who = f"BN{slot % 3}"
            _post(f"inv-{key}", when, RECEIVABLE, REVENUE, 100_000 + 1_000 * day + slot, who)
            if slot % 2 == 0:
                _post(f"pay-{key}", when, DRAWER_1, RECEIVABLE, 40_000 + day, who)
            if slot == 3:
                _post(f"safe-{key}", when, SAFE, DRAWER_1, 20_000 + day)
            moments.append(when)
    return moments


def _scanned(account: Account, before: datetime | None, counterparty: str = "") -> Totals:
    lines = JournalLine.objects.filter(account=account)
    if counterparty:
        lines = lines.filter(counterparty=counterparty)
    if before is not None:
        lines = lines.filter(entry__posted_at__lt=before)
    sums = lines.aggregate(
        debit=Coalesce(Sum("debit"), 0), credit=Coalesce(Sum("credit"), 0), lines=Count("id")
    )
    return Totals(sums["debit"], sums["credit"], sums["lines"])


def test_the_totals_before_any_moment_equal_a_scan_of_the_lines(
    boundary_ledger: list[datetime],
) -> None:
    seconds = [timedelta(0), timedelta(seconds=-1), timedelta(seconds=1)]
    moments = [m + s for m in boundary_ledger for s in seconds]
    moments += [m + timedelta(hours=12) for m in boundary_ledger]  # either half of a day

    for code in (RECEIVABLE, REVENUE, DRAWER_1, SAFE):
        account = Account.objects.get(code=code)
        for moment in [None, *moments]:
            assert account_totals_before(account=account, moment=moment) == _scanned(
                account, moment
            ), (code, moment)


@pytest.mark.parametrize("counterparty", ["", "BN1"])
def test_every_statements_opening_and_closing_equal_a_scan_of_the_lines(
    boundary_ledger: list[datetime], counterparty: str
) -> None:
    ranges = [
        (FIRST_DAY + timedelta(days=first), FIRST_DAY + timedelta(days=first + length))
        for first in range(-1, DAYS + 1)
        for length in (0, 1, 4)
    ]

    for code in (RECEIVABLE, REVENUE, DRAWER_1):
        account = Account.objects.get(code=code)
        for date_from, date_to in ranges:
            start, end = local_window(date_from, date_to)
            detail = account_detail(
                account=account, date_from=date_from, date_to=date_to, counterparty=counterparty
            )
            opening = _scanned(account, start, counterparty)
            closing = _scanned(account, end, counterparty)

            where = (code, date_from, date_to)
            assert detail.opening_balance == opening.balance(account), where
            assert detail.closing_balance == closing.balance(account), where
            assert (detail.total_debit, detail.total_credit) == (
                closing.debit - opening.debit,
                closing.credit - opening.credit,
            ), where
            lines = list(detail.lines)
            assert len(lines) == detail.line_count == closing.lines - opening.lines, where
            last = lines[-1].balance if lines else detail.opening_balance
            assert last == detail.closing_balance, where


def test_the_cash_book_balances_chain_from_day_to_day(boundary_ledger: list[datetime]) -> None:
    closing: dict[str, int] = {}
    for day in range(-1, DAYS + 1):
        local_day = FIRST_DAY + timedelta(days=day)
        books = {book.detail.account.code: book for book in cash_book(
            date_from=local_day, date_to=local_day
        )}  # fmt: skip
        for code, book in books.items():
            account = book.detail.account
            start, end = local_window(local_day, local_day)
            assert book.detail.opening_balance == _scanned(account, start).balance(account)
            assert book.detail.closing_balance == _scanned(account, end).balance(account)
            assert book.detail.opening_balance == closing.get(code, 0), (code, local_day)
            closing[code] = book.detail.closing_balance
    assert closing[DRAWER_1] == _scanned(Account.objects.get(code=DRAWER_1), None).balance(
        Account.objects.get(code=DRAWER_1)
    )
