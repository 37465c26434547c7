"""A feed reported a movement without the bank's reference and without a code of ours (an
insurer's transfer, a cash deposit without its slip code, a refund sent), then the
statement file brings it with the reference: the file adopts the feed's line only when it
can be no other (one feed line of that account, direction, amount and currency within a
day, whose description the file's contains once folded, and no other line of the file
that could be it); otherwise both lines stay and the file's is held by a
``possible_duplicate`` item that finance decides — never counted twice silently."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from billing.chart import BANK
from config.identity.models import Role
from payments.models import ReconItem, ReconKind, ReconStatus, StatementLine
from payments.services.matching import reconciliation_match
from payments.services.statements import descriptions_agree
from tests.assertions import balance
from tests.concurrency import run_at_once
from tests.payments.builders.statements import statement
from tests.payments.builders.webhooks import post_sepay, sepay_body
from tests.payments.test_statement_only_vietqr import today_ddmmyyyy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bank_feeds_configured")]

FEED_TEXT = "Bảo hiểm ABC thanh toán HĐ 2231"
FILE_TEXT = "IBFT 0011223344 BAO HIEM ABC THANH TOAN HD-2231 tai VCB"


def feed_reports(amount: int, content: str = FEED_TEXT, direction: str = "in") -> None:
    body = sepay_body(amount=amount, content=content, direction=direction)
    body["referenceCode"] = None
    assert post_sepay(Client(), body).status_code == 200


def file_row(reference: str, amount: int, text: str = FILE_TEXT, direction: str = "in") -> str:
    debit, credit = (f'"{amount:,}"', "") if direction == "out" else ("", f'"{amount:,}"')
    return f"{today_ddmmyyyy()},{reference},{debit},{credit},{text}"


def match_tomorrow() -> None:
    reconciliation_match(today=timezone.localdate() + timedelta(days=1))


def duplicates() -> list[ReconItem]:
    return list(ReconItem.objects.filter(kind=ReconKind.POSSIBLE_DUPLICATE))


def test_descriptions_agree_when_the_feeds_text_is_in_the_files_once_folded() -> None:
    assert descriptions_agree(FEED_TEXT, FILE_TEXT)
    assert descriptions_agree("hoan tien  BN. Nguyen-Van-A", "CT DI HOAN TIEN BN NGUYEN VAN A")
    assert not descriptions_agree("UNG HO QUY BENH NHAN", FILE_TEXT)
    assert not descriptions_agree(" .- ", FILE_TEXT)  # an empty text says nothing


@pytest.mark.parametrize("direction", ["in", "out"])
def test_the_one_feed_line_that_can_be_it_is_adopted(direction: str) -> None:
    feed_reports(2_500_000, direction=direction)
    imported = statement(file_row("FT26339701", 2_500_000, direction=direction))
    assert (imported.lines_total, imported.lines_new) == (1, 0)
    line = StatementLine.objects.get()
    assert (line.bank_reference, line.statement_id, line.source) == (
        "FT26339701",
        imported.pk,
        "sepay",
    )
    assert not duplicates()
    match_tomorrow()
    # One movement in the books, whatever explains it (suspense until finance says what).
    assert balance(BANK) == (2_500_000 if direction == "in" else -2_500_000)
    assert ReconItem.objects.filter(statement_line__isnull=False).count() == 1


def test_two_feed_lines_that_could_be_it_adopt_neither_and_finance_decides(
    staff_client: Callable[..., APIClient],
) -> None:
    feed_reports(700_000)
    feed_reports(700_000)  # two identical transfers the same day
    imported = statement(file_row("FT26339711", 700_000))
    assert imported.lines_new == 1
    feed_lines = list(StatementLine.objects.filter(source="sepay").order_by("id"))
    assert [line.bank_reference for line in feed_lines] == ["", ""]
    (item,) = duplicates()
    file_line = StatementLine.objects.get(source="file")
    assert (item.status, item.statement_line, item.amount) == (
        ReconStatus.UNEXPECTED,
        file_line,
        700_000,
    )
    assert all(f"line {line.pk} (sepay" in item.note for line in feed_lines)

    match_tomorrow()  # the held line is neither matched nor booked
    assert balance(BANK) == 1_400_000
    assert not ReconItem.objects.filter(statement_line=file_line).exclude(pk=item.pk).exists()

    finance = staff_client(Role.FINANCE)
    response = finance.post(
        f"/api/v1/reconciliation/items/{item.pk}/match",
        {"statement_line": feed_lines[0].pk, "note": "cùng một giao dịch, Casso báo trước"},
        format="json",
    )
    assert response.status_code == 200, response.content
    item.refresh_from_db()
    assert item.status == ReconStatus.MANUALLY_MATCHED
    assert list(item.actions.values_list("action", flat=True)) == [
        "possible_duplicate",
        "duplicate_of_feed_line",
    ]
    match_tomorrow()
    assert balance(BANK) == 1_400_000


def test_another_description_is_not_adopted_and_finance_can_keep_both(
    staff_client: Callable[..., APIClient],
) -> None:
    feed_reports(330_000, content="UNG HO QUY BENH NHAN NGHEO")
    imported = statement(file_row("FT26339721", 330_000))
    assert imported.lines_new == 1
    (item,) = duplicates()
    file_line = StatementLine.objects.get(source="file")
    assert item.statement_line == file_line

    finance = staff_client(Role.FINANCE)
    response = finance.post(
        f"/api/v1/reconciliation/items/{item.pk}/match",
        {"statement_line": file_line.pk, "note": "hai khoản khác nhau"},
        format="json",
    )
    assert response.status_code == 200, response.content
    item.refresh_from_db()
    assert (item.status, item.statement_line) == (ReconStatus.MANUALLY_MATCHED, None)
    match_tomorrow()  # the freed line is an ordinary line again: two movements
    assert balance(BANK) == 660_000
    assert ReconItem.objects.get(statement_line=file_line).kind == ReconKind.BANK_LINE


def test_a_file_line_far_from_the_feeds_day_opens_nothing() -> None:
    feed_reports(410_000)
    far = (timezone.localdate() + timedelta(days=2)).strftime("%d/%m/%Y")
    statement(f'{far},FT26339731,,"410,000",{FILE_TEXT}')
    assert StatementLine.objects.count() == 2
    assert not duplicates()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("feed_lines", [1, 2])
def test_two_imports_of_the_file_at_once_store_one_line(feed_lines: int) -> None:
    for _ in range(feed_lines):
        feed_reports(900_000)
    row = file_row("FT26339741", 900_000)

    outcomes = run_at_once(2, lambda _i: statement(row).lines_new)
    assert sorted(outcomes) == ([0, 0] if feed_lines == 1 else [0, 1])
    assert StatementLine.objects.filter(bank_reference="FT26339741").count() == 1
    assert StatementLine.objects.count() == feed_lines + (0 if feed_lines == 1 else 1)
    assert len(duplicates()) == (0 if feed_lines == 1 else 1)
