"""Moving a database's books to a chart pack: the first release's chart (Circular 200/2014
numbering, drawers as ``1111.<terminal>``) is replaced by the regime's accounts without a
posted line being touched — balances move by reclassification entries dated at the move,
reference by reference, and the replaced accounts are closed to new postings."""

from __future__ import annotations

import importlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import override_settings

from billing.chart import PACKS, AccountRole, account_for, pack_for
from billing.errors import UnknownAccount
from billing.models import Account, AccountType, JournalEntry, JournalLine
from billing.money import Money
from billing.services.chart import FIRST_CHART
from billing.services.ledger import Posting, ledger_post
from payments.models import Terminal
from payments.services.cashier.terminals import chart_adopt_with_drawers
from tests.assertions import balance

pytestmark = pytest.mark.django_db

FIRST = importlib.import_module("billing.migrations.0003_chart_of_accounts_and_roles")
# Accounts later migrations added to that chart: suspense, cash between desks.
LATER_ACCOUNTS = [("3388", "Suspense", "liability"), ("1133", "Cash in transit", "asset")]
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MOVED_AT = datetime(2026, 1, 1, 0, 5, tzinfo=HANOI)


def _first_release_books() -> Terminal:
    """The chart the first release loaded, a drawer ``1111.Q01`` and a few months of
    postings on it, as an existing database holds them."""
    Account.objects.all().delete()  # the pack's accounts: nothing posted to them yet
    for code, name, account_type in [*FIRST.CHART, *LATER_ACCOUNTS]:
        Account.objects.create(code=code, name=name, type=account_type, currency="VND")
    drawer = Account.objects.create(
        code="1111.Q01", name="Quầy 1", type=AccountType.ASSET, currency="VND"
    )
    terminal = Terminal.objects.create(code="Q01", name="Quầy 1", cash_account=drawer)
    vnd = lambda amount: Money(amount, "VND")  # noqa: E731
    postings = {
        "equity": [Posting.dr("1111", vnd(5_000_000)), Posting.cr("4111", vnd(5_000_000))],
        "invoice-1": [
            Posting.dr("1311", vnd(300_000), "invoice:1"),
            Posting.dr("1312", vnd(400_000), "invoice:1"),
            Posting.cr("5113", vnd(490_000)),
            Posting.cr("5111", vnd(200_000)),
            Posting.cr("3331", vnd(10_000)),
        ],
        "card": [Posting.dr("1131", vnd(300_000)), Posting.cr("1311", vnd(300_000), "invoice:1")],
        "qr": [Posting.dr("1132", vnd(150_000)), Posting.cr("33881", vnd(150_000), "encounter:7")],
        "float": [
            Posting.dr("1111.Q01", vnd(200_000), "cashier_session:1"),
            Posting.cr("1111", vnd(200_000)),
        ],
        "short": [
            Posting.dr("1381", vnd(20_000), "s:1"),
            Posting.cr("1111.Q01", vnd(20_000), "cashier_session:1"),
        ],
        "over": [
            Posting.dr("1111.Q01", vnd(5_000), "cashier_session:1"),
            Posting.cr("1381", vnd(5_000), "s:2"),
        ],
        "owed": [
            Posting.dr("33881", vnd(50_000), "encounter:7"),
            Posting.cr("33882", vnd(50_000), "encounter:7"),
        ],
        "stray": [
            Posting.dr("1121", vnd(70_000)),
            Posting.cr("3388", vnd(70_000), "reconciliation:1"),
        ],
        "between-desks": [
            Posting.dr("1133", vnd(30_000), "cash_transfer:1"),
            Posting.cr("1111", vnd(30_000)),
        ],
        "fee": [Posting.dr("6427", vnd(3_000)), Posting.cr("1131", vnd(3_000))],
    }
    for key, lines in postings.items():
        ledger_post(
            posting_key=f"first:{key}",
            lines=lines,
            source_type="manual",
            posted_at=datetime(2025, 6, 1, 9, tzinfo=HANOI),
        )
    return terminal


def _lines_snapshot() -> list[tuple[object, ...]]:
    return list(
        JournalLine.objects.order_by("id").values_list(
            "id", "entry_id", "account_id", "debit", "credit", "reference"
        )
    )


