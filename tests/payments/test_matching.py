"""The matcher: VietQR captures by memo code and amount, refunds by amount and date window,
unexpected lines to suspense, missing items after the SLA, amount mismatches held for
finance, every change audited, and a second run changing nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.chart import BANK, SUSPENSE, VIETQR_CLEARING
from payments.models import ReconItem, ReconItemAction, ReconKind, ReconStatus, StatementLine
from payments.services.matching import add_business_days, missing_cutoff, reconciliation_match
from payments.services.statements import statement_import
from tests.assertions import balance
from tests.payments.builders.payments import paid_by_transfer
from tests.payments.builders.statements import ddmmyyyy, statement
from tests.payments.builders.webhooks import HOSPITAL_ACCOUNT, post_sepay, sepay_body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bank_feeds_configured")]


def test_business_days_skip_the_weekend() -> None:
    friday = date(2026, 12, 4)
    assert add_business_days(friday, 3) == date(2026, 12, 9)
    # On Thursday the 10th, the SLA of Friday to Sunday (Wednesday the 9th) has run out.
    assert missing_cutoff(date(2026, 12, 10)) == date(2026, 12, 6)


def test_a_vietqr_capture_on_the_statement_moves_clearing_to_the_bank() -> None:
    payment = paid_by_transfer(amount=250_000)
    today = timezone.localdate()
    statement(f'{ddmmyyyy(today)},FT1,,"250,000",MBVCB.123.{payment.memo_code}.CT tu A')
    run = reconciliation_match(today=today)
    assert (run.enrolled, run.matched) == (1, 1)
    item = ReconItem.objects.get(kind=ReconKind.VIETQR_CAPTURE)
    assert item.status == ReconStatus.MATCHED
    assert item.statement_line == StatementLine.objects.get()
    assert balance(VIETQR_CLEARING) == 0
    assert balance(BANK) == 250_000
    assert list(item.actions.values_list("action", "to_status")) == [
        ("enrolled", "expected"),
        ("matched", "matched"),
    ]
    again = reconciliation_match(today=today)
    assert (again.enrolled, again.matched, again.unexpected) == (0, 0, 0)
    assert balance(BANK) == 250_000


def test_the_feed_line_itself_matches_the_capture_it_applied() -> None:
    from tests.payments.builders.payments import vietqr_payment

    payment = vietqr_payment(amount=120_000)
    body = sepay_body(amount=120_000, content=f"chuyen tien {payment.memo_code}")
    assert post_sepay(Client(), body).status_code == 200
    reconciliation_match()
    assert ReconItem.objects.get().status == ReconStatus.MATCHED
    assert balance(VIETQR_CLEARING) == 0


def test_same_code_with_another_amount_is_held_as_a_mismatch() -> None:
    payment = paid_by_transfer(amount=250_000)
    today = timezone.localdate()
    statement(f'{ddmmyyyy(today)},FT1,,"200,000",{payment.memo_code}')
    run = reconciliation_match(today=today + timedelta(days=1))
    assert run.mismatched == 1
    item = ReconItem.objects.get(kind=ReconKind.VIETQR_CAPTURE)
    assert item.status == ReconStatus.AMOUNT_MISMATCH
    assert balance(VIETQR_CLEARING) == 250_000  # nothing moves until finance decides
    assert not ReconItem.objects.filter(kind=ReconKind.BANK_LINE).exists()


def test_a_line_nothing_explains_goes_to_suspense_the_next_day() -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    statement(f'{ddmmyyyy(yesterday)},FT9,,"800,000",CHUYEN KHOAN KHONG RO NOI DUNG')
    assert reconciliation_match(today=yesterday).unexpected == 0
    run = reconciliation_match()
    assert run.unexpected == 1
    item = ReconItem.objects.get()
    assert (item.kind, item.status, item.amount) == (
        ReconKind.BANK_LINE,
        ReconStatus.UNEXPECTED,
        800_000,
    )
    assert balance(BANK) == 800_000
    assert balance(SUSPENSE) == -800_000


def test_an_outgoing_unexplained_line_is_booked_out_of_the_bank() -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    statement(f'{ddmmyyyy(yesterday)},FT8,"11,000",,PHI QUAN LY TAI KHOAN')
    reconciliation_match()
    assert balance(BANK) == -11_000
    assert balance(SUSPENSE) == 11_000


def test_a_line_in_another_currency_is_an_item_with_nothing_posted() -> None:
    content = (
        f"Số tài khoản: {HOSPITAL_ACCOUNT}\n"
        "Ngày giao dịch,Số tham chiếu,Ghi nợ,Ghi có,Loại tiền,Mô tả giao dịch\n"
        '01/12/2026,FT9,,"12.50",USD,wire\n'
    ).encode()
    statement_import(bank="bidv", content=content, file_name="u.csv", imported_by=None, via="api")
    reconciliation_match(today=date(2026, 12, 3))
    item = ReconItem.objects.get()
    assert (item.status, item.currency, item.note) == (
        ReconStatus.UNEXPECTED,
        "USD",
        "a line in USD: nothing posted",
    )
    assert balance(BANK) == 0


def test_a_capture_never_on_the_statement_is_missing_after_the_sla() -> None:
    paid_by_transfer(amount=90_000)
    today = timezone.localdate()
    reconciliation_match(today=today)
    assert ReconItem.objects.get().status == ReconStatus.EXPECTED
    run = reconciliation_match(today=add_business_days(today, 4))
    assert run.missing == 1
    item = ReconItem.objects.get()
    assert item.status == ReconStatus.MISSING
    assert ReconItemAction.objects.filter(item=item, action="missing").count() == 1
    assert balance(VIETQR_CLEARING) == 90_000
