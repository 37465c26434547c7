"""ledger_post and ledger_reverse: what they refuse, what they replay, what they mirror."""

from __future__ import annotations

import pytest
from django.db import transaction

from billing.chart import (
    DEPOSIT_LIABILITY,
    MAIN_CASH,
    PATIENT_RECEIVABLE,
    PHARMACY_REVENUE,
    SERVICE_REVENUE,
)
from billing.errors import (
    AlreadyReversed,
    CurrencyMismatch,
    InvalidJournalLine,
    PostingKeyConflict,
    UnbalancedEntry,
    UnknownAccount,
)
from billing.models import Account, JournalEntry, JournalLine
from billing.money import Money
from billing.selectors.ledger import account_balance
from billing.services.ledger import Posting, ledger_post, ledger_reverse
from config.errors import DomainError

pytestmark = pytest.mark.usefixtures("chart")


def vnd(amount: int) -> Money:
    return Money(amount, "VND")


def _visit_fee(amount: int = 180_000) -> list[Posting]:
    """A patient owes for a visit: Dr patient receivable / Cr service revenue."""
    return [Posting.dr(PATIENT_RECEIVABLE, vnd(amount)), Posting.cr(SERVICE_REVENUE, vnd(amount))]


def _lines(entry: JournalEntry) -> list[tuple[str, int, int]]:
    return [
        (line.account.code, line.debit, line.credit)
        for line in entry.lines.select_related("account").order_by("id")
    ]


def test_a_balanced_entry_is_posted_with_its_lines_and_source():
    lines = [
        Posting.dr(PATIENT_RECEIVABLE, vnd(250_000)),
        Posting.cr(SERVICE_REVENUE, vnd(180_000)),
        Posting.cr(PHARMACY_REVENUE, vnd(70_000)),
    ]

    entry = ledger_post(
        posting_key="invoice:42:issue",
        lines=lines,
        source_type="invoice",
        source_id="42",
        memo="Visit and medicine",
    )

    stored = JournalEntry.objects.get(pk=entry.pk)
    assert (stored.posting_key, stored.source_type, stored.source_id, stored.memo) == (
        "invoice:42:issue",
        "invoice",
        "42",
        "Visit and medicine",
    )
    assert _lines(stored) == [
        (PATIENT_RECEIVABLE, 250_000, 0),
        (SERVICE_REVENUE, 0, 180_000),
        (PHARMACY_REVENUE, 0, 70_000),
    ]


def test_unbalanced_entry_is_refused_with_the_difference_per_currency():
    lines = [
        Posting.dr(PATIENT_RECEIVABLE, vnd(180_000)),
        Posting.cr(SERVICE_REVENUE, vnd(170_000)),
    ]

    with pytest.raises(UnbalancedEntry) as refused:
        ledger_post(posting_key="k:unbalanced", lines=lines, source_type="test")

    assert refused.value.detail == {"difference_by_currency": {"VND": 10_000}}
    assert not JournalEntry.objects.exists()


@pytest.mark.parametrize(
    "lines",
    [[], [Posting.dr(PATIENT_RECEIVABLE, Money(180_000, "VND"))]],
    ids=["no-lines", "one-line"],
)
def test_an_entry_needs_at_least_two_lines(lines):
    with pytest.raises(UnbalancedEntry, match="at least two lines"):
        ledger_post(posting_key="k:short", lines=lines, source_type="test")

    assert not JournalEntry.objects.exists()


def test_a_line_on_an_unknown_account_is_refused():
    lines = [Posting.dr(PATIENT_RECEIVABLE, vnd(180_000)), Posting.cr("9999", vnd(180_000))]

    with pytest.raises(UnknownAccount) as refused:
        ledger_post(posting_key="k:unknown", lines=lines, source_type="test")

    assert refused.value.param == "lines[1].account"
    assert not JournalEntry.objects.exists()


def test_a_line_on_an_inactive_account_is_refused():
    Account.objects.filter(code=PHARMACY_REVENUE).update(is_active=False)
    lines = [
        Posting.dr(PATIENT_RECEIVABLE, vnd(180_000)),
        Posting.cr(PHARMACY_REVENUE, vnd(180_000)),
    ]

    with pytest.raises(UnknownAccount) as refused:
        ledger_post(posting_key="k:inactive", lines=lines, source_type="test")

    assert refused.value.param == "lines[1].account"
    assert not JournalEntry.objects.exists()