@pytest.mark.parametrize("regime", sorted(PACKS))
def test_adopting_a_pack_moves_every_balance_without_touching_a_posted_line(regime):
    terminal = _first_release_books()
    before = _lines_snapshot()
    entries_before = JournalEntry.objects.count()

    with override_settings(ACCOUNTING_REGIME=regime):
        result = chart_adopt_with_drawers(regime=regime, at=MOVED_AT)

        # Every posted line is still there, unchanged; the move only added entries.
        assert _lines_snapshot()[: len(before)] == before
        moved = JournalEntry.objects.filter(source_type="chart", source_id=regime)
        assert JournalEntry.objects.count() == entries_before + moved.count()
        assert set(result.entries) == set(moved.values_list("pk", flat=True))
        assert all(entry.posted_at == MOVED_AT for entry in moved)

        # Balances now sit on the role's account of the regime, per reference.
        assert balance(account_for(AccountRole.MAIN_SAFE)) == 5_000_000 - 200_000 - 30_000
        assert balance(account_for(AccountRole.CASH_TRANSFER), "cash_transfer:1") == 30_000
        assert balance(account_for(AccountRole.DRAWER, drawer=1)) == 200_000 - 20_000 + 5_000
        assert balance(account_for(AccountRole.DRAWER, drawer=1), "cashier_session:1") == 185_000
        assert balance(account_for(AccountRole.PATIENT_RECEIVABLE), "invoice:1") == 0
        assert balance(account_for(AccountRole.INSURANCE_RECEIVABLE), "invoice:1") == 400_000
        assert balance(account_for(AccountRole.SERVICE_REVENUE)) == -490_000
        assert balance(account_for(AccountRole.PHARMACY_REVENUE)) == -200_000
        assert balance(account_for(AccountRole.OUTPUT_VAT, rate="5")) == -10_000
        assert balance(account_for(AccountRole.CLEARING, provider="stripe")) == 297_000
        assert balance(account_for(AccountRole.CLEARING, provider="vietqr")) == 150_000
        advances = account_for(AccountRole.PATIENT_ADVANCES)
        assert balance(advances, "encounter:7") == -100_000
        assert balance(account_for(AccountRole.REFUNDS_OWED), "encounter:7") == -50_000
        assert balance(account_for(AccountRole.BANK)) == 70_000
        assert balance(account_for(AccountRole.SUSPENSE), "reconciliation:1") == -70_000
        assert balance(account_for(AccountRole.PROVIDER_FEES)) == 3_000
        assert balance(account_for(AccountRole.OWNER_EQUITY)) == -5_000_000
        # The first chart netted over and short in one account: the move splits them.
        assert balance(account_for(AccountRole.CASH_SHORTAGE), "s:1") == 20_000
        assert balance(account_for(AccountRole.CASH_OVERAGE), "s:2") == -5_000

        # The terminal now has the regime's drawer; what was replaced is empty and closed.
        terminal.refresh_from_db()
        assert terminal.cash_account.code == account_for(AccountRole.DRAWER, drawer=1)
        pack_codes = {a.code for a in pack_for(regime).accounts}
        for code in [*FIRST_CHART, "1111.Q01"]:
            if code in pack_codes:
                continue
            account = Account.objects.get(code=code)
            assert not account.is_active, code
            assert balance(code) == 0, code
        with pytest.raises(UnknownAccount):
            ledger_post(
                posting_key="after:old-code",
                lines=[Posting.dr("1111", Money(1, "VND")), Posting.cr("4111", Money(1, "VND"))],
                source_type="manual",
            )

        # Running it again finds nothing to move.
        again = chart_adopt_with_drawers(regime=regime, at=MOVED_AT.replace(minute=6))
        assert (again.entries, again.moved, again.created) == ([], {}, [])


def test_every_account_the_first_chart_loaded_has_a_role():
    loaded = [*FIRST.CHART, *LATER_ACCOUNTS]
    assert {code for code, _name, _type in loaded} == set(FIRST_CHART)


@pytest.mark.parametrize("regime", sorted(PACKS))
def test_a_pack_maps_every_role_to_a_numeric_posting_level_code(regime):
    pack = pack_for(regime)
    codes = [a.code for a in pack.accounts]
    assert all(code.isdigit() for code in codes)
    # Posting level: no account of the pack is the parent of another.
    assert not [(a, b) for a in codes for b in codes if a != b and b.startswith(a)]
    assert all(pack.drawers.number(code) is None for code in codes)
    with override_settings(ACCOUNTING_REGIME=regime):
        for role in AccountRole:
            if role is AccountRole.DRAWER:
                assert account_for(role, drawer=98).isdigit()
            elif role is AccountRole.CLEARING:
                assert {account_for(role, provider=p) for p in ("stripe", "vietqr")} <= set(codes)
            elif role is AccountRole.OUTPUT_VAT:
                assert {account_for(role, rate=r) for r in ("5", "8", "10")} <= set(codes)
            else:
                assert account_for(role) in codes
    assert all(a.basis.startswith(f"Circular {regime[2:4]}/") for a in pack.accounts)


def test_the_migrated_database_holds_the_deployment_pack():
    with connection.cursor() as cursor:
        cursor.execute("SELECT code FROM billing_account WHERE is_active")
        active = {code for (code,) in cursor.fetchall()}
    assert {a.code for a in pack_for("tt24_2024").accounts} <= active
    assert not active & (set(FIRST_CHART) - {a.code for a in pack_for("tt24_2024").accounts})
