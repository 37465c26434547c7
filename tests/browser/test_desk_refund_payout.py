"""The cashier console in a real browser against the real app: a cash refund above the
approval threshold waits in the supervisors' queue, a supervisor approves it later from
their own desk, and the cashier pays it out from the payment's refund list (the button comes
from the refund's ``actions`` in the API's answer) — also when the invoice, paid in full, has
left the patient's open invoices: from the patient's recent payments, by bank transfer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from payments.models import CashierSession, Payment, PaymentStatus, Refund, RefundStatus
from tests.browser.axe import assert_accessible
from tests.browser.test_desk import DESK, desk_staff, find, invoice_of, sign_in
from tests.browser.test_desk_supervision import approve_from_queue
from tests.browser.test_desk_transfers import open_desk
from tests.payments.builders.desk import drawer

pytestmark = pytest.mark.django_db(transaction=True)


def vnd(amount: int) -> str:
    """An amount as the desk writes it in Vietnamese: 200.000 ₫."""
    return f"{amount:,}".replace(",", ".") + "\u00a0₫"


@pytest.fixture
def threshold_100k(settings: Any) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = 100_000


def cashier_with_invoice(
    live_app: Any, open_page: Callable[..., Page], code: str, price: int
) -> Page:
    """The cashier's desk open with 1,000,000, the patient ``code`` found with one invoice of
    ``price`` chosen (a supervisor, giam.sat, may sign in elsewhere)."""
    desk_staff(["Q01"], cashiers=["thu.ngan"], supervisors=["giam.sat"])
    invoice_of(code, price)
    cashier = open_page(**DESK)
    open_desk(cashier, live_app("/desk/"), "thu.ngan", "Q01", {500_000: 2})
    find(cashier, code)
    cashier.click("#invoice-list button[data-invoice]")  # the patient's one invoice
    expect(cashier.locator("#tender-amount")).to_have_value(str(price))
    return cashier


def left_in_queue(
    cashier: Page, payment: Payment, amount: int, scope: str = ""
) -> tuple[Refund, Locator]:
    """A refund of ``amount`` (above the threshold) asked from the payment's row in the
    chosen invoice's list (or, ``scope="recent-"``, the recent payments), the supervisor's
    dialog closed: it waits in the queue, its row without a payout."""
    cashier.fill(f"#{scope}refund-{payment.public_id}", str(amount))
    cashier.click(f"button[data-{scope}refund='{payment.public_id}']")
    expect(cashier.locator("#approve-dialog")).to_be_visible()
    cashier.click("#approve-cancel")
    refund = Refund.objects.get(payment=payment, amount=amount)
    row = cashier.locator(f"[data-{scope}refund-item='{refund.public_id}']")
    expect(row).to_contain_text(f"Hoàn {vnd(amount)} · chờ giám sát duyệt")
    expect(row.locator("button")).to_have_count(0)  # nothing to pay out before approval
    return refund, row


def approved_later(live_app: Any, open_page: Callable[..., Page], refund: Refund) -> None:
    """The supervisor approves the refund later, from the queue at their own desk (another
    browser context)."""
    supervisor = open_page(**DESK)
    supervisor.goto(live_app("/desk/"))
    sign_in(supervisor, "giam.sat")
    approve_from_queue(supervisor, refund.public_id, "Hoàn " + vnd(refund.amount))
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING_PAYOUT


@pytest.mark.usefixtures("threshold_100k")
def test_a_refund_approved_later_from_the_queue_is_paid_out_from_the_payments_refund_list(
    live_app: Any, open_page: Callable[..., Page], shot: Callable[[Page, str], Any]
) -> None:
    # 300,000 of the 500,000 taken in cash (the invoice stays open: a fully paid one leaves
    # the patient's invoice list), then a refund of 200,000 (above the threshold) with no
    # supervisor at this desk.
    cashier = cashier_with_invoice(live_app, open_page, "BN-HOAN1", 500_000)
    cashier.fill("#tender-amount", "300000")
    cashier.keyboard.press("F2")
    expect(cashier.locator("#message")).to_contain_text("Đã thu 300.000\u00a0₫")
    payment = Payment.objects.get(status=PaymentStatus.SUCCEEDED)
    refund, row = left_in_queue(cashier, payment, 200_000)

    approved_later(live_app, open_page, refund)

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


@pytest.mark.usefixtures("threshold_100k")
def test_a_fully_paid_invoices_refund_approved_later_is_paid_out_by_bank_transfer_from_recent(
    live_app: Any, open_page: Callable[..., Page], shot: Callable[[Page, str], Any]
) -> None:
    # The invoice paid in full in cash: it leaves the patient's open invoices, and the payment
    # is listed under the patient's recent payments with all of it refundable.
    cashier = cashier_with_invoice(live_app, open_page, "BN-HOAN2", 500_000)
    cashier.keyboard.press("F2")
    expect(cashier.locator("#message")).to_contain_text("Đã thu 500.000\u00a0₫")
    payment = Payment.objects.get(status=PaymentStatus.SUCCEEDED)
    expect(cashier.locator("#invoice-list li")).to_have_count(0)
    amount = cashier.locator(f"#recent-refund-{payment.public_id}")
    expect(amount).to_have_value("500000")

    # A refund of 300,000 (above the threshold), left in the supervisors' queue: what it holds
    # is no longer offered (the API's refundable_amount).
    refund, row = left_in_queue(cashier, payment, 300_000, scope="recent-")
    expect(amount).to_have_value("200000")
    expect(cashier.locator(f"[data-recent-refundable='{payment.public_id}']")).to_have_text(
        "tối đa 200.000\u00a0₫"
    )

    # The supervisor approves it later, from the queue in another browser context.
    approved_later(live_app, open_page, refund)

    # The cashier finds the patient again: no open invoice, the refund under recent payments
    # with the payouts the API lists (cash, bank transfer); the refund still waiting for its
    # payout keeps holding its amount.
    find(cashier, "BN-HOAN2")
    expect(cashier.locator("#invoice-list li")).to_have_count(0)
    expect(row).to_contain_text("chờ chi trả")
    expect(row.locator(f"button[data-recent-refund-payout='{refund.public_id}']")).to_be_visible()
    expect(amount).to_have_value("200000")
    shot(cashier, "desk-recent-payments")
    assert_accessible(cashier, "desk-recent-payments")
    session = CashierSession.objects.get(cashier__username="thu.ngan")
    before = drawer(session)
    cashier.fill(f"#recent-transfer-ref-{refund.public_id}", "FT26339HOAN2")
    cashier.click(f"button[data-recent-refund-transfer='{refund.public_id}']")
    expect(cashier.locator("#message")).to_contain_text(
        "Đã chi 300.000\u00a0₫ tiền hoàn · Chuyển khoản ngân hàng"
    )
    expect(row).to_contain_text("thành công · Chuyển khoản ngân hàng · FT26339HOAN2")
    expect(row.locator("button")).to_have_count(0)
    refund.refresh_from_db()
    assert (refund.status, refund.payout_method, refund.provider_reference) == (
        RefundStatus.SUCCEEDED,
        "bank_transfer",
        "FT26339HOAN2",
    )
    assert drawer(session) == before  # the money left the bank, not the drawer

    # A second refund: its default is what is left (200,000), and the API takes it.
    expect(amount).to_have_value("200000")
    cashier.click(f"button[data-recent-refund='{payment.public_id}']")
    expect(cashier.locator("#approve-dialog")).to_be_visible()
    cashier.click("#approve-cancel")
    second = Refund.objects.exclude(pk=refund.pk).get(payment=payment)
    assert (second.amount, second.status) == (200_000, RefundStatus.REQUESTED)
    expect(cashier.locator(f"[data-recent-refund-item='{second.public_id}']")).to_contain_text(
        "chờ giám sát duyệt"
    )
    expect(amount).to_have_count(0)  # nothing left to refund: the API lists no `refund`
