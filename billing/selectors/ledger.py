"""Reads of the ledger. Every report in vienphi derives from these sums (one source: reports never
keep figures of their own)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from itertools import islice
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from billing.models import Account, AccountBalance, AccountType, JournalEntry, JournalLine
from billing.money import Money


def _signed(account_type: str, debit: int, credit: int) -> int:
    """A balance on the account's normal side (assets and expenses are debit-normal)."""
    return debit - credit if AccountType(account_type).debit_normal else credit - debit


def _lines(
    *,
    as_of: datetime | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
) -> QuerySet[JournalLine]:
    """Lines posted up to and including ``as_of``, or in ``[since, before)``."""
    lines = JournalLine.objects.all()
    if as_of is not None:
        lines = lines.filter(entry__posted_at__lte=as_of)
    if since is not None:
        lines = lines.filter(entry__posted_at__gte=since)
    if before is not None:
        lines = lines.filter(entry__posted_at__lt=before)
    return lines


@dataclass(frozen=True, slots=True)
class Totals:
    """An account's debit and credit totals and its number of lines over some span."""

    debit: int = 0
    credit: int = 0
    lines: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.debit + other.debit, self.credit + other.credit, self.lines + other.lines
        )

    def __sub__(self, other: Totals) -> Totals:
        return Totals(
            self.debit - other.debit, self.credit - other.credit, self.lines - other.lines
        )

    def balance(self, account: Account) -> int:
        """On the account's normal side."""
        return _signed(account.type, self.debit, self.credit)


def _line_totals(lines: QuerySet[JournalLine]) -> Totals:
    totals = lines.aggregate(
        debit=Coalesce(Sum("debit"), 0), credit=Coalesce(Sum("credit"), 0), lines=Count("id")
    )
    return Totals(totals["debit"], totals["credit"], totals["lines"])


def lines_between(
    lines: QuerySet[JournalLine], since: datetime, before: datetime
) -> QuerySet[JournalLine]:
    """``lines`` of the entries posted in ``[since, before)``, narrowed to those entries' id
    range (entries of a window have nearly consecutive ids): with an account's lines, the
    index on (account, entry) then reads the window's lines alone, where PostgreSQL would
    otherwise take every line of the account and join them to the window's entries. The
    range only narrows the search: the entry's date decides."""
    # ``id + 0``: PostgreSQL would answer a bare min(id)/max(id) by walking the primary key
    # from either end until an entry of the window turns up — past every entry posted
    # after it (measured: 26 ms at 400k lines for the ledger's first day, growing with the
    # ledger). Through the date index instead, the window's entries alone are read.
    ids = JournalEntry.objects.filter(posted_at__gte=since, posted_at__lt=before).aggregate(
        low=Min(F("id") + 0), high=Max(F("id") + 0)
    )
    if ids["low"] is None:
        return lines.none()
    return lines.filter(
        entry__posted_at__gte=since,
        entry__posted_at__lt=before,
        entry_id__gte=ids["low"],
        entry_id__lte=ids["high"],
    )


# At most this much of a UTC day is read from its lines: the rest of it from the balances.
_HALF_DAY = timedelta(hours=12)


def account_totals_before(*, account: Account, moment: datetime | None = None) -> Totals:
    """``account``'s totals of the lines posted before ``moment`` (all of them without one).

    On PostgreSQL they come from the daily balances (``AccountBalance``, per UTC day): the
    days before ``moment``'s UTC day are summed from there; the part of that day before
    ``moment`` is its lines since the UTC midnight before, or — when the rest of the day is
    the shorter span — the day's balance minus its lines from ``moment`` on. The hospital's
    local midnight (UTC+7) is 17:00 UTC: a statement's start takes the day's balance minus
    the lines of the seven hours after it (the local night's). The cost follows the days of
    history and at most half a day of the account's lines, not every earlier line.
    Elsewhere (SQLite) one aggregate over the lines."""
    lines = JournalLine.objects.filter(account=account)
    if connection.vendor != "postgresql":
        return _line_totals(lines if moment is None else lines.filter(entry__posted_at__lt=moment))
    balances = AccountBalance.objects.filter(account=account)
    partial = Totals()
    if moment is not None:
        day = moment.astimezone(UTC).date()
        midnight = datetime.combine(day, time(), tzinfo=UTC)
        next_midnight = midnight + timedelta(days=1)
        if moment - midnight <= _HALF_DAY:
            balances = balances.filter(day__lt=day)
            if moment > midnight:
                partial = _line_totals(lines_between(lines, midnight, moment))
        else:
            balances = balances.filter(day__lte=day)
            partial = Totals() - _line_totals(lines_between(lines, moment, next_midnight))
    summed = balances.aggregate(
        debit=Coalesce(Sum("debit_total"), 0),
        credit=Coalesce(Sum("credit_total"), 0),
        lines=Coalesce(Sum("line_count"), 0),
    )
    return Totals(summed["debit"], summed["credit"], summed["lines"]) + partial


