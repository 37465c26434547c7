"""The month's close over HTTP: the dry run (trial balance per account and what blocks or
warns, by code), the close by two people, the month's state and history, an admin's
reopening, and bad months."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from billing.chart import BANK, SUSPENSE
from billing.chart import PATIENT_RECEIVABLE as RECEIVABLE
from billing.chart import SERVICE_REVENUE as REVENUE
from billing.models import Account, LedgerPeriod
from billing.money import Money
from billing.selectors.period_close import (
    BLOCK,
    PERIOD_CLOSE_CHECKS,
    PeriodFinding,
    PeriodWindow,
    period_check_register,
)
from billing.services.ledger import Posting, ledger_post
from config.identity.models import Role
from tests.assertions import assert_error

pytestmark = pytest.mark.django_db

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MAY = "/api/v1/ledger/periods/2026-05"


def _post(key: str, when: datetime, debit: str, credit: str, amount: int) -> None:
    ledger_post(
        posting_key=key,
        lines=[Posting.dr(debit, Money(amount, "VND")), Posting.cr(credit, Money(amount, "VND"))],
        source_type="manual",
        posted_at=when,
    )


@pytest.fixture
def may_books(chart: dict[str, Account]) -> None:
    """April: one invoice (the month before, left open). May: an invoice of 180,000 and a
    bank transfer of 50,000 nobody explained (suspense). June: one more invoice."""
    _post("apr", datetime(2026, 4, 30, 9, tzinfo=HANOI), RECEIVABLE, REVENUE, 20_000)
    _post("may-1", datetime(2026, 5, 10, 9, tzinfo=HANOI), RECEIVABLE, REVENUE, 180_000)
    _post("may-2", datetime(2026, 5, 31, 23, 59, tzinfo=HANOI), BANK, SUSPENSE, 50_000)
    _post("june", datetime(2026, 6, 1, tzinfo=HANOI), RECEIVABLE, REVENUE, 7_000)


def _codes(body: dict) -> list[tuple[str, str]]:
    return [(f["code"], f["severity"]) for f in body["findings"]]


def test_the_dry_run_shows_the_trial_balance_at_the_months_end_and_what_warns(
    staff_client: Callable[[str], APIClient], may_books: None
):
    finance = staff_client(Role.FINANCE)

    response = finance.post(f"{MAY}/close?dry_run=true")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True
    assert body["can_close"] is True
    assert body["period"]["status"] == "open"
    rows = {
        row["code"]: (row["debit_total"], row["credit_total"])
        for row in body["trial_balance"]["accounts"]
    }
    assert rows == {
        BANK: (50_000, 0),
        RECEIVABLE: (200_000, 0),
        SUSPENSE: (0, 50_000),
        REVENUE: (0, 200_000),
    }
    assert body["trial_balance"]["totals"] == {"VND": {"debit": 250_000, "credit": 250_000}}
    assert body["trial_balance"]["balanced"] is True
    assert _codes(body) == [("previous_period_open", "warn"), ("suspense_balance", "warn")]
    suspense = body["findings"][1]
    assert (suspense["amount"], suspense["currency"]) == (50_000, "VND")
    assert suspense["detail"] == {"account": SUSPENSE}
    assert not LedgerPeriod.objects.exists()  # a dry run changes nothing


def test_two_finance_users_close_the_month_and_its_history_says_who(
    staff_client: Callable[[str], APIClient], may_books: None
):
    asker, approver = staff_client(Role.FINANCE), staff_client(Role.FINANCE)

    asked = asker.post(f"{MAY}/close")
    assert asked.status_code == 200, asked.content
    assert asked.json()["period"]["status"] == "pending_approval"
    assert_error(asker.post(f"{MAY}/close"), 409, "period_close_needs_second_person")
    closed = approver.post(f"{MAY}/close")

    assert closed.status_code == 200, closed.content
    assert closed.json()["period"]["status"] == "closed"
    assert _codes(closed.json()) == [
        ("previous_period_open", "warn"),
        ("suspense_balance", "warn"),
    ]
    state = asker.get(MAY).json()
    assert state["status"] == "closed"
    assert state["starts_at"] == "2026-05-01T00:00:00+07:00"
    assert state["ends_at"] == "2026-06-01T00:00:00+07:00"
    assert state["requested_by"] != state["approved_by"]
    assert [event["action"] for event in state["history"]] == ["close_requested", "closed"]


def test_a_blocking_finding_refuses_the_close_and_nothing_is_recorded(
    staff_client: Callable[[str], APIClient], may_books: None
):
    def drawer_not_counted(window: PeriodWindow) -> list[PeriodFinding]:
        return [PeriodFinding(code="test_drawer", severity=BLOCK, message="Not counted.")]

    period_check_register(drawer_not_counted)
    period_check_register(drawer_not_counted)  # registered once, however often
    finance = staff_client(Role.FINANCE)
    try:
        dry = finance.post(f"{MAY}/close?dry_run=true").json()
        error = assert_error(finance.post(f"{MAY}/close"), 409, "period_close_blocked")
    finally:
        PERIOD_CLOSE_CHECKS.remove(drawer_not_counted)

    assert dry["can_close"] is False
    assert _codes(dry)[0] == ("test_drawer", "block")
    assert [f["code"] for f in error["detail"]["findings"]] == ["test_drawer"]
    assert error["detail"]["month"] == "2026-05"
    assert finance.get(MAY).json()["status"] == "open"
    assert drawer_not_counted not in PERIOD_CLOSE_CHECKS


def test_a_month_not_over_is_blocked_in_the_dry_run_and_refused(
    staff_client: Callable[[str], APIClient],
):
    finance = staff_client(Role.FINANCE)

    dry = finance.post("/api/v1/ledger/periods/2199-12/close?dry_run=true").json()

    assert dry["can_close"] is False
    assert _codes(dry) == [("period_not_over", "block")]
    assert_error(finance.post("/api/v1/ledger/periods/2199-12/close"), 409, "period_not_over")


def test_only_an_admin_reopens_with_a_reason(
    staff_client: Callable[[str], APIClient], may_books: None
):
    staff_client(Role.FINANCE).post(f"{MAY}/close")
    staff_client(Role.FINANCE).post(f"{MAY}/close")
    admin = staff_client(Role.ADMIN)

    assert_error(
        staff_client(Role.FINANCE).post(f"{MAY}/reopen", {"reason": "x"}), 403, "permission_denied"
    )
    assert_error(admin.post(f"{MAY}/reopen", {}, format="json"), 400, "parameter_missing", "reason")
    reopened = admin.post(f"{MAY}/reopen", {"reason": "Sửa phí ngân hàng"}, format="json")

    assert reopened.status_code == 200, reopened.content
    assert reopened.json()["status"] == "reopened"
    assert reopened.json()["reopen_reason"] == "Sửa phí ngân hàng"
    assert reopened.json()["history"][-1]["action"] == "reopened"
    assert_error(
        admin.post(f"{MAY}/reopen", {"reason": "again"}, format="json"), 409, "period_not_closed"
    )


@pytest.mark.parametrize("month", ["2026-13", "2026-5", "26-05", "1969-12", "2200-01", "x"])
def test_a_month_that_is_not_yyyy_mm_within_bounds_is_a_bad_parameter(
    staff_client: Callable[[str], APIClient], month: str
):
    finance = staff_client(Role.FINANCE)

    assert_error(finance.get(f"/api/v1/ledger/periods/{month}"), 400, "parameter_invalid", "month")
    assert_error(
        finance.post(f"/api/v1/ledger/periods/{month}/close?dry_run=true"),
        400,
        "parameter_invalid",
        "month",
    )


def test_a_cashier_may_not_close_a_month(staff_client: Callable[[str], APIClient]):
    assert_error(
        staff_client(Role.CASHIER).post(f"{MAY}/close?dry_run=true"), 403, "permission_denied"
    )
