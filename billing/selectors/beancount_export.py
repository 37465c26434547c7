"""The journal as a beancount file (https://beancount.github.io/docs/): plain text that
``bean-check`` verifies and any beancount tool (fava, bean-query) reads.

What the file holds, for local days ``from``..``to``:

* ``open`` directives for every account of the chart, dated on the first day, named by
  type and code (``Assets:1311``, ``Income:5113``), with the Vietnamese name as metadata;
* an opening transaction on the first day carrying each account's balance of everything
  posted before it (the ledger balances, so this transaction balances too);
* one transaction per journal entry, on its local day: the memo as narration; metadata
  ``entry-id``, ``voucher-type``, ``voucher-number`` (the payment, refund or invoice id),
  ``source``, ``recorded-by``; per posting ``counterparty`` and ``reference``. Debits are
  positive, credits negative, in whole currency units (VND has no minor unit);
* ``balance`` assertions dated the day after the last, one per account, with our trial
  balance at the end of the window: ``bean-check`` itself proves the file re-adds to our
  figures.

Streamed in pieces from a chunked cursor, in constant memory. On PostgreSQL the reads share
one REPEATABLE READ snapshot, so an entry posted while the file is being written is in both
the transactions and the assertions, or in neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction

from billing.models import Account
from billing.money import MINOR_UNIT_EXPONENT
from billing.selectors.journal_stream import StreamedEntry, journal_stream
from billing.selectors.ledger import trial_balance
from billing.selectors.ledger_export import in_pieces

ROOTS = {
    "asset": "Assets",
    "liability": "Liabilities",
    "equity": "Equity",
    "revenue": "Income",
    "expense": "Expenses",
}
_JUST_BEFORE = timedelta(microseconds=1)  # PostgreSQL keeps microseconds: exact
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def account_name(account_type: str, code: str) -> str:
    """The beancount account of one of ours: ``Assets:1311``."""
    return f"{ROOTS[account_type]}:{code}"


def _quoted(text: str) -> str:
    text = _CONTROL.sub(" ", text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _units(amount: int, currency: str) -> str:
    exponent = MINOR_UNIT_EXPONENT.get(currency, 2)
    number = amount if exponent == 0 else Decimal(amount).scaleb(-exponent)
    return f"{number} {currency}"


def _meta(indent: str, pairs: list[tuple[str, str | int]]) -> str:
    return "".join(
        f"{indent}{key}: {value if isinstance(value, int) else _quoted(value)}\n"
        for key, value in pairs
        if value != ""
    )


def _transaction(entry: StreamedEntry) -> str:
    source = f"{entry.source_type}:{entry.source_id}" if entry.source_id else entry.source_type
    text = f"{entry.day.isoformat()} * {_quoted(entry.memo)}\n" + _meta(
        "  ",
        [
            ("entry-id", entry.id),
            ("voucher-type", entry.voucher_type),
            ("voucher-number", entry.voucher_number),
            ("source", source),
            ("recorded-by", entry.recorded_by),
        ],
    )
    for line in entry.lines:
        amount = line.debit - line.credit
        text += f"  {account_name(line.account_type, line.account_code)}  "
        text += f"{_units(amount, line.currency)}\n"
        text += _meta("    ", [("counterparty", line.counterparty), ("reference", line.reference)])
    return text + "\n"


def _header(first: date, last: date) -> str:
    return (
        f"; vienphi ledger {first.isoformat()}..{last.isoformat()}"
        " — check with: bean-check <this file>\n"
        f'option "title" "vienphi {first.isoformat()}..{last.isoformat()}"\n'
        'option "operating_currency" "VND"\n\n'
    )


def _opens(first: date) -> str:
    text = ""
    for code, name, kind, currency in Account.objects.order_by("code").values_list(
        "code", "name", "type", "currency"
    ):
        text += f"{first.isoformat()} open {account_name(kind, code)} {currency}\n"
        text += _meta("  ", [("name", name)])
    return text + "\n"


def _opening_balances(first: date, start: datetime) -> str:
    rows = [row for row in trial_balance(as_of=start - _JUST_BEFORE) if row.balance]
    if not rows:
        return ""
    text = f'{first.isoformat()} * "Số dư đầu kỳ"\n'
    for row in rows:
        net = row.debit_total - row.credit_total
        text += f"  {account_name(row.type, row.code)}  {_units(net, row.currency)}\n"
    return text + "\n"


def _balance_assertions(last: date, end: datetime) -> str:
    day_after = (last + timedelta(days=1)).isoformat()
    text = ""
    for row in trial_balance(as_of=end - _JUST_BEFORE):
        net = row.debit_total - row.credit_total
        text += f"{day_after} balance {account_name(row.type, row.code)}  "
        text += f"{_units(net, row.currency)}\n"
    return text


def _texts(start: datetime, end: datetime, first: date, last: date) -> Iterator[bytes]:
    yield _header(first, last).encode()
    yield _opens(first).encode()
    yield _opening_balances(first, start).encode()
    for entry in journal_stream(start=start, end=end):
        yield _transaction(entry).encode()
    yield _balance_assertions(last, end).encode()


def beancount_export(*, start: datetime, end: datetime, first: date, last: date) -> Iterator[bytes]:
    """The beancount file of entries posted in ``[start, end)`` (local days
    ``first``..``last``), in pieces of about 64 KiB."""
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield from in_pieces(_texts(start, end, first, last))
