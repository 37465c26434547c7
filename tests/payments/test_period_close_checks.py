"""payments' part of a month's close: a drawer not counted and cash between desks block it;
reconciliation items still open and bank lines the matcher has not seen warn."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from billing.chart import MAIN_CASH, OWNER_EQUITY
from billing.money import Money
from billing.services.ledger import Posting, ledger_post
from config.identity.models import Role
from payments.models import CashierSession, CashTransfer, ReconItem, StatementLine
from payments.services.cash_deposits import cash_deposit_record
from payments.services.cashier.transfers import cash_transfer_create
from tests.assertions import assert_error
from tests.payments.builders.desk import desk_user, session_new

pytestmark = pytest.mark.django_db

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MAY = "/api/v1/ledger/periods/2026-05"


def _findings(client: APIClient) -> dict[str, dict]:
    body = client.post(f"{MAY}/close?dry_run=true").json()
    return {finding["code"]: finding for finding in body["findings"]}


def test_a_drawer_opened_in_the_month_and_not_closed_blocks_the_close(
    staff_client: Callable[[str], APIClient],
):
    session = session_new(count={"100000": 2})
    CashierSession.objects.filter(pk=session.pk).update(
        opened_at=datetime(2026, 5, 31, 8, tzinfo=HANOI)
    )
    session_new()  # opened now, after May: not May's concern
    finance = staff_client(Role.FINANCE)

    found = _findings(finance)

    sessions = found["cashier_sessions_open"]
    assert sessions["severity"] == "block"
    assert sessions["count"] == 1
    assert sessions["examples"] == [session.public_id]
    assert sessions["detail"] == {"by_status": {"open": 1}}
    error = assert_error(finance.post(f"{MAY}/close"), 409, "period_close_blocked")
    assert [f["code"] for f in error["detail"]["findings"]] == ["cashier_sessions_open"]


def test_cash_sent_to_the_safe_before_the_months_end_and_not_counted_in_blocks_the_close(
    staff_client: Callable[[str], APIClient],
):
    session = session_new(count={"100000": 3})
    transfer = cash_transfer_create(
        from_session=session, to_session=None, amount=120_000, by=session.cashier
    )
    CashTransfer.objects.filter(pk=transfer.pk).update(
        created_at=datetime(2026, 5, 20, 17, tzinfo=HANOI)
    )

    pending = _findings(staff_client(Role.FINANCE))["cash_transfers_pending"]

    assert (pending["severity"], pending["count"]) == ("block", 1)
    assert (pending["amount"], pending["currency"]) == (120_000, "VND")
    assert pending["examples"] == [transfer.public_id]


def test_open_reconciliation_items_and_unmatched_bank_lines_of_the_month_warn(
    staff_client: Callable[[str], APIClient],
):
    money = Money(900_000, "VND")
    ledger_post(
        posting_key="safe-opening",
        lines=[Posting.dr(MAIN_CASH, money), Posting.cr(OWNER_EQUITY, money)],
        source_type="manual",
    )
    by = desk_user(Role.SUPERVISOR)
    may = cash_deposit_record(
        amount=500_000, by=by, idempotency_key="dep-may", deposited_on=date(2026, 5, 30)
    )
    cash_deposit_record(  # expected in June: not May's
        amount=300_000, by=by, idempotency_key="dep-june", deposited_on=date(2026, 6, 1)
    )
    for booked_on, amount, direction in (
        (date(2026, 5, 12), 70_000, "in"),
        (date(2026, 5, 13), 20_000, "out"),
        (date(2026, 6, 2), 5_000, "in"),
    ):
        StatementLine.objects.create(
            account_number="0011001234567",
            booked_on=booked_on,
            direction=direction,
            amount=amount,
            currency="VND",
            dedupe_key=f"{booked_on}:{amount}",
            source="file",
        )
    finance = staff_client(Role.FINANCE)

    found = _findings(finance)

    items = found["reconciliation_items_open"]
    assert (items["severity"], items["count"], items["amount"]) == ("warn", 1, 500_000)
    assert items["detail"] == {
        "by_status": {"expected": 1},
        "by_kind": {"cash_deposit": 1},
    }
    item = ReconItem.objects.get(source_type="cash_deposit", source_id=may.public_id)
    assert items["examples"] == [str(item.pk)]
    lines = found["statement_lines_unmatched"]
    assert (lines["severity"], lines["count"]) == ("warn", 2)
    assert lines["detail"] == {"amount_by_direction": {"in": 70_000, "out": 20_000}}
    # Warnings do not stop the close.
    assert finance.post(f"{MAY}/close").json()["period"]["status"] == "pending_approval"
