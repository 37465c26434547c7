"""A bank feed reports a transfer without the bank's reference before the statement file
brings it with one: the file adopts the feed's line (same account, direction, amount,
currency and code, booked within a day) instead of adding a second line for one transfer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.chart import BANK, SUSPENSE, VIETQR_CLEARING
from payments.models import ReconciliationItem, ReconItem, ReconKind, ReconStatus, StatementLine
from payments.services.matching import reconciliation_match
from tests.assertions import balance
from tests.concurrency import run_at_once
from tests.payments.builders.payments import vietqr_payment
from tests.payments.builders.statements import statement
from tests.payments.builders.webhooks import casso_record, post_casso, post_sepay, sepay_body
from tests.payments.test_statement_only_vietqr import (
    assert_paid_once,
    captures,
    memo_of,
    today_ddmmyyyy,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bank_feeds_configured")]


def casso_without_reference(amount: int, memo: str) -> dict[str, object]:
    record = casso_record(amount=amount, description=memo)
    record["reference"] = ""
    return record


def test_the_file_adopts_the_line_a_feed_reported_without_the_reference() -> None:
    payment = vietqr_payment(amount=210_000)
    memo = memo_of(payment)
    record = casso_without_reference(210_000, memo)
    assert post_casso(Client(), {"error": 0, "data": record}).status_code == 200
    assert_paid_once(payment)

    imported = statement(f'{today_ddmmyyyy()},FT26339001,,"210,000",{memo}')
    assert (imported.lines_total, imported.lines_new) == (1, 0)
    line = StatementLine.objects.get()
    assert (line.bank_reference, line.statement_id, line.source) == (
        "FT26339001",
        imported.pk,
        "casso",
    )
    assert line.feed_reports == {"casso": str(record["id"])}
    assert_paid_once(payment)

    # The same file again, and the other feed's report without the reference: still one.
    assert statement(f'{today_ddmmyyyy()},FT26339001,,"210,000",{memo}').lines_new == 0
    body = sepay_body(amount=210_000, content=memo)
    body["referenceCode"] = None
    assert post_sepay(Client(), body).status_code == 200
    assert StatementLine.objects.count() == 1
    assert set(StatementLine.objects.get().feed_reports) == {"casso", "sepay"}
    assert_paid_once(payment)

    run = reconciliation_match(today=timezone.localdate() + timedelta(days=1))
    assert (run.matched, run.unexpected) == (1, 0)
    assert list(ReconItem.objects.values_list("kind", "status", "statement_line")) == [
        (ReconKind.VIETQR_CAPTURE, ReconStatus.MATCHED, line.pk)
    ]
    assert (balance(VIETQR_CLEARING), balance(BANK), balance(SUSPENSE)) == (0, 210_000, 0)


def test_two_transfers_of_one_code_and_amount_stay_two_lines() -> None:
    """The patient paid twice: two feed reports, then a file with two references — two
    lines; the second transfer stays in suspense, money to give back."""
    payment = vietqr_payment(amount=80_000)
    memo = memo_of(payment)
    for _ in range(2):
        record = casso_without_reference(80_000, memo)
        assert post_casso(Client(), {"error": 0, "data": record}).status_code == 200
    assert StatementLine.objects.count() == 2
    assert ReconciliationItem.objects.get().reason == "not_pending"

    imported = statement(
        f'{today_ddmmyyyy()},FT26339011,,"80,000",{memo}',
        f'{today_ddmmyyyy()},FT26339012,,"80,000",{memo}',
    )
    assert (imported.lines_total, imported.lines_new) == (2, 0)
    lines = StatementLine.objects.order_by("id")
    assert [(line.bank_reference, line.statement_id) for line in lines] == [
        ("FT26339011", imported.pk),
        ("FT26339012", imported.pk),
    ]
    assert captures(payment) == 1
    assert ReconciliationItem.objects.count() == 1


def test_a_line_of_another_amount_or_day_is_not_adopted() -> None:
    payment = vietqr_payment(amount=60_000)
    memo = memo_of(payment)
    record = casso_without_reference(60_000, memo)
    assert post_casso(Client(), {"error": 0, "data": record}).status_code == 200
    far = (timezone.localdate() + timedelta(days=2)).strftime("%d/%m/%Y")
    imported = statement(
        f'{today_ddmmyyyy()},FT26339021,,"60,001",{memo}',
        f'{far},FT26339022,,"60,000",{memo}',
    )
    assert imported.lines_new == 2
    feed_line = StatementLine.objects.get(source="casso")
    assert (feed_line.bank_reference, feed_line.statement_id) == ("", None)


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_file_at_once_adopt_the_feed_line_once() -> None:
    payment = vietqr_payment(amount=130_000)
    memo = memo_of(payment)
    record = casso_without_reference(130_000, memo)
    assert post_casso(Client(), {"error": 0, "data": record}).status_code == 200
    row = f'{today_ddmmyyyy()},FT26339031,,"130,000",{memo}'

    outcomes = run_at_once(2, lambda _i: statement(row).lines_new)
    assert outcomes == [0, 0]
    line = StatementLine.objects.get()
    assert (line.bank_reference, line.source) == ("FT26339031", "casso")
    assert_paid_once(payment)
