"""Discharge leftovers paid back by bank transfer (cashier/refunds-owed) are expected
outgoing bank lines: the statement's debit line confirms them (nothing else moves: the money
left the bank account when it was paid), one never on the statement is missing after the
transfer-out grace, and finance can match a late line by hand by the payout's id."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from billing.chart import BANK, SUSPENSE
from config.identity.models import Role
from payments.models import (
    MatchRun,
    PayoutMethod,
    ReconItem,
    ReconKind,
    ReconStatus,
    RefundOwedPayout,
    StatementLine,
)
from payments.services.cashier.payouts import refund_owed_pay_out
from payments.services.matching import add_business_days, reconciliation_match
from tests.assertions import balance
from tests.payments.builders.desk import desk_user, discharged_with_leftover, session_new
from tests.payments.builders.payments import new_key, paid_by_transfer
from tests.payments.builders.statements import ddmmyyyy, statement

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bank_feeds_configured")]


def leftover_paid_by_transfer(leftover: int, bank_reference: str = "") -> RefundOwedPayout:
    session = session_new()
    encounter = discharged_with_leftover(session, advance=leftover + 300_000, charges=300_000)
    return refund_owed_pay_out(
        encounter=encounter,
        amount=None,
        method=PayoutMethod.BANK_TRANSFER,
        session=None,
        by=desk_user(),
        idempotency_key=new_key("owed"),
        bank_reference=bank_reference,
    )


def discharge_item(payout: RefundOwedPayout | None = None) -> ReconItem:
    if payout is not None:
        return ReconItem.objects.get(source_id=payout.public_id)
    return ReconItem.objects.get(kind=ReconKind.DISCHARGE_REFUND)


def paid_then_stated(
    payouts: list[tuple[int, str]], lines: list[str]
) -> tuple[RefundOwedPayout, RefundOwedPayout, MatchRun]:
    """Two leftovers paid by transfer (amount, the reference the cashier typed), then the
    day's statement with ``lines`` ("reference,debit,memo") and a match run the day after."""
    first, second = (leftover_paid_by_transfer(a, bank_reference=r) for a, r in payouts)
    day = first.created_at.date()
    rows = [line.split(",") for line in lines]
    statement(*(f"{ddmmyyyy(day)},{ref},{debit},,{memo}" for ref, debit, memo in rows))
    return first, second, reconciliation_match(today=day + timedelta(days=1))


def line_of(payout: RefundOwedPayout) -> str:
    line = discharge_item(payout).statement_line
    assert line is not None
    return line.bank_reference


def test_the_bank_reference_the_cashier_recorded_picks_the_line_first() -> None:
    """Two leftovers of one amount paid the same day: by amount and date alone the first
    payout would take the first line; the references the cashier typed (in any case, with
    spaces) say which transfer was whose."""
    first, second, run = paid_then_stated(
        [(150_000, "ft 26339 102"), (150_000, "FT26339101")],
        ["FT26339101,150000,HOAN UNG", "FT26339102,150000,HOAN UNG"],
    )
    assert (run.matched, run.unexpected) == (2, 0)
    assert [line_of(first), line_of(second)] == ["FT26339102", "FT26339101"]
    assert {discharge_item(p).status for p in (first, second)} == {ReconStatus.MATCHED}
    assert (balance(BANK), balance(SUSPENSE)) == (-300_000, 0)


def test_a_mistyped_reference_falls_back_to_the_amount_and_date() -> None:
    payout, other, run = paid_then_stated(
        # the first's reference a digit short; the other's on a line of another amount
        [(175_000, "FT2633911"), (90_000, "FT26339120")],
        ["FT26339111,175000,HOAN UNG", "FT26339120,95000,CK KHAC"],
    )
    assert discharge_item(payout).status == ReconStatus.MATCHED
    assert line_of(payout) == "FT26339111"
    assert discharge_item(other).status == ReconStatus.EXPECTED
    assert run.unexpected == 1  # the 95,000 line: nothing explains it