def account_balance(*, account: Account, as_of: datetime | None = None) -> Money:
    """The account's balance on its normal side, including entries posted at ``as_of``."""
    totals = (
        _lines(as_of=as_of)
        .filter(account=account)
        .aggregate(debit=Coalesce(Sum("debit"), 0), credit=Coalesce(Sum("credit"), 0))
    )
    return Money(_signed(account.type, totals["debit"], totals["credit"]), account.currency)


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry_id: int
    posted_at: datetime
    memo: str
    source_type: str
    source_id: str
    debit: int
    credit: int
    balance: int
    voucher_type: str = ""
    voucher_number: str = ""
    reference: str = ""
    counterparty: str = ""
    # The entry's other accounts (tài khoản đối ứng), in code order.
    contra_accounts: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AccountStatement:
    account: Account
    opening_balance: Money
    lines: list[StatementLine]
    closing_balance: Money
    total_debit: int = 0
    total_credit: int = 0


def _contra_accounts(entry_ids: set[int], account: Account) -> dict[int, list[str]]:
    """Per entry, the other accounts it moves, in code order (one query)."""
    contra: dict[int, set[str]] = {}
    rows = (
        JournalLine.objects.filter(entry_id__in=entry_ids)
        .exclude(account=account)
        .values_list("entry_id", "account__code")
    )
    for entry_id, code in rows:
        contra.setdefault(entry_id, set()).add(code)
    return {entry_id: sorted(codes) for entry_id, codes in contra.items()}


def _contra_codes(account: Account) -> ArraySubquery:
    """A line's entry's other accounts, their codes in order: an array computed with the
    line (PostgreSQL), through the index on the lines' entry."""
    return ArraySubquery(
        JournalLine.objects.filter(entry_id=OuterRef("entry_id"))
        .exclude(account=account)
        .order_by("account__code")
        .values("account__code")
        .distinct()
    )


def statement_totals_before(
    *, account: Account, moment: datetime | None, counterparty: str = ""
) -> Totals:
    """What a statement's opening (or closing) balance is made of: the totals of the lines
    before ``moment``, from the daily balances (:func:`account_totals_before`). A customer's
    sub-ledger (``counterparty``) is summed from that customer's lines: the balances are
    kept per account, not per customer."""
    if not counterparty:
        return account_totals_before(account=account, moment=moment)
    lines = JournalLine.objects.filter(account=account, counterparty=counterparty)
    return _line_totals(lines if moment is None else lines.filter(entry__posted_at__lt=moment))


_LINE_FIELDS = (
    "entry_id",
    "entry__posted_at",
    "entry__memo",
    "entry__source_type",
    "entry__source_id",
    "debit",
    "credit",
    "entry__voucher_type",
    "entry__voucher_number",
    "reference",
    "counterparty",
)
STATEMENT_CHUNK = 2000


