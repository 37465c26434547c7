"""The one place that writes to the ledger. Everything else calls :func:`ledger_post`.

Guarantees:

* **Balanced**: debits equal credits per currency, checked here (so SQLite behaves the
  same) and again by a deferred PostgreSQL trigger that nothing can bypass.
* **Once per business event**: ``posting_key`` is unique. Posting the same key again with
  the same lines returns the existing entry (idempotent replay); with different lines it
  raises :class:`PostingKeyConflict`. Concurrent posters of one key serialise on the
  unique index (``INSERT … ON CONFLICT DO NOTHING``): exactly one entry lands.
* **Append-only**: corrections are reversing entries (:func:`ledger_reverse`).

Both functions run in ``transaction.atomic()``: called inside a caller's transaction they
join it, so a business change and its journal entry commit or roll back together.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from billing import ledger_memos as memos
from billing.errors import (
    AlreadyReversed,
    CurrencyMismatch,
    InvalidJournalLine,
    PostingKeyConflict,
    UnbalancedEntry,
    UnknownAccount,
)
from billing.models import Account, JournalEntry
from billing.money import Money
from billing.services.periods import posting_date
from config.errors import DomainError

# Entries dated this far back are checked against the closed periods (a month closes only
# after it has ended, so anything more recent cannot be in one).
_LATE_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Posting:
    """One journal line:
    ``Posting.dr(account_for(AccountRole.PATIENT_RECEIVABLE), Money(180000, "VND"), "invoice:42")``.
    """

    account_code: str
    debit: int
    credit: int
    currency: str
    reference: str = ""
    # The accountant's customer code the line is with: a patient's code, the insurer's.
    counterparty: str = ""

    @classmethod
    def dr(
        cls, account_code: str, amount: Money, reference: str = "", *, counterparty: str = ""
    ) -> Posting:
        return cls(account_code, amount.amount, 0, amount.currency, reference, counterparty)

    @classmethod
    def cr(
        cls, account_code: str, amount: Money, reference: str = "", *, counterparty: str = ""
    ) -> Posting:
        return cls(account_code, 0, amount.amount, amount.currency, reference, counterparty)


def _check_structure(postings: Sequence[Posting]) -> None:
    """What needs no database: two or more lines, one positive side each, balanced."""
    if len(postings) < 2:
        raise UnbalancedEntry("A journal entry needs at least two lines.")
    net: defaultdict[str, int] = defaultdict(int)
    for index, posting in enumerate(postings):
        if not (
            (posting.debit > 0 and posting.credit == 0)
            or (posting.debit == 0 and posting.credit > 0)
        ):
            raise InvalidJournalLine(param=f"lines[{index}]")
        net[posting.currency] += posting.debit - posting.credit
    unbalanced = {currency: amount for currency, amount in net.items() if amount}
    if unbalanced:
        raise UnbalancedEntry(detail={"difference_by_currency": unbalanced})


def _explain_account_refusal(postings: Sequence[Posting]) -> DomainError:
    """Which line's account is unknown, inactive or kept in another currency."""
    codes = {p.account_code for p in postings}
    accounts = {a.code: a for a in Account.objects.filter(code__in=codes, is_active=True)}
    for index, posting in enumerate(postings):
        account = accounts.get(posting.account_code)
        if account is None:
            return UnknownAccount(
                f"No active ledger account {posting.account_code!r}.",
                param=f"lines[{index}].account",
            )
        if posting.currency != account.currency:
            return CurrencyMismatch(
                f"Account {account.code} is kept in {account.currency}, not {posting.currency}.",
                param=f"lines[{index}].currency",
            )
    return UnknownAccount("An account changed while posting; try again.")


def _signature(rows: Iterable[tuple[str, int, int, str]]) -> Counter[tuple[str, int, int, str]]:
    return Counter(rows)


def _insert_lines(cursor: Any, entry_id: int, postings: Sequence[Posting]) -> int:
    """One INSERT that also resolves each account by code, requiring it active and in the
    line's currency; returns how many lines it wrote (fewer means a refused account)."""
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(postings))
    params: list[Any] = []
    for order, p in enumerate(postings):
        params += [
            p.account_code,
            p.currency,
            p.debit,
            p.credit,
            p.reference,
            p.counterparty[:40],
            order,
        ]
    # INSERT first (the CTE inside it): sqlite3 reports rowcount only for statements that
    # start with INSERT.
    cursor.execute(
        "INSERT INTO billing_journalline"  # noqa: S608 - only placeholders are formatted in
        " (entry_id, account_id, debit, credit, reference, counterparty) "
        f"WITH v(code, currency, debit, credit, reference, counterparty, ord)"
        f" AS (VALUES {values}) "
        "SELECT %s, a.id, v.debit, v.credit, v.reference, v.counterparty FROM v "
        "JOIN billing_account a ON a.code = v.code AND a.currency = v.currency AND a.is_active "
        "ORDER BY v.ord",
        [*params, entry_id],
    )
    return int(cursor.rowcount)


