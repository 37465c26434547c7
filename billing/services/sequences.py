"""Gap-free document numbers (invoices here; receipts in notifications)."""

from __future__ import annotations

from django.db import connection, transaction

from billing.models import DocumentSequence


def _statements() -> tuple[str, str]:
    table = connection.ops.quote_name(DocumentSequence._meta.db_table)
    # The model's table; the values are parameters.
    take = (
        f"UPDATE {table} SET last_number = last_number + 1"  # noqa: S608
        " WHERE series = %s AND year = %s RETURNING last_number"
    )
    first = (
        f"INSERT INTO {table} (series, year, last_number) VALUES (%s, %s, 1)"  # noqa: S608
        " ON CONFLICT (series, year) DO NOTHING RETURNING last_number"
    )
    return take, first


def sequence_next(*, series: str, year: int) -> int:
    """The next number of ``series`` in ``year`` (1, 2, 3, … restarting each year).

    Must run inside the transaction that issues the document: the sequence row stays
    locked until that transaction ends, and a rollback returns the number, so numbers are
    unique and contiguous even with many terminals issuing at once.

    One statement once the year's row exists: an ``UPDATE … RETURNING`` that adds one and
    locks the row (a concurrent issuer waits for this transaction's end, then adds one to
    what it committed). The year's first number makes the row with ``INSERT … ON CONFLICT
    DO NOTHING`` (no savepoint): if a concurrent transaction made it first, the insert waits
    for that one's end and does nothing, and the ``UPDATE`` takes the next number (or, had
    the other rolled back, the insert makes it)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("sequence_next must run inside the issuing transaction")
    take, first = _statements()
    with connection.cursor() as cursor:
        cursor.execute(take, [series, year])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(first, [series, year])
            row = cursor.fetchone()
        if row is None:
            cursor.execute(take, [series, year])
            row = cursor.fetchone()
    assert row is not None  # the row exists now: made here, or committed by another
    return int(row[0])
