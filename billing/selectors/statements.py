"""The statements finance asks for, read from the journal lines (one source: no figure of
their own):

* the account detail ledger (sổ chi tiết tài khoản): an account's opening balance, its lines
  in a date range with the voucher, the customer, the contra accounts and the running
  balance, and its closing balance — optionally for one customer only;
* the daily cash book (sổ quỹ tiền mặt): the same for each cash account (the main safe and
  every drawer) with receipts (thu) and payments (chi);
* aged receivables (phân tích tuổi nợ): what patients and the insurance fund owe at a date,
  per customer, credits paying the oldest debits first (FIFO), in buckets of 0-30, 31-60,
  61-90 and over 90 days.

Dates are the hospital's local calendar days, both ends inclusive; balances are on the
account's normal side (assets and expenses: debit minus credit; the others: credit minus
debit), as in the trial balance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby
from operator import itemgetter
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum, Window

from billing.chart import AccountRole, account_for, current_pack
from billing.models import Account, AccountType, JournalLine
from billing.selectors.ledger import (
    StatementLine,
    account_totals_before,
    statement_lines,
    statement_totals_before,
)


def local_window(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """Local days ``[date_from, date_to]`` as an aware half-open interval."""
    tz = ZoneInfo(settings.TIME_ZONE)
    return (
        datetime.combine(date_from, time.min, tzinfo=tz),
        datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz),
    )


def _normal(account: Account, debit: int, credit: int) -> int:
    return debit - credit if AccountType(account.type).debit_normal else credit - debit


# --- The account detail ledger ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountDetail:
    account: Account
    date_from: date
    date_to: date
    counterparty: str
    opening_balance: int
    total_debit: int
    total_credit: int
    closing_balance: int
    line_count: int
    # Read as they are iterated, once (a chunked cursor): inside the statement_snapshot the
    # balances above were read in.
    lines: Iterator[StatementLine]


@contextmanager
def statement_snapshot() -> Iterator[None]:
    """One snapshot of the ledger for a statement's balances and its lines (PostgreSQL: a
    read-only REPEATABLE READ transaction), so that a posting committed while the statement
    is read is in both or in neither: the last running balance is the closing balance. Held
    while the statement streams. Inside a transaction already, that transaction's view."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def account_detail(
    *, account: Account, date_from: date, date_to: date, counterparty: str = ""
) -> AccountDetail:
    """``account``'s detail ledger for the local days ``[date_from, date_to]``: the opening
    balance (everything posted before, from the daily balances), the period's debit and
    credit totals and the closing balance (from the same), and each line in posting order
    with its running balance, streamed. With ``counterparty``, only that customer's lines
    count (a customer's sub-ledger). Call it inside :func:`statement_snapshot` and read the
    lines there."""
    start, end = local_window(date_from, date_to)
    before = statement_totals_before(account=account, moment=start, counterparty=counterparty)
    through = statement_totals_before(account=account, moment=end, counterparty=counterparty)
    moved = through - before
    return AccountDetail(
        account=account,
        date_from=date_from,
        date_to=date_to,
        counterparty=counterparty,
        opening_balance=before.balance(account),
        total_debit=moved.debit,
        total_credit=moved.credit,
        closing_balance=through.balance(account),
        line_count=moved.lines,
        lines=statement_lines(
            account=account,
            date_from=start,
            date_to=end,
            opening=before.balance(account),
            counterparty=counterparty,
        ),
    )


# --- The cash book ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CashBook:
    kind: str  # "safe" or "drawer"
    drawer: int | None
    detail: AccountDetail

    @property
    def receipts(self) -> int:
        return self.detail.total_debit

    @property
    def payments(self) -> int:
        return self.detail.total_credit


def cash_accounts() -> list[tuple[Account, str, int | None]]:
    """The main safe, then every drawer's account, in code order: (account, kind, drawer)."""
    pack = current_pack()
    safe_code = account_for(AccountRole.MAIN_SAFE)
    found: list[tuple[Account, str, int | None]] = []
    for account in Account.objects.filter(code__startswith=pack.drawers.prefix).order_by("code"):
        number = pack.drawers.number(account.code)
        if number is not None:
            found.append((account, "drawer", number))
    safe = Account.objects.filter(code=safe_code).first()
    return ([(safe, "safe", None)] if safe is not None else []) + found


def cash_book(*, date_from: date, date_to: date, account: Account | None = None) -> list[CashBook]:
    """The cash book of the local days ``[date_from, date_to]``: for the safe and each
    drawer (or only ``account``, one of them), the opening balance, the receipts (debits)
    and payments (credits) line by line with their vouchers, and the closing balance. A
    drawer that had no cash before or during the days is left out. Inside
    :func:`statement_snapshot`, as :func:`account_detail`."""
    books = []
    for cash, kind, drawer in cash_accounts():
        if account is not None and cash.pk != account.pk:
            continue
        detail = account_detail(account=cash, date_from=date_from, date_to=date_to)
        if account is None and kind == "drawer" and not detail.line_count:
            _, end = local_window(date_from, date_to)
            if not account_totals_before(account=cash, moment=end).lines:
                continue
        books.append(CashBook(kind=kind, drawer=drawer, detail=detail))
    return books