def test_an_amount_in_another_currency_than_its_account_is_refused():
    lines = [
        Posting.dr(PATIENT_RECEIVABLE, Money(1_000, "USD")),
        Posting.cr(SERVICE_REVENUE, Money(1_000, "USD")),
    ]

    with pytest.raises(CurrencyMismatch, match="kept in VND, not USD") as refused:
        ledger_post(posting_key="k:usd-on-vnd", lines=lines, source_type="test")

    assert refused.value.param == "lines[0].currency"
    assert not JournalEntry.objects.exists()


@pytest.mark.parametrize(
    "bad_line",
    [
        Posting(MAIN_CASH, 0, 0, "VND"),
        Posting(MAIN_CASH, -5_000, 0, "VND"),
        Posting(MAIN_CASH, 0, -5_000, "VND"),
        Posting(MAIN_CASH, 5_000, 5_000, "VND"),
        Posting(MAIN_CASH, 10_000, 5_000, "VND"),
    ],
    ids=["zero", "negative-debit", "negative-credit", "both-sides", "both-sides-net-positive"],
)
def test_a_line_without_exactly_one_positive_side_is_refused(bad_line):
    lines = [*_visit_fee(), bad_line]

    with pytest.raises(InvalidJournalLine) as refused:
        ledger_post(posting_key="k:bad-line", lines=lines, source_type="test")

    assert refused.value.param == "lines[2]"
    assert not JournalEntry.objects.exists()


def test_every_refusal_is_a_domain_error_the_api_can_render():
    for error in (UnbalancedEntry, InvalidJournalLine, UnknownAccount, PostingKeyConflict):
        assert issubclass(error, DomainError)
    assert PostingKeyConflict.status == 409


def test_posting_a_key_again_with_the_same_lines_returns_the_first_entry():
    first = ledger_post(posting_key="invoice:7:issue", lines=_visit_fee(), source_type="invoice")

    again = ledger_post(
        posting_key="invoice:7:issue", lines=list(reversed(_visit_fee())), source_type="invoice"
    )

    assert again.pk == first.pk
    assert JournalEntry.objects.count() == 1
    assert JournalLine.objects.count() == 2
    assert account_balance(account=Account.objects.get(code=PATIENT_RECEIVABLE)) == vnd(180_000)


@pytest.mark.parametrize(
    "other_lines",
    [
        [
            Posting.dr(PATIENT_RECEIVABLE, Money(200_000, "VND")),
            Posting.cr(SERVICE_REVENUE, Money(200_000, "VND")),
        ],
        [
            Posting.dr(PATIENT_RECEIVABLE, Money(180_000, "VND")),
            Posting.cr(PHARMACY_REVENUE, Money(180_000, "VND")),
        ],
        [
            Posting.dr(PATIENT_RECEIVABLE, Money(180_000, "VND")),
            Posting.cr(SERVICE_REVENUE, Money(100_000, "VND")),
            Posting.cr(SERVICE_REVENUE, Money(80_000, "VND")),
        ],
    ],
    ids=["other-amount", "other-account", "split-line"],
)
def test_posting_a_key_again_with_other_lines_is_a_conflict(other_lines):
    first = ledger_post(posting_key="invoice:8:issue", lines=_visit_fee(), source_type="invoice")

    with pytest.raises(PostingKeyConflict) as refused:
        ledger_post(posting_key="invoice:8:issue", lines=other_lines, source_type="invoice")

    assert refused.value.detail == {"entry_id": first.pk}
    assert refused.value.param == "posting_key"
    assert _lines(JournalEntry.objects.get()) == [
        (PATIENT_RECEIVABLE, 180_000, 0),
        (SERVICE_REVENUE, 0, 180_000),
    ]


