"""A VietQR transfer the bank feeds never reported: the statement file's line completes the
waiting payment itself (the webhook's path: one capture entry, the receipt's event), and a
feed's report arriving afterwards changes nothing — with or without the bank's reference."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.chart import BANK, SUSPENSE, VIETQR_CLEARING
from billing.models import JournalEntry
from payments.models import (
    OutboxEvent,
    Payment,
    PaymentStatus,
    ReconciliationItem,
    ReconItem,
    ReconKind,
    ReconStatus,
    StatementLine,
)
from payments.services.matching import reconciliation_match
from tests.assertions import balance
from tests.concurrency import run_at_once
from tests.payments.builders.payments import vietqr_payment
from tests.payments.builders.statements import ddmmyyyy, statement
from tests.payments.builders.webhooks import (
    bank_memo,
    casso_record,
    feed_time,
    post_casso,
    post_sepay,
    sepay_body,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bank_feeds_configured")]


def today_ddmmyyyy() -> str:
    return ddmmyyyy(timezone.localdate())


def memo_of(payment: Payment) -> str:
    """The bank's memo of the patient's transfer for ``payment``."""
    assert payment.memo_code
    return bank_memo(payment.memo_code)


def captures(payment: Payment) -> int:
    return JournalEntry.objects.filter(posting_key=payment.captured_posting_key).count()


def assert_paid_once(payment: Payment) -> None:
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert captures(payment) == 1
    assert (
        OutboxEvent.objects.filter(
            topic="payment.succeeded", dedupe_key=f"payment:{payment.pk}:succeeded"
        ).count()
        == 1
    )
    assert not ReconciliationItem.objects.exists()  # nothing held in suspense
    assert balance(SUSPENSE) == 0


def test_the_statement_line_completes_the_waiting_payment_and_the_late_webhook_is_ignored() -> None:
    payment = vietqr_payment(amount=310_000)
    memo = memo_of(payment)
    statement(f'{today_ddmmyyyy()},FT26338001,,"310,000",{memo}')
    assert_paid_once(payment)
    line = StatementLine.objects.get()
    assert "statement" in line.feed_reports
    assert balance(VIETQR_CLEARING) == 310_000

    run = reconciliation_match()
    assert (run.matched, run.unexpected) == (1, 0)
    item = ReconItem.objects.get()
    assert (item.kind, item.status, item.statement_line) == (
        ReconKind.VIETQR_CAPTURE,
        ReconStatus.MATCHED,
        line,
    )
    assert (balance(VIETQR_CLEARING), balance(BANK)) == (0, 310_000)

    # The feed's report comes at last, naming the same bank reference: the same line.
    body = sepay_body(amount=310_000, content=memo)
    body["referenceCode"] = "FT26338001"
    assert post_sepay(Client(), body).status_code == 200
    assert_paid_once(payment)
    assert StatementLine.objects.count() == 1
    assert set(StatementLine.objects.get().feed_reports) == {"statement", "sepay"}
    reconciliation_match(today=timezone.localdate() + timedelta(days=1))
    assert ReconItem.objects.count() == 1
    assert (balance(VIETQR_CLEARING), balance(BANK), balance(SUSPENSE)) == (0, 310_000, 0)


def test_a_late_feed_report_without_the_banks_reference_is_the_same_transfer() -> None:
    payment = vietqr_payment(amount=95_000)
    memo = memo_of(payment)
    statement(f'{today_ddmmyyyy()},FT26338002,,"95,000",{memo}')
    assert_paid_once(payment)
    record = casso_record(amount=95_000, description=memo)
    record["reference"] = ""
    assert post_casso(Client(), {"error": 0, "data": record}).status_code == 200
    body = sepay_body(amount=95_000, content=memo)
    body["referenceCode"] = None
    assert post_sepay(Client(), body).status_code == 200
    assert_paid_once(payment)
    line = StatementLine.objects.get()
    assert set(line.feed_reports) == {"statement", "casso", "sepay"}
    reconciliation_match(today=timezone.localdate() + timedelta(days=1))
    assert list(ReconItem.objects.values_list("kind", "status")) == [
        (ReconKind.VIETQR_CAPTURE, ReconStatus.MATCHED)
    ]
    assert (balance(VIETQR_CLEARING), balance(BANK), balance(SUSPENSE)) == (0, 95_000, 0)


def test_a_second_transfer_of_the_same_code_still_goes_to_suspense() -> None:
    """Only the one transfer the statement applied is recognised: the patient paying twice
    is money to give back, held in suspense as before."""
    payment = vietqr_payment(amount=70_000)
    statement(f'{today_ddmmyyyy()},FT26338003,,"70,000",{memo_of(payment)}')
    assert_paid_once(payment)
    first = sepay_body(amount=70_000, content=memo_of(payment))
    first["referenceCode"] = None
    second = sepay_body(amount=70_000, content=memo_of(payment))
    second["referenceCode"] = None
    assert post_sepay(Client(), first).status_code == 200
    assert post_sepay(Client(), second).status_code == 200
    held = ReconciliationItem.objects.get()
    assert (held.amount, held.reason) == (70_000, "not_pending")
    assert captures(payment) == 1


def test_the_statement_completes_nothing_that_does_not_fit_the_payment() -> None:
    """Another amount, another of the hospital's accounts, or a QR that expired before the
    booking day: the line stays for the matcher (and finance), the payment waits."""
    short = vietqr_payment(amount=200_000)
    late = vietqr_payment(amount=60_000)
    Payment.objects.filter(pk=late.pk).update(expires_at=timezone.now() - timedelta(days=2))
    statement(
        f'{today_ddmmyyyy()},FT26338004,,"150,000",{memo_of(short)}',
        f'{today_ddmmyyyy()},FT26338005,,"60,000",{memo_of(late)}',
    )
    for payment in (short, late):
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.PENDING
        assert captures(payment) == 0
    assert not any("statement" in line.feed_reports for line in StatementLine.objects.all())


def test_an_earlier_feed_report_is_not_applied_twice_by_the_file() -> None:
    payment = vietqr_payment(amount=45_000)
    memo = memo_of(payment)
    body = sepay_body(amount=45_000, content=memo)
    body["referenceCode"] = "FT26338006"
    body["transactionDate"] = feed_time()
    assert post_sepay(Client(), body).status_code == 200
    statement(f'{today_ddmmyyyy()},FT26338006,,"45,000",{memo}')
    assert_paid_once(payment)
    assert StatementLine.objects.get().feed_reports == {"sepay": str(body["id"])}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_reference", [True, False])
def test_the_file_and_a_feed_telling_the_same_transfer_at_once_complete_it_once(
    with_reference: bool,
) -> None:
    """Whichever takes the payment's lock first decides; the other finds it paid (the feed
    recognises the statement's line, the file completes nothing), in any order."""
    for round_ in range(3):
        payment = vietqr_payment(amount=120_000 + round_)
        memo = memo_of(payment)
        reference = f"FT2633810{round_}{int(with_reference)}"
        body = sepay_body(amount=payment.amount, content=memo)
        body["referenceCode"] = reference if with_reference else None
        row = f'{today_ddmmyyyy()},{reference},,"{payment.amount:,}",{memo}'

        def tell(i: int, row: str = row, body: dict[str, object] = body) -> object:
            return statement(row).lines_total if i == 0 else post_sepay(Client(), body).status_code

        outcomes = run_at_once(2, tell)
        assert outcomes == [1, 200]
        assert_paid_once(payment)
        if with_reference:
            assert StatementLine.objects.filter(bank_reference=reference).count() == 1