# --- Aged receivables ------------------------------------------------------------------

BUCKETS = ("0_30", "31_60", "61_90", "over_90")


def bucket_of(age_days: int) -> str:
    """0-30 days, 31-60, 61-90, more than 90 (a debt of today is 0 days old)."""
    if age_days <= 30:
        return "0_30"
    if age_days <= 60:
        return "31_60"
    if age_days <= 90:
        return "61_90"
    return "over_90"


@dataclass(frozen=True, slots=True)
class AgedItem:
    reference: str
    counterparty: str
    since: date  # the local day of the debit still (partly) unpaid
    age_days: int
    bucket: str
    balance: int  # what of that debit the customer's credits have not paid


@dataclass(frozen=True, slots=True)
class AgedCounterparty:
    counterparty: str
    buckets: dict[str, int]
    total: int
    items: list[AgedItem]
    # More paid than owed (an overpayment, an advance not yet used): not aged.
    credit_balance: int = 0


@dataclass(frozen=True, slots=True)
class AgedReceivables:
    account: Account
    as_of: date
    buckets: dict[str, int]
    total: int
    counterparties: list[AgedCounterparty]
    credit_balance: int = 0


def _empty_buckets() -> dict[str, int]:
    return dict.fromkeys(BUCKETS, 0)


def _open_debits(
    account: Account, rows: Iterator[tuple[str, int, str, datetime, int, int]]
) -> Iterator[tuple[str, int, list[tuple[str, datetime, int]]]]:
    """Per customer (``rows`` in customer order, newest line first, each with the
    customer's balance): the balance and the debits it is made of — the newest ones, since
    credits pay the oldest first — as (reference, posted_at, unpaid part)."""
    for who, group in groupby(rows, key=itemgetter(0)):
        owed = None
        left = 0
        unpaid: list[tuple[str, datetime, int]] = []
        for _, balance, reference, posted_at, debit, credit in group:
            if owed is None:
                owed = left = balance
            increase = _normal(account, debit, credit)
            if left <= 0 or increase <= 0:
                continue
            part = min(increase, left)
            unpaid.append((reference, posted_at, part))
            left -= part
        yield who, owed or 0, unpaid


def aged_receivables(*, account: Account, as_of: date, counterparty: str = "") -> AgedReceivables:
    """What is owed on ``account`` (the patients' or the insurance fund's receivable) at the
    end of the local day ``as_of``, per customer (the patient's code; the social-insurance
    office's for the fund) and aged oldest-first (FIFO): each customer's credits (payments,
    insurance settlements, advances applied, credit notes) pay their debits (invoices,
    refunds paid out) oldest first, whatever invoice a payment named, so what is still owed
    is the newest debits' unpaid parts, each aged from its own local day. A customer who
    paid more than they owe has a ``credit_balance``, not aged and not in the buckets."""
    tz = ZoneInfo(settings.TIME_ZONE)
    _, end = local_window(as_of, as_of)
    lines = JournalLine.objects.filter(account=account, entry__posted_at__lt=end)
    if counterparty:
        lines = lines.filter(counterparty=counterparty)
    rows = (
        lines.annotate(owed=Window(Sum(F("debit") - F("credit")), partition_by=[F("counterparty")]))
        .order_by("counterparty", "-entry__posted_at", "-entry_id", "-id")
        .values_list("counterparty", "owed", "reference", "entry__posted_at", "debit", "credit")
        .iterator(chunk_size=2000)
    )
    sign = 1 if AccountType(account.type).debit_normal else -1
    totals = _empty_buckets()
    counterparties = []
    credit_total = 0
    signed = ((who, sign * owed, *rest) for who, owed, *rest in rows)
    for who, owed, unpaid in _open_debits(account, signed):
        parts: dict[tuple[date, str], int] = defaultdict(int)
        for reference, posted_at, part in unpaid:
            parts[(posted_at.astimezone(tz).date(), reference)] += part
        items = [
            AgedItem(
                reference=reference,
                counterparty=who,
                since=since,
                age_days=(as_of - since).days,
                bucket=bucket_of((as_of - since).days),
                balance=balance,
            )
            for (since, reference), balance in sorted(parts.items())
        ]
        if not items and owed >= 0:
            continue
        buckets = _empty_buckets()
        for item in items:
            buckets[item.bucket] += item.balance
            totals[item.bucket] += item.balance
        credit_total += max(-owed, 0)
        counterparties.append(
            AgedCounterparty(
                counterparty=who,
                buckets=buckets,
                total=sum(buckets.values()),
                items=items,
                credit_balance=max(-owed, 0),
            )
        )
    return AgedReceivables(
        account=account,
        as_of=as_of,
        buckets=totals,
        total=sum(totals.values()),
        counterparties=counterparties,
        credit_balance=credit_total,
    )