def statement_lines(
    *,
    account: Account,
    date_from: datetime | None,
    date_to: datetime | None,
    opening: int,
    counterparty: str = "",
) -> Iterator[StatementLine]:
    """The lines posted in ``[date_from, date_to)`` in posting order, each with its running
    balance from ``opening`` and its entry's contra accounts, read through a chunked cursor
    (``QuerySet.iterator``: a server-side cursor on PostgreSQL): memory holds one chunk,
    however long the range."""
    lines = JournalLine.objects.filter(account=account)
    if counterparty:
        lines = lines.filter(counterparty=counterparty)
    if date_from is not None and date_to is not None:
        lines = lines_between(lines, date_from, date_to)
    elif date_from is not None:
        lines = lines.filter(entry__posted_at__gte=date_from)
    elif date_to is not None:
        lines = lines.filter(entry__posted_at__lt=date_to)
    lines = lines.order_by("entry__posted_at", "entry_id", "id")
    running = opening
    for (
        entry_id,
        posted_at,
        memo,
        stype,
        sid,
        debit,
        credit,
        vtype,
        vnum,
        ref,
        who,
        contra,
    ) in _with_contra_accounts(lines, account):
        running += _signed(account.type, debit, credit)
        yield StatementLine(
            entry_id=entry_id,
            posted_at=posted_at,
            memo=memo,
            source_type=stype,
            source_id=sid,
            debit=debit,
            credit=credit,
            balance=running,
            voucher_type=vtype,
            voucher_number=vnum,
            reference=ref,
            counterparty=who,
            contra_accounts=contra,
        )


def _with_contra_accounts(
    lines: QuerySet[JournalLine], account: Account
) -> Iterator[tuple[Any, ...]]:
    """``lines``' statement fields, each row ending with its entry's contra accounts, read
    through a chunked cursor: on PostgreSQL in the same query, elsewhere with one more
    query per chunk."""
    if connection.vendor == "postgresql":
        return _contra_in_query(lines, account)
    return _contra_per_chunk(lines, account)


def _contra_in_query(lines: QuerySet[JournalLine], account: Account) -> Iterator[tuple[Any, ...]]:
    """The contra accounts as an array computed with each line (PostgreSQL): one query for
    the whole statement. (The query per chunk cost more than the lines' own query on
    PostgreSQL: its ``IN`` list of up to 2,000 entry ids, each a parameter, went through
    Django's lookup and psycopg's query parsing on every request — 26 ms of a 1,250-line
    statement at 1M lines, profiled for issue 20.)"""
    rows = lines.annotate(contra=_contra_codes(account)).values_list(*_LINE_FIELDS, "contra")
    return rows.iterator(chunk_size=STATEMENT_CHUNK)


def _contra_per_chunk(lines: QuerySet[JournalLine], account: Account) -> Iterator[tuple[Any, ...]]:
    """The contra accounts of each chunk of lines in one more query (any database)."""
    rows = lines.values_list(*_LINE_FIELDS).iterator(chunk_size=STATEMENT_CHUNK)
    while chunk := list(islice(rows, STATEMENT_CHUNK)):
        contra = _contra_accounts({row[0] for row in chunk}, account)
        for row in chunk:
            yield (*row, contra.get(row[0], []))


def account_statement(
    *,
    account: Account,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    counterparty: str = "",
) -> AccountStatement:
    """The lines posted in ``[date_from, date_to)`` in order, each with the running balance,
    its voucher, customer and contra accounts, after the opening balance of everything
    posted before ``date_from``; the period's debit and credit totals. The period is
    half-open, as for the journal's entries and the export: consecutive statements chain,
    and an entry posted exactly at a boundary appears in exactly one of them. With
    ``counterparty``, only that customer's lines count (a customer's sub-ledger). The
    opening and closing balances and the totals come from :func:`statement_totals_before`
    (the daily balances), not from every earlier line. The lines in a list: for a range of
    any length, :func:`statement_lines` streams them."""
    before = (
        Totals()
        if date_from is None
        else statement_totals_before(account=account, moment=date_from, counterparty=counterparty)
    )
    through = statement_totals_before(account=account, moment=date_to, counterparty=counterparty)
    opening = before.balance(account)
    moved = through - before
    return AccountStatement(
        account=account,
        opening_balance=Money(opening, account.currency),
        lines=list(
            statement_lines(
                account=account,
                date_from=date_from,
                date_to=date_to,
                opening=opening,
                counterparty=counterparty,
            )
        ),
        closing_balance=Money(through.balance(account), account.currency),
        total_debit=moved.debit,
        total_credit=moved.credit,
    )


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    code: str
    name: str
    type: str
    currency: str
    debit_total: int
    credit_total: int

    @property
    def balance(self) -> int:
        return _signed(self.type, self.debit_total, self.credit_total)

    @property
    def debit_balance(self) -> int:
        return max(self.debit_total - self.credit_total, 0)

    @property
    def credit_balance(self) -> int:
        return max(self.credit_total - self.debit_total, 0)