def ledger_post(
    *,
    posting_key: str,
    lines: Sequence[Posting],
    source_type: str,
    source_id: str = "",
    memo: str = "",
    posted_at: datetime | None = None,
    reverses: JournalEntry | None = None,
    voucher_type: str = "",
    voucher_number: str = "",
    recorded_by: str = "",
) -> JournalEntry:
    """Post one balanced journal entry, at most once per ``posting_key``.

    ``voucher_type`` (a :class:`~billing.models.VoucherType`), ``voucher_number`` and
    ``recorded_by`` say which voucher the accountant files the entry under and who recorded
    it; each line's ``counterparty`` is the customer it is with.

    Two statements on the hot path: the entry (``ON CONFLICT DO NOTHING``) and its lines
    (accounts resolved in the same INSERT). Only a refusal asks the database again, to say
    which line was wrong."""
    _check_structure(lines)
    if posted_at is not None and posted_at < timezone.now() - _LATE_AFTER:
        # An event of a month that may be closed: it posts in the open period instead.
        posted_at, note = posting_date(posted_at)
        memo = memo[: 500 - len(note)] + note
    posted_at = posted_at or timezone.now()
    ops = connection.ops
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_journalentry "
            "(posted_at, memo, source_type, source_id, posting_key, reverses_id, created_at,"
            " voucher_type, voucher_number, recorded_by)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            # Any unique conflict: the posting key, or `reverses` (one reversal per entry).
            " ON CONFLICT DO NOTHING RETURNING id",
            [
                ops.adapt_datetimefield_value(posted_at),
                memo[:500],
                source_type,
                source_id,
                posting_key,
                reverses.pk if reverses else None,
                ops.adapt_datetimefield_value(timezone.now()),
                voucher_type,
                voucher_number[:40],
                recorded_by[:150],
            ],
        )
        row = cursor.fetchone()
        if row is None:
            return _replayed(posting_key, lines, reverses)
        if _insert_lines(cursor, row[0], lines) != len(lines):
            raise _explain_account_refusal(lines)
    entry = JournalEntry(
        pk=row[0],
        posted_at=posted_at,
        memo=memo[:500],
        source_type=source_type,
        source_id=source_id,
        posting_key=posting_key,
        reverses=reverses,
        voucher_type=voucher_type,
        voucher_number=voucher_number[:40],
        recorded_by=recorded_by[:150],
    )
    entry._state.adding = False
    return entry


def _replayed(
    posting_key: str, lines: Sequence[Posting], reverses: JournalEntry | None
) -> JournalEntry:
    existing = JournalEntry.objects.filter(posting_key=posting_key).first()
    if existing is None:
        raise AlreadyReversed(param="reverses", detail={"entry_id": reverses and reverses.pk})
    stored = existing.lines.values_list("account__code", "debit", "credit", "reference")
    wanted = ((p.account_code, p.debit, p.credit, p.reference) for p in lines)
    if _signature(stored) != _signature(wanted):
        raise PostingKeyConflict(param="posting_key", detail={"entry_id": existing.pk})
    return existing


def ledger_reverse(
    *,
    entry: JournalEntry,
    memo: str = "",
    source_type: str | None = None,
    source_id: str | None = None,
) -> JournalEntry:
    """Post the mirror image of ``entry`` (debits become credits). Idempotent per entry."""
    lines = list(entry.lines.select_related("account"))
    postings = [
        Posting(
            line.account.code,
            line.credit,
            line.debit,
            line.account.currency,
            line.reference,
            line.counterparty,
        )
        for line in lines
    ]
    return ledger_post(
        posting_key=f"reversal-of:{entry.pk}",
        lines=postings,
        source_type=source_type or entry.source_type,
        source_id=source_id if source_id is not None else entry.source_id,
        memo=memo or memos.reversal(entry.pk, entry.memo),
        reverses=entry,
        voucher_type=entry.voucher_type,
        voucher_number=entry.voucher_number,
        recorded_by=entry.recorded_by,
    )
