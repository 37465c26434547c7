"""The ledger's invariants hold in PostgreSQL itself: raw SQL that skips the ORM and the
service is refused all the same.

Deferred triggers fire at COMMIT, so these tests run in real transactions
(``transaction=True``) and commit with ``transaction.atomic()``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from billing.chart import CASH_SHORTAGE, MAIN_CASH, PATIENT_RECEIVABLE, SERVICE_REVENUE
from billing.models import Account, AccountType

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("chart"),
]

Statement = tuple[str, Any]
THE_NEW_ENTRY = "currval(pg_get_serial_sequence('billing_journalentry', 'id'))"


def new_entry(posting_key: str) -> Statement:
    return (
        "INSERT INTO billing_journalentry"
        " (posted_at, memo, source_type, source_id, posting_key, created_at)"
        " VALUES (now(), 'raw', 'test', '', %s, now())",
        [posting_key],
    )


def line(
    account_code: str, *, debit: int = 0, credit: int = 0, entry_id: int | None = None
) -> Statement:
    """A line on ``entry_id``, by default on the entry inserted just before."""
    entry = "%s" if entry_id is not None else THE_NEW_ENTRY
    params = [entry_id] if entry_id is not None else []
    return (
        "INSERT INTO billing_journalline (entry_id, account_id, debit, credit, reference)"
        f" SELECT {entry}, id, %s, %s, '' FROM billing_account WHERE code = %s",
        [*params, debit, credit, account_code],
    )


def _execute(*statements: Statement) -> None:
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def _commit(*statements: Statement) -> None:
    with transaction.atomic():
        _execute(*statements)


def _entry_id(posting_key: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM billing_journalentry WHERE posting_key = %s", [posting_key])
        row = cursor.fetchone()
    return row[0] if row else None


def _post_balanced_entry(posting_key: str, amount: int = 180_000) -> int:
    """A committed entry: Dr the patient receivable / Cr service revenue."""
    _commit(
        new_entry(posting_key),
        line(PATIENT_RECEIVABLE, debit=amount),
        line(SERVICE_REVENUE, credit=amount),
    )
    entry_id = _entry_id(posting_key)
    assert entry_id is not None
    return entry_id


def _lines_of(entry_id: int) -> list[tuple[str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.code, l.debit, l.credit FROM billing_journalline l"
            " JOIN billing_account a ON a.id = l.account_id WHERE l.entry_id = %s ORDER BY l.id",
            [entry_id],
        )
        return list(cursor.fetchall())


def test_balanced_entry_commits_through_raw_sql():
    entry_id = _post_balanced_entry("raw:balanced")

    assert _lines_of(entry_id) == [(PATIENT_RECEIVABLE, 180_000, 0), (SERVICE_REVENUE, 0, 180_000)]


def test_unbalanced_entry_is_refused_at_commit_even_through_raw_sql():
    unbalanced = [
        new_entry("raw:unbalanced"),
        line(PATIENT_RECEIVABLE, debit=180_000),
        line(SERVICE_REVENUE, credit=170_000),
    ]
    # Each statement is accepted on its own: the check waits for COMMIT.
    with transaction.atomic():
        _execute(*unbalanced)
        transaction.set_rollback(True)

    with pytest.raises(IntegrityError, match="unbalanced in VND: debit 180000 <> credit 170000"):
        _commit(*unbalanced)

    assert _entry_id("raw:unbalanced") is None


def test_entry_balanced_in_total_but_not_per_currency_is_refused_at_commit():
    Account.objects.create(code="1122", name="Bank USD", type=AccountType.ASSET, currency="USD")

    with pytest.raises(IntegrityError, match="unbalanced in"):
        _commit(
            new_entry("raw:mixed"), line("1122", debit=1_000), line(SERVICE_REVENUE, credit=1_000)
        )

    assert _entry_id("raw:mixed") is None


def test_entry_balanced_in_each_of_two_currencies_commits():
    Account.objects.create(code="1122", name="Bank USD", type=AccountType.ASSET, currency="USD")
    Account.objects.create(
        code="5114", name="Revenue USD", type=AccountType.REVENUE, currency="USD"
    )

    _commit(
        new_entry("raw:two-currencies"),
        line("1122", debit=1_000),
        line("5114", credit=1_000),
        line(PATIENT_RECEIVABLE, debit=250_000),
        line(SERVICE_REVENUE, credit=250_000),
    )

    assert _entry_id("raw:two-currencies") is not None


def test_one_line_entry_is_refused_at_commit():
    with pytest.raises(IntegrityError, match="has 1 line"):
        _commit(new_entry("raw:one-line"), line(PATIENT_RECEIVABLE, debit=180_000))

    assert _entry_id("raw:one-line") is None


def test_entry_without_lines_is_refused_at_commit():
    with pytest.raises(IntegrityError, match="has 0 line"):
        _commit(new_entry("raw:no-lines"))

    assert _entry_id("raw:no-lines") is None


def test_entry_whose_lines_were_rolled_back_to_a_savepoint_is_refused_at_commit():
    def post_an_entry_then_lose_its_lines() -> None:
        with transaction.atomic():
            _execute(new_entry("raw:lost-lines"))
            with transaction.atomic():  # a savepoint
                _execute(
                    line(PATIENT_RECEIVABLE, debit=180_000), line(SERVICE_REVENUE, credit=180_000)
                )
                transaction.set_rollback(True)

    with pytest.raises(IntegrityError, match="has 0 line"):
        post_an_entry_then_lose_its_lines()

    assert _entry_id("raw:lost-lines") is None


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE billing_journalentry SET memo = 'edited' WHERE id = %(entry)s", "UPDATE"),
        (
            "UPDATE billing_journalentry SET posted_at = posted_at - interval '1 day'"
            " WHERE id = %(entry)s",
            "UPDATE",
        ),
        ("DELETE FROM billing_journalentry WHERE id = %(entry)s", "DELETE"),
        ("UPDATE billing_journalline SET debit = debit + 1 WHERE entry_id = %(entry)s", "UPDATE"),
        (
            "UPDATE billing_journalline SET debit = credit, credit = debit"
            " WHERE entry_id = %(entry)s",
            "UPDATE",
        ),
        ("DELETE FROM billing_journalline WHERE entry_id = %(entry)s", "DELETE"),
    ],
    ids=["entry-memo", "entry-date", "entry-delete", "line-amount", "line-sides", "line-delete"],
)
def test_posted_entries_and_lines_can_be_neither_updated_nor_deleted(statement, operation):
    entry_id = _post_balanced_entry("raw:append-only")

    with pytest.raises(IntegrityError, match=f"{operation} on billing_journal.* append-only"):
        _commit((statement, {"entry": entry_id}))

    assert _lines_of(entry_id) == [(PATIENT_RECEIVABLE, 180_000, 0), (SERVICE_REVENUE, 0, 180_000)]
    assert _entry_id("raw:append-only") == entry_id


def test_even_the_creating_transaction_cannot_rewrite_its_lines():
    rewrite: Statement = ("UPDATE billing_journalline SET debit = 1 WHERE debit > 0", [])

    with pytest.raises(IntegrityError, match="UPDATE on billing_journalline refused"):
        _commit(
            new_entry("raw:rewrite"),
            line(PATIENT_RECEIVABLE, debit=180_000),
            line(SERVICE_REVENUE, credit=180_000),
            rewrite,
        )

    assert _entry_id("raw:rewrite") is None


def test_balanced_lines_cannot_be_added_to_an_entry_posted_in_an_earlier_transaction():
    entry_id = _post_balanced_entry("raw:closed")

    with pytest.raises(IntegrityError, match=f"entry {entry_id} is already posted"):
        _commit(
            line(MAIN_CASH, debit=50_000, entry_id=entry_id),
            line(PATIENT_RECEIVABLE, credit=50_000, entry_id=entry_id),
        )

    assert _lines_of(entry_id) == [(PATIENT_RECEIVABLE, 180_000, 0), (SERVICE_REVENUE, 0, 180_000)]


def test_the_creating_transaction_is_stamped_by_the_database_not_by_the_writer():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_journalentry"
            " (posted_at, memo, source_type, source_id, posting_key, created_at, created_txid)"
            " VALUES (now(), '', 'test', '', 'raw:forged-txid', now(), txid_current() + 1000)"
            " RETURNING created_txid, txid_current()"
        )
        stamped_txid, own_txid = cursor.fetchone()
        _execute(line(PATIENT_RECEIVABLE, debit=1), line(SERVICE_REVENUE, credit=1))

    assert stamped_txid == own_txid


def test_lines_added_after_forcing_the_balance_check_early_are_still_checked_at_commit():
    # SET CONSTRAINTS ... IMMEDIATE runs the pending deferred checks on the spot; a line
    # inserted afterwards must queue a check of its own, or the entry commits unbalanced.
    with pytest.raises(IntegrityError, match="unbalanced in VND"):
        _commit(
            new_entry("raw:checked-early"),
            line(PATIENT_RECEIVABLE, debit=180_000),
            line(SERVICE_REVENUE, credit=180_000),
            ("SET CONSTRAINTS ALL IMMEDIATE", []),
            ("SET CONSTRAINTS ALL DEFERRED", []),
            line(MAIN_CASH, debit=999_000),
        )

    assert _entry_id("raw:checked-early") is None


def test_a_line_inserted_while_checks_are_immediate_is_checked_at_once():
    with transaction.atomic():
        _execute(
            new_entry("raw:immediate"),
            line(PATIENT_RECEIVABLE, debit=180_000),
            line(SERVICE_REVENUE, credit=180_000),
            ("SET CONSTRAINTS ALL IMMEDIATE", []),
        )
        with pytest.raises(IntegrityError, match="unbalanced in VND"), transaction.atomic():
            _execute(line(MAIN_CASH, debit=999_000))

    entry_id = _entry_id("raw:immediate")
    assert entry_id is not None, "the balanced entry commits without the refused line"
    assert _lines_of(entry_id) == [(PATIENT_RECEIVABLE, 180_000, 0), (SERVICE_REVENUE, 0, 180_000)]


@pytest.mark.parametrize(
    "change",
    ["currency = 'USD'", "type = 'liability'", "code = '1319'"],
    ids=["currency", "type", "code"],
)
def test_account_with_postings_cannot_change_its_currency_type_or_code(change):
    _post_balanced_entry("raw:freeze")

    with pytest.raises(IntegrityError, match="account 1311 has postings"):
        _commit((f"UPDATE billing_account SET {change} WHERE code = '1311'", []))

    account = Account.objects.get(code=PATIENT_RECEIVABLE)
    assert (account.code, account.type, account.currency) == (PATIENT_RECEIVABLE, "asset", "VND")


def test_account_with_postings_can_still_be_renamed_and_deactivated():
    _post_balanced_entry("raw:rename")

    _commit(
        ("UPDATE billing_account SET name = 'Renamed', is_active = false WHERE code = '1311'", [])
    )

    account = Account.objects.get(code=PATIENT_RECEIVABLE)
    assert (account.name, account.is_active) == ("Renamed", False)


def test_account_without_postings_can_change_its_currency_and_type():
    _commit(
        (
            "UPDATE billing_account SET currency = 'USD', type = 'liability' WHERE code = %s",
            [CASH_SHORTAGE],
        )
    )

    account = Account.objects.get(code=CASH_SHORTAGE)
    assert (account.type, account.currency) == ("liability", "USD")


def test_account_with_postings_cannot_be_deleted():
    _post_balanced_entry("raw:delete-account")

    with pytest.raises(IntegrityError, match="violates foreign key constraint"):
        _commit(("DELETE FROM billing_account WHERE code = '1311'", []))

    assert Account.objects.filter(code=PATIENT_RECEIVABLE).exists()


@pytest.mark.parametrize(
    ("debit", "credit", "violated"),
    [
        (180_000, 180_000, "ledger_line_one_side"),
        (0, 0, "ledger_line_one_side"),
        (-180_000, 0, "ledger_line_non_negative|ledger_line_one_side"),
        (0, -180_000, "ledger_line_non_negative|ledger_line_one_side"),
        (-180_000, 360_000, "ledger_line_non_negative|ledger_line_one_side"),
    ],
    ids=["both-sides", "both-zero", "negative-debit", "negative-credit", "negative-and-positive"],
)
# CHECK constraints are never deferred: the INSERT itself fails, no COMMIT needed (and so no
# TRUNCATE of every table afterwards).
@pytest.mark.django_db(transaction=False)
def test_a_line_needs_exactly_one_positive_side(debit, credit, violated):
    with pytest.raises(IntegrityError, match=violated):
        _commit(
            new_entry("raw:bad-line"),
            line(PATIENT_RECEIVABLE, debit=180_000),
            line(SERVICE_REVENUE, credit=180_000),
            line(MAIN_CASH, debit=debit, credit=credit),
        )

    assert _entry_id("raw:bad-line") is None
