"""The items finance works: the list (filters, cursor pagination), matching by hand (a
missing capture to its bank line, money in suspense to the payment it was for), write-offs
with a second approval above the threshold, the summary and the daily close; every action
in the item's history and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.chart import BANK, CASH_OVERAGE, CASH_SHORTAGE, SUSPENSE, VIETQR_CLEARING
from config.audit.models import AuditEvent
from config.identity.models import Role
from payments.models import (
    PaymentStatus,
    ReconItem,
    ReconKind,
    ReconStatus,
    StatementLine,
)
from payments.services.matching import add_business_days, reconciliation_match
from tests.assertions import assert_error, assert_trial_balance_balanced, balance
from tests.payments.builders.payments import paid_by_transfer, vietqr_payment
from tests.payments.test_matching import ddmmyyyy, statement

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bank_feeds_configured")]
ITEMS = "/api/v1/reconciliation/items"


def finance_person(staff_client: Callable[..., APIClient]) -> APIClient:
    client = staff_client(Role.FINANCE)
    client.default_format = "json"
    return client


@pytest.fixture
def finance(staff_client: Callable[..., APIClient]) -> APIClient:
    return finance_person(staff_client)


def missing_capture(amount: int = 250_000) -> ReconItem:
    paid_by_transfer(amount=amount)
    today = timezone.localdate()
    reconciliation_match(today=today)
    reconciliation_match(today=add_business_days(today, 4))
    item = ReconItem.objects.get(kind=ReconKind.VIETQR_CAPTURE, amount=amount)
    assert item.status == ReconStatus.MISSING
    return item


def stray_line(amount: int, memo: str = "CHUYEN KHOAN") -> ReconItem:
    yesterday = timezone.localdate() - timedelta(days=1)
    statement(f'{ddmmyyyy(yesterday)},FT{amount},,"{amount:,}",{memo}')
    reconciliation_match()
    return ReconItem.objects.get(kind=ReconKind.BANK_LINE, amount=amount)


def test_items_are_listed_with_filters_and_cursor_pages(finance: APIClient) -> None:
    missing_capture(100_000)
    stray_line(300_000)
    stray_line(400_000)
    page = finance.get(ITEMS, {"page_size": 2}).json()
    assert len(page["results"]) == 2
    assert page["next"]
    rest = finance.get(page["next"]).json()
    assert len(rest["results"]) == 1
    unexpected = finance.get(ITEMS, {"status": "unexpected"}).json()["results"]
    assert sorted(i["amount"] for i in unexpected) == [300_000, 400_000]
    assert all(i["statement_line"]["direction"] == "in" for i in unexpected)
    missing = finance.get(ITEMS, {"status": "missing", "channel": "vietqr"}).json()["results"]
    assert [i["amount"] for i in missing] == [100_000]
    assert missing[0]["due_by"] > missing[0]["expected_on"]
    bad = finance.get(ITEMS, {"status": "lost"})
    assert_error(bad, 400, "parameter_invalid", "status")


def test_a_missing_capture_matched_by_hand_to_an_unexpected_line(finance: APIClient) -> None:
    item = missing_capture(250_000)
    stray = stray_line(250_000, "CK KHONG MA")
    response = finance.post(f"{ITEMS}/{item.pk}/match", {"item": stray.pk, "note": "memo typo"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "manually_matched"
    stray.refresh_from_db()
    assert stray.status == ReconStatus.MANUALLY_MATCHED
    assert balance(VIETQR_CLEARING) == 0
    assert balance(SUSPENSE) == 0
    assert balance(BANK) == 250_000
    assert AuditEvent.objects.filter(action="reconciliation.manually_matched").count() == 2
    again = finance.post(f"{ITEMS}/{item.pk}/match", {"item": stray.pk, "note": "again"})
    assert_error(again, 409, "recon_item_state_conflict")


def test_a_free_line_with_another_amount_books_the_difference(finance: APIClient) -> None:
    item = missing_capture(250_000)
    line = StatementLine.objects.create(
        account_number="0011001234567",
        booked_on=timezone.localdate(),
        direction="in",
        amount=249_000,
        currency="VND",
        dedupe_key="x" * 64,
        source="file",
    )
    response = finance.post(
        f"{ITEMS}/{item.pk}/match", {"statement_line": line.pk, "note": "bank fee taken"}
    )
    assert response.status_code == 200, response.json()
    assert balance(BANK) == 249_000
    assert balance(CASH_SHORTAGE) == 1_000
    assert balance(VIETQR_CLEARING) == 0
    assert_trial_balance_balanced()


def test_money_in_suspense_pays_the_payment_it_was_meant_for(finance: APIClient) -> None:
    payment = vietqr_payment(amount=180_000)
    stray = stray_line(180_000, "thanh toan vien phi")
    response = finance.post(
        f"{ITEMS}/{stray.pk}/match", {"payment": payment.public_id, "note": "patient called"}
    )
    assert response.status_code == 200, response.json()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert balance(SUSPENSE) == 0
    assert balance(BANK) == 180_000


def test_matching_needs_exactly_one_target(finance: APIClient) -> None:
    item = missing_capture()
    response = finance.post(f"{ITEMS}/{item.pk}/match", {"note": "?"})
    assert_error(response, 400, "recon_match_invalid")
    response = finance.post(f"{ITEMS}/{item.pk}/match", {"payment": "pay_nope", "note": "?"})
    assert_error(response, 404, "not_found", "payment")


def test_a_small_write_off_closes_the_item_at_once(finance: APIClient) -> None:
    stray = stray_line(50_000)
    response = finance.post(f"{ITEMS}/{stray.pk}/write-off", {"reason": "bank interest"})
    assert response.status_code == 200
    assert response.json()["status"] == "written_off"
    assert balance(SUSPENSE) == 0
    assert balance(CASH_OVERAGE) == -50_000


def test_a_large_write_off_needs_a_second_person_of_finance(
    finance: APIClient, staff_client: Callable[..., APIClient]
) -> None:
    item = missing_capture(900_000)
    first = finance.post(f"{ITEMS}/{item.pk}/write-off", {"reason": "never arrived"})
    assert first.status_code == 200
    assert (first.json()["status"], first.json()["write_off_requested"]) == ("missing", True)
    same = finance.post(f"{ITEMS}/{item.pk}/write-off", {"reason": "never arrived"})
    assert_error(same, 403, "write_off_approval_by_requester")
    assert balance(VIETQR_CLEARING) == 900_000
    second = finance_person(staff_client).post(f"{ITEMS}/{item.pk}/write-off", {"reason": "ok"})
    assert second.json()["status"] == "written_off"
    assert balance(VIETQR_CLEARING) == 0
    assert balance(CASH_SHORTAGE) == 900_000
    actions = list(ReconItem.objects.get(pk=item.pk).actions.values_list("action", flat=True))
    assert actions[-2:] == ["write_off_requested", "written_off"]


def test_cashiers_cannot_see_or_work_items(staff_client: Callable[..., APIClient]) -> None:
    cashier = staff_client(Role.CASHIER)
    assert_error(cashier.get(ITEMS), 403, "permission_denied")


def test_the_daily_close_says_whether_the_day_is_reconciled(finance: APIClient) -> None:
    today = timezone.localdate()
    payment = paid_by_transfer(amount=70_000)
    day = finance.get("/api/v1/reconciliation/daily", {"date": today.isoformat()}).json()
    assert day["reconciled"] is True  # nothing enrolled yet: the matcher has not run
    reconciliation_match(today=today)
    day = finance.get("/api/v1/reconciliation/daily", {"date": today.isoformat()}).json()
    assert (day["reconciled"], day["open_items"]["expected"]) == (False, 1)
    statement(f'{ddmmyyyy(today)},FT1,,"70,000",{payment.memo_code}')
    reconciliation_match(today=today)
    day = finance.get("/api/v1/reconciliation/daily", {"date": today.isoformat()}).json()
    assert day["reconciled"] is True
    assert_error(finance.get("/api/v1/reconciliation/daily"), 400, "parameter_missing", "date")


def test_the_summary_counts_per_channel_and_reports_what_is_in_transit(
    finance: APIClient,
) -> None:
    missing_capture(100_000)
    summary = finance.get(
        "/api/v1/reconciliation/summary", {"date": timezone.localdate().isoformat()}
    ).json()
    vietqr = summary["channels"]["vietqr"]
    assert vietqr["missing"] == {"count": 1, "amount": 100_000}
    assert vietqr["expected"] == {"count": 1, "amount": 100_000}
    assert summary["in_transit"]["vietqr_clearing"] == 100_000
