"""Casso and SePay rewrite the memo of one transfer differently ("VP 7K2Q9" against
"VP7K2Q9 CHUYEN TIEN" or "vp-7k2q9"), both without the bank's reference: the memo code is
read canonically, so both reports are one statement line and one capture — not a second
line, and not the second transfer in suspense."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.chart import BANK, SUSPENSE, VIETQR_CLEARING
from payments.models import Payment, ReconItem, ReconKind, ReconStatus, StatementLine
from payments.services.matching import reconciliation_match
from payments.services.statements import memo_codes
from tests.assertions import balance
from tests.payments.builders.payments import vietqr_payment
from tests.payments.builders.statements import statement
from tests.payments.builders.webhooks import casso_record, post_casso, post_sepay, sepay_body
from tests.payments.test_statement_only_vietqr import assert_paid_once, today_ddmmyyyy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bank_feeds_configured")]

AT = "2026-12-01 09:15:02"


def spaced(payment: Payment) -> str:
    assert payment.memo_code
    return f"{payment.memo_code[:2]} {payment.memo_code[2:]}"


def casso_says(payment: Payment, memo: str) -> None:
    record = casso_record(amount=payment.amount, description=memo)
    record["reference"] = ""
    record["transactionDateTime"] = AT
    assert post_casso(Client(), {"error": 0, "data": record}).status_code == 200


def sepay_says(payment: Payment, memo: str) -> None:
    body = sepay_body(amount=payment.amount, content=memo)
    body["referenceCode"] = None
    body["transactionDate"] = AT
    assert post_sepay(Client(), body).status_code == 200


@pytest.mark.parametrize(
    "sepay_memo",
    [
        lambda code: f"{code} CHUYEN TIEN",
        lambda code: f"{code.lower()[:2]}-{code.lower()[2:]}",
    ],
    ids=["glued-with-text", "lower-dashed"],
)
def test_two_feeds_rewriting_the_memo_differently_book_the_transfer_once(
    sepay_memo: Callable[[str], str],
) -> None:
    payment = vietqr_payment(amount=95_000)
    casso_says(payment, f"NGUYEN VAN A chuyen tien {spaced(payment)}")
    assert_paid_once(payment)  # the spaced code is ours: the payment completes
    assert payment.memo_code
    sepay_says(payment, sepay_memo(payment.memo_code))

    line = StatementLine.objects.get()
    assert set(line.feed_reports) == {"casso", "sepay"}
    assert line.match_code == payment.memo_code
    assert_paid_once(payment)  # and the second report is not held in suspense

    run = reconciliation_match(today=timezone.localdate() + timedelta(days=30))
    assert list(ReconItem.objects.values_list("kind", "status")) == [
        (ReconKind.VIETQR_CAPTURE, ReconStatus.MATCHED)
    ]
    assert run.unexpected == 0
    assert (balance(VIETQR_CLEARING), balance(BANK), balance(SUSPENSE)) == (0, 95_000, 0)


def test_the_file_adopts_the_feed_line_whose_memo_was_rewritten() -> None:
    payment = vietqr_payment(amount=70_000)
    record = casso_record(amount=70_000, description=f"CK {spaced(payment)}")
    record["reference"] = ""
    assert post_casso(Client(), {"error": 0, "data": record}).status_code == 200
    imported = statement(f'{today_ddmmyyyy()},FT26339501,,"70,000",MBVCB.1.{payment.memo_code}.CT')
    assert (imported.lines_total, imported.lines_new) == (1, 0)
    assert StatementLine.objects.get().bank_reference == "FT26339501"
    assert_paid_once(payment)


def test_words_that_read_like_a_code_are_not_codes() -> None:
    """The tolerant form counts only codes we issued: "VP TRUNG TAM" is an office, and a
    memo carrying a real code next to such words still has one code."""
    payment = vietqr_payment(amount=50_000)
    assert memo_codes("CK VP TRUNG TAM") == []
    assert memo_codes("ND THANH TOAN VIEN PHI") == []
    assert memo_codes(f"ND THANH TOAN {spaced(payment)} VP TRUNG TAM") == [payment.memo_code]
    assert memo_codes(f"ND THANH TOAN {payment.memo_code}") == [payment.memo_code]


def test_a_word_read_as_a_code_does_not_hide_the_code_behind_it() -> None:
    payment = vietqr_payment(amount=50_000)
    assert memo_codes(f"VP HCM {spaced(payment)}") == [payment.memo_code]


def test_lines_stored_before_the_upgrade_are_re_keyed_on_their_code() -> None:
    """A feed's line stored under the old memo key (and without its code: "VP 7K2Q9" was
    not read then) is found by the other feed's report after the migration."""
    from django.apps import apps

    from payments.services.statements import line_dedupe_key, stored_line_facts

    migration = importlib.import_module("payments.migrations.0015_statement_line_canonical_codes")
    payment = vietqr_payment(amount=66_000)
    casso_says(payment, f"CK {spaced(payment)}")
    line = StatementLine.objects.get()
    old_key = line_dedupe_key(stored_line_facts(line))
    StatementLine.objects.filter(pk=line.pk).update(dedupe_key=old_key, match_code="")

    migration.canonical_codes(apps, None)
    line.refresh_from_db()
    assert line.match_code == payment.memo_code
    assert line.dedupe_key != old_key
    sepay_says(payment, f"{payment.memo_code} CHUYEN TIEN")
    assert StatementLine.objects.get().feed_reports.keys() == {"casso", "sepay"}
    assert_paid_once(payment)