def test_a_posting_rolls_back_with_the_callers_transaction():
    class BusinessChangeFailed(Exception):
        pass

    def issue_invoice_then_fail() -> None:
        with transaction.atomic():
            ledger_post(posting_key="invoice:9:issue", lines=_visit_fee(), source_type="invoice")
            raise BusinessChangeFailed

    with pytest.raises(BusinessChangeFailed):
        issue_invoice_then_fail()

    assert not JournalEntry.objects.filter(posting_key="invoice:9:issue").exists()
    assert not JournalLine.objects.exists()


def test_a_reversal_mirrors_every_line_and_links_the_original():
    original = ledger_post(
        posting_key="invoice:10:issue",
        lines=[
            Posting.dr(PATIENT_RECEIVABLE, vnd(250_000)),
            Posting.cr(SERVICE_REVENUE, vnd(180_000)),
            Posting.cr(PHARMACY_REVENUE, vnd(70_000)),
        ],
        source_type="invoice",
        source_id="10",
        memo="Visit",
    )

    reversal = ledger_reverse(entry=original)

    assert _lines(reversal) == [
        (PATIENT_RECEIVABLE, 0, 250_000),
        (SERVICE_REVENUE, 180_000, 0),
        (PHARMACY_REVENUE, 70_000, 0),
    ]
    assert reversal.reverses == original
    assert JournalEntry.objects.get(pk=original.pk).reversed_by == reversal
    assert (reversal.source_type, reversal.source_id) == ("invoice", "10")
    assert reversal.memo == f"Bút toán đảo của bút toán #{original.pk}: Visit"


def test_a_reversal_nets_every_balance_back_to_zero():
    before = {account.code: account_balance(account=account) for account in Account.objects.all()}
    original = ledger_post(
        posting_key="deposit:3:take",
        lines=[
            Posting.dr(MAIN_CASH, vnd(2_000_000)),
            Posting.cr(DEPOSIT_LIABILITY, vnd(2_000_000)),
        ],
        source_type="deposit",
    )
    assert account_balance(account=Account.objects.get(code=DEPOSIT_LIABILITY)) == vnd(2_000_000)

    ledger_reverse(entry=original)

    after = {account.code: account_balance(account=account) for account in Account.objects.all()}
    assert after == before


def test_reversing_an_entry_twice_returns_the_same_reversal():
    original = ledger_post(
        posting_key="invoice:11:issue", lines=_visit_fee(), source_type="invoice"
    )

    first = ledger_reverse(entry=original)
    second = ledger_reverse(entry=original, memo="clicked twice")

    assert second.pk == first.pk
    assert JournalEntry.objects.filter(reverses=original).count() == 1
    assert account_balance(account=Account.objects.get(code=PATIENT_RECEIVABLE)) == vnd(0)


def test_a_reversal_can_itself_be_reversed_to_restore_the_original():
    original = ledger_post(
        posting_key="invoice:12:issue", lines=_visit_fee(), source_type="invoice"
    )
    reversal = ledger_reverse(entry=original)

    restored = ledger_reverse(entry=reversal)

    assert restored.reverses == reversal
    assert _lines(restored) == _lines(original)
    assert account_balance(account=Account.objects.get(code=SERVICE_REVENUE)) == vnd(180_000)


def test_a_second_reversal_under_another_key_is_refused_not_a_server_error():
    original = ledger_post(
        posting_key="invoice:13:issue", lines=_visit_fee(), source_type="invoice"
    )
    ledger_reverse(entry=original)
    mirrored = [
        Posting.cr(PATIENT_RECEIVABLE, vnd(180_000)),
        Posting.dr(SERVICE_REVENUE, vnd(180_000)),
    ]

    with pytest.raises(AlreadyReversed) as refused:
        ledger_post(
            posting_key="manual:undo:13", lines=mirrored, source_type="manual", reverses=original
        )

    assert refused.value.status == 409
    assert JournalEntry.objects.filter(reverses=original).count() == 1


def test_a_replay_after_an_account_was_deactivated_returns_the_entry_already_posted():
    first = ledger_post(posting_key="visit:after-close", lines=_visit_fee(), source_type="test")
    Account.objects.filter(code=_visit_fee()[0].account_code).update(is_active=False)

    again = ledger_post(posting_key="visit:after-close", lines=_visit_fee(), source_type="test")

    assert again.pk == first.pk
    assert JournalEntry.objects.filter(posting_key="visit:after-close").count() == 1