def test_the_debit_line_on_the_statement_confirms_the_transfer() -> None:
    payout = leftover_paid_by_transfer(450_000)
    day = payout.created_at.date()
    statement(f'{ddmmyyyy(day)},FT26339001,"450,000",,HOAN TIEN TAM UNG BENH NHAN')
    run = reconciliation_match(today=day + timedelta(days=1))
    assert (run.enrolled, run.matched, run.unexpected) == (1, 1, 0)
    item = discharge_item()
    assert (item.status, item.direction, item.amount, item.source_id) == (
        ReconStatus.MATCHED,
        "out",
        450_000,
        payout.public_id,
    )
    assert item.statement_line == StatementLine.objects.get()
    assert not ReconItem.objects.filter(kind=ReconKind.BANK_LINE).exists()
    # The payout credited the bank once; the match moves nothing more.
    assert (balance(BANK), balance(SUSPENSE)) == (-450_000, 0)
    again = reconciliation_match(today=day + timedelta(days=2))
    assert (again.enrolled, again.matched, again.unexpected) == (0, 0, 0)


def test_a_cash_leftover_is_not_expected_on_the_statement() -> None:
    session = session_new()
    encounter = discharged_with_leftover(session, advance=500_000, charges=300_000)
    refund_owed_pay_out(
        encounter=encounter,
        amount=None,
        method=PayoutMethod.CASH,
        session=session,
        by=session.cashier,
        idempotency_key=new_key("owed"),
    )
    assert reconciliation_match().enrolled == 0


def test_a_transfer_never_on_the_statement_is_missing_after_the_grace(settings) -> None:
    settings.RECONCILIATION_TRANSFER_OUT_GRACE_BUSINESS_DAYS = 2
    settings.RECONCILIATION_SLA_BUSINESS_DAYS = 5
    payout = leftover_paid_by_transfer(120_000)
    capture = paid_by_transfer(amount=80_000)  # money in keeps its own, longer SLA
    day = payout.created_at.date()
    last_day = add_business_days(day, 2)
    reconciliation_match(today=last_day)
    assert discharge_item().status == ReconStatus.EXPECTED
    run = reconciliation_match(today=last_day + timedelta(days=1))
    assert run.missing == 1
    assert discharge_item().status == ReconStatus.MISSING
    assert ReconItem.objects.get(source_id=capture.public_id).status == ReconStatus.EXPECTED
    assert list(discharge_item().actions.values_list("action", flat=True)) == [
        "enrolled",
        "missing",
    ]


def test_finance_sees_the_grace_and_matches_a_late_line_by_the_payouts_id(
    staff_client: Callable[..., APIClient],
) -> None:
    payout = leftover_paid_by_transfer(200_000)
    day = payout.created_at.date()
    finance = staff_client(Role.FINANCE)
    reconciliation_match(today=day)
    listed = finance.get("/api/v1/reconciliation/items", {"kind": "discharge_refund"}).json()
    assert [(i["source_id"], i["due_by"]) for i in listed["results"]] == [
        (payout.public_id, add_business_days(day, 1).isoformat())
    ]
    # The bank booked it far outside the window: the line is unexplained, the item missing.
    late = day + timedelta(days=20)
    statement(f'{ddmmyyyy(late)},FT26339002,"200,000",,CK HOAN UNG')
    reconciliation_match(today=late + timedelta(days=1))
    assert discharge_item().status == ReconStatus.MISSING
    line_item = ReconItem.objects.get(kind=ReconKind.BANK_LINE)
    assert (balance(BANK), balance(SUSPENSE)) == (-400_000, 200_000)

    response = finance.post(
        f"/api/v1/reconciliation/items/{line_item.pk}/match",
        {"refund": payout.public_id, "note": "hoàn ứng ra viện, ngân hàng ghi sổ muộn"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert discharge_item().status == ReconStatus.MANUALLY_MATCHED
    assert (balance(BANK), balance(SUSPENSE)) == (-200_000, 0)
