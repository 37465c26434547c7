"""The cashier console in a real browser against the real app: a cash refund above the
approval threshold waits in the supervisors' queue, a supervisor approves it later from
their own desk, and the cashier pays it out from the payment's refund list (the button comes
from the refund's ``actions`` in the API's answer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from payments.models import CashierSession, Payment, PaymentStatus, Refund, RefundStatus
from tests.browser.axe import assert_accessible
from tests.browser.test_desk import DESK, desk_staff, find, invoice_of, sign_in
from tests.browser.test_desk_supervision import approve_from_queue
from tests.browser.test_desk_transfers import open_desk
from tests.payments.builders.desk import drawer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def threshold_100k(settings: Any) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = 100_000


@pytest.mark.usefixtures("threshold_100k")
def test_a_refund_approved_later_from_the_queue_is_paid_out_from_the_payments_refund_list(
    live_app: Any, open_page: Callable[..., Page], shot: Callable[[Page, str], Any]
) -> None:
    desk_staff(["Q01"], cashiers=["thu.ngan"], supervisors=["giam.sat"])
    invoice_of("BN-HOAN1", 500_000)
    cashier = open_page(**DESK)
    open_desk(cashier, live_app("/desk/"), "thu.ngan", "Q01", {500_000: 2})

    # 300,000 of the 500,000 taken in cash (the invoice stays open: a fully paid one leaves
    # the patient's invoice list), then a refund of 200,000 (above the threshold) with no
    # supervisor at this desk.
    find(cashier, "BN-HOAN1")
    cashier.click("#invoice-list button[data-invoice]")  # the patient's one invoice
    expect(cashier.locator("#tender-amount")).to_have_value("500000")
    cashier.fill("#tender-amount", "300000")
    cashier.keyboard.press("F2")
    expect(cashier.locator("#message")).to_contain_text("Đã thu 300.000\u00a0₫")
    payment = Payment.objects.get(status=PaymentStatus.SUCCEEDED)
    expect(cashier.locator(f"#refund-{payment.public_id}")).to_be_visible()
    cashier.fill(f"#refund-{payment.public_id}", "200000")
    cashier.click(f"button[data-refund='{payment.public_id}']")
    expect(cashier.locator("#approve-dialog")).to_be_visible()
    cashier.click("#approve-cancel")
    refund = Refund.objects.get(payment=payment)
    row = cashier.locator(f"[data-refund-item='{refund.public_id}']")
    expect(row).to_contain_text("Hoàn 200.000\u00a0₫ · chờ giám sát duyệt")
    expect(row.locator("button")).to_have_count(0)  # nothing to pay out before approval

    # The supervisor approves it later, from the queue at their own desk.
    supervisor = open_page(**DESK)
    supervisor.goto(live_app("/desk/"))
    sign_in(supervisor, "giam.sat")
    approve_from_queue(supervisor, refund.public_id, "Hoàn 200.000\u00a0₫")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING_PAYOUT

    # Back at the cashier's desk: the patient found again, the invoice chosen, the refund's
    # row under its payment now offers the payout.
    find(cashier, "BN-HOAN1")
    recent = cashier.locator(f"[data-recent-refund-item='{refund.public_id}']")
    expect(recent).to_contain_text("chờ chi trả")  # under the patient's recent payments
    expect(
        recent.locator(f"button[data-recent-refund-payout='{refund.public_id}']")
    ).to_be_visible()
    cashier.click("#invoice-list button[data-invoice]")
    button = cashier.locator(f"button[data-refund-payout='{refund.public_id}']")
    expect(button).to_have_text("Chi tiền hoàn")
    expect(row).to_contain_text("chờ chi trả")
    shot(cashier, "desk-refund-payout")
    assert_accessible(cashier, "desk-refund-payout")
    session = CashierSession.objects.get(cashier__username="thu.ngan")
    before = drawer(session)
    button.click()
    expect(cashier.locator("#message")).to_contain_text("Đã chi 200.000\u00a0₫ tiền hoàn")
    expect(row).to_contain_text("thành công")
    expect(row.locator("button")).to_have_count(0)
    refund.refresh_from_db()
    assert (refund.status, refund.payout_method) == (RefundStatus.SUCCEEDED, "cash")
    assert refund.cashier_session_id == session.pk
    assert drawer(session) == before - 200_000