def trial_balance(*, as_of: datetime | None = None) -> list[TrialBalanceRow]:
    """Every account that has lines up to ``as_of``, with its debit and credit totals.

    Per currency, the debit totals equal the credit totals — the database guarantees it,
    and the finance API shows the totals so anyone can check. On PostgreSQL the totals come
    from the daily balances (``AccountBalance``, kept by a trigger as lines are inserted):
    whole UTC days before ``as_of``, plus the lines of ``as_of``'s own day up to it, so the
    cost follows the number of accounts and days, not of lines. Elsewhere (the embedded
    SQLite) one aggregate over the lines.
    """
    if connection.vendor != "postgresql":
        return trial_balance_from_lines(as_of=as_of)
    totals: dict[int, tuple[int, int]] = {}

    def add(rows: Iterable[tuple[int, int | None, int | None]]) -> None:
        for account_id, debit, credit in rows:
            before = totals.get(account_id, (0, 0))
            totals[account_id] = (before[0] + (debit or 0), before[1] + (credit or 0))

    balances = AccountBalance.objects.all()
    if as_of is not None:
        day = as_of.astimezone(UTC).date()
        balances = balances.filter(day__lt=day)
        # The day's lines by their entries' id range (``lines_between``): without it
        # PostgreSQL hashes every line of the ledger to find a few thousand, and the trial
        # balance as of a moment slowed as the ledger grew (x7.9 from 10k to 1M lines).
        # Up to ``as_of`` included: timestamps are whole microseconds.
        add(
            lines_between(
                JournalLine.objects.all(),
                datetime.combine(day, time(), tzinfo=UTC),
                as_of + timedelta(microseconds=1),
            )
            .values("account_id")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
            .values_list("account_id", "debit", "credit")
        )
    add(
        balances.values("account_id")
        .annotate(debit=Sum("debit_total"), credit=Sum("credit_total"))
        .values_list("account_id", "debit", "credit")
    )
    accounts = Account.objects.filter(pk__in=totals).order_by("code")
    return [_trial_row(a, *totals[a.pk]) for a in accounts if totals[a.pk][0] or totals[a.pk][1]]


def _trial_row(account: Account, debit_total: int, credit_total: int) -> TrialBalanceRow:
    return TrialBalanceRow(
        code=account.code,
        name=account.name,
        type=account.type,
        currency=account.currency,
        debit_total=debit_total,
        credit_total=credit_total,
    )


def trial_balance_from_lines(*, as_of: datetime | None = None) -> list[TrialBalanceRow]:
    """The trial balance as one aggregate over every line (SQLite; and the reference the
    tests hold the balances to)."""
    line_filter = Q(lines__entry__posted_at__lte=as_of) if as_of is not None else Q()
    accounts = (
        Account.objects.annotate(
            debit_total=Coalesce(Sum("lines__debit", filter=line_filter), 0),
            credit_total=Coalesce(Sum("lines__credit", filter=line_filter), 0),
        )
        .filter(Q(debit_total__gt=0) | Q(credit_total__gt=0))
        .order_by("code")
    )
    return [_trial_row(a, a.debit_total, a.credit_total) for a in accounts]


def journal_entries(
    *,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    account_code: str | None = None,
    source_type: str | None = None,
    source_id: str | None = None,
) -> QuerySet[JournalEntry]:
    entries = JournalEntry.objects.all()
    if date_from is not None:
        entries = entries.filter(posted_at__gte=date_from)
    if date_to is not None:
        entries = entries.filter(posted_at__lt=date_to)
    if account_code:
        entries = entries.filter(
            pk__in=JournalLine.objects.filter(account__code=account_code).values("entry_id")
        )
    if source_type:
        entries = entries.filter(source_type=source_type)
    if source_id:
        entries = entries.filter(source_id=source_id)
    return entries.prefetch_related("lines__account")
