"""The cashier console in a real browser against the real app (PostgreSQL, a real Celery
worker, a fake Stripe account with the desk's card reader): a card declined then paid at
the desk's reader, a leftover advance paid back part by bank transfer and part in cash, and
a supervisor working their approval queue from their own desk (a refund above the
threshold, a session closed with a variance), while the cashier's desk waits."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from billing.models import InvoiceStatus
from billing.selectors.invoices import refund_owed
from payments.models import (
    CashierSession,
    CashierSessionStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundOwedPayout,
    RefundStatus,
    Terminal,
)
from tests.browser.axe import assert_accessible
from tests.browser.test_desk import DESK, count, desk_staff, find, invoice_of, sign_in
from tests.browser.test_desk_transfers import INBOX_TIMEOUT_MS, open_desk
from tests.browser.test_kiosk import reader_finishes
from tests.celery_worker import wait_until
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.desk import desk_user, discharged_with_leftover, drawer, session_new
from tests.payments.conftest import stripe_configured  # noqa: F401 - a fixture of these tests

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk_reader(request: pytest.FixtureRequest, settings: Any) -> str:
    """Desk Q01 with a card reader at the fake Stripe, the app pointed at the fake."""
    fake: FakeStripeServer = request.getfixturevalue("stripe_configured")
    settings.REFUND_APPROVAL_THRESHOLD = 100_000
    settings.CASHIER_VARIANCE_APPROVAL_THRESHOLD = 10_000
    desk_staff(["Q01"], cashiers=["thu.ngan"], supervisors=["giam.sat"])
    reader = fake.add_reader(label="Quầy thu ngân 1")
    Terminal.objects.filter(code="Q01").update(card_reader_id=reader)
    return reader


def approve_from_queue(page: Page, public_id: str, shown: str) -> None:
    """The supervisor approves what waits in their queue (a refund, a close) once it shows."""
    waiting = page.locator(f"#approval-list li[data-approval='{public_id}']")
    expect(waiting).to_contain_text(shown, timeout=INBOX_TIMEOUT_MS)
    waiting.locator("button", has_text="Duyệt").click()
    expect(waiting).to_have_count(0)


def test_card_at_the_desk_reader_leftovers_and_the_supervisors_queue(
    live_app: Any,
    open_page: Callable[..., Page],
    shot: Callable[[Page, str], Any],
    fake_stripe: FakeStripeServer,
    desk_reader: str,
) -> None:
    invoice = invoice_of("BN-CARD1", 150_000)
    # An inpatient discharged with 300,000 of their 500,000 advance left over (the advance
    # was taken at another desk).
    stay = discharged_with_leftover(
        session_new(count={"500000": 1}, cashier=desk_user()), advance=500_000, charges=200_000
    )
    cashier = open_page(**DESK)
    open_desk(cashier, live_app("/desk/"), "thu.ngan", "Q01", {500_000: 2})

    # Card at the desk's reader: declined (in plain words), then another card succeeds.
    find(cashier, "BN-CARD1")
    cashier.click("#invoice-list button[data-invoice]")  # the patient's one invoice
    expect(cashier.locator("#tender-amount")).to_have_value("150000")
    cashier.keyboard.press("F3")
    expect(cashier.locator("#pending-status")).to_contain_text("cắm hoặc chạm thẻ")
    reader_finishes(fake_stripe, desk_reader, live_app.url, succeed=False)
    expect(cashier.locator("#message")).to_contain_text("Thẻ bị từ chối")
    expect(cashier.locator("#pending")).to_be_hidden()
    shot(cashier, "desk-card-declined")
    assert_accessible(cashier, "desk-card-declined")
    cashier.keyboard.press("F3")  # another card: a new attempt, so a new intent and key
    expect(cashier.locator("#pending-status")).to_contain_text("cắm hoặc chạm thẻ")
    assert wait_until(
        lambda: Payment.objects.filter(invoice=invoice, status=PaymentStatus.PROCESSING).exists()
    )
    reader_finishes(fake_stripe, desk_reader, live_app.url, succeed=True)
    expect(cashier.locator("#message")).to_contain_text("Đã thu 150.000\u00a0₫")
    attempts = list(Payment.objects.filter(invoice=invoice).order_by("id"))
    assert [(p.method, p.status) for p in attempts] == [
        (PaymentMethod.CARD_PRESENT, PaymentStatus.FAILED),
        (PaymentMethod.CARD_PRESENT, PaymentStatus.SUCCEEDED),
    ]
    assert {p.card_reader_id for p in attempts} == {desk_reader}
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID

    # A refund of the card payment above the threshold, with no supervisor at this desk:
    # it waits in the supervisors' queue.
    card = attempts[1]
    cashier.fill(f"#refund-{card.public_id}", "150000")
    cashier.click(f"button[data-refund='{card.public_id}']")
    expect(cashier.locator("#approve-dialog")).to_be_visible()
    cashier.click("#approve-cancel")
    expect(cashier.locator("#message")).to_contain_text("Hoàn 150.000\u00a0₫ · chờ giám sát duyệt")
    refund = Refund.objects.get(payment=card)
    assert refund.status == RefundStatus.REQUESTED

    # The leftover at discharge: 100,000 recorded as a bank transfer, 200,000 in cash.
    find(cashier, stay.patient.code)
    form = f"#payback-{stay.pk}"
    expect(cashier.locator(f"{form}-amount")).to_have_value("300000")
    cashier.fill(f"{form}-amount", "100000")
    cashier.select_option(f"{form}-method", "bank_transfer")
    cashier.fill(f"{form}-reference", "FT26339123456")
    shot(cashier, "desk-leftover-payback")
    assert_accessible(cashier, "desk-leftover-payback")
    cashier.click(f"button[data-payback='{stay.pk}']")
    expect(cashier.locator("#message")).to_contain_text("Đã trả lại 100.000\u00a0₫ (Chuyển khoản")
    expect(cashier.locator(f"{form}-amount")).to_have_value("200000")
    cashier.click(f"button[data-payback='{stay.pk}']")
    expect(cashier.locator("#message")).to_contain_text("Đã trả lại 200.000\u00a0₫ (Tiền mặt")
    expect(cashier.locator(form)).to_have_count(0)
    payouts = list(RefundOwedPayout.objects.filter(encounter=stay).order_by("id"))
    assert [(p.amount, p.method, p.bank_reference) for p in payouts] == [
        (100_000, "bank_transfer", "FT26339123456"),
        (200_000, "cash", ""),
    ]
    assert refund_owed(encounter=stay) == 0
    session = CashierSession.objects.get(cashier__username="thu.ngan")
    assert drawer(session) == 800_000

    # The supervisor signs in at their own desk (no session of theirs): the refund waits.
    supervisor = open_page(**DESK)
    supervisor.goto(live_app("/desk/"))
    sign_in(supervisor, "giam.sat")
    waiting_refund = supervisor.locator(f"#approval-list li[data-approval='{refund.public_id}']")
    expect(waiting_refund).to_contain_text("Hoàn 150.000\u00a0₫")
    shot(supervisor, "desk-approval-queue")
    assert_accessible(supervisor, "desk-approval-queue")
    waiting_refund.locator("button", has_text="Duyệt").click()
    expect(supervisor.locator("#message")).to_contain_text("Đã duyệt")
    expect(waiting_refund).to_have_count(0)
    refund.refresh_from_db()
    assert refund.status != RefundStatus.REQUESTED
    assert Refund.objects.filter(pk=refund.pk, decided_by__username="giam.sat").exists()

    # A blind close 100,000 short (above the variance threshold): pending approval, and
    # the supervisor's queue shows it without a reload.
    cashier.keyboard.press("F8")
    count(cashier, "close-count", {500_000: 1, 200_000: 1})
    cashier.click("#close-form button[type=submit]")
    expect(cashier.locator("dd[data-row='report.status']")).to_have_text("chờ giám sát duyệt")
    expect(cashier.locator("dd[data-row='report.variance']")).to_have_text("-100.000\u00a0₫")
    approve_from_queue(supervisor, session.public_id, "-100.000\u00a0₫")
    session.refresh_from_db()
    assert session.status == CashierSessionStatus.CLOSED
    assert CashierSession.objects.filter(pk=session.pk, approved_by__username="giam.sat").exists()


def test_the_desk_in_english(
    live_app: Any, open_page: Callable[..., Page], shot: Callable[[Page, str], Any]
) -> None:
    """The English switch: the screen's words, the lists built from the API's answers and
    the API's error codes switch; amounts stay in đồng as the hospital writes them
    (1.000.000 ₫) and dates day first, in either language."""
    desk_staff(["Q01"], cashiers=["thu.ngan"], supervisors=[])
    invoice = invoice_of("BN-EN1", 120_000)
    page = open_page(**DESK)
    page.goto(live_app("/desk/"))
    page.click("#lang")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#signin-title")).to_have_text("Sign in")
    sign_in(page, "thu.ngan")
    expect(page.locator("#open-title")).to_have_text("Open a session")
    count(page, "open-count", {500_000: 2})
    page.click("#open-form button[type=submit]")
    expect(page.locator("#session-line")).to_have_text(
        re.compile(r"^Desk Q01 · opened \d\d/\d\d/20\d\d \d\d:\d\d · float 1\.000\.000\u00a0₫$")
    )

    find(page, "BN-EN1")
    expect(page.locator("#invoice-list li")).to_contain_text(
        "due 120.000\u00a0₫ / patient share 120.000\u00a0₫"
    )
    page.click("#invoice-list button[data-invoice]")  # the patient's one invoice
    expect(page.locator("#tender-amount")).to_have_value("120000")
    # An amount above what is payable: the API's code and figure, in plain English.
    page.fill("#tender-amount", "150000")
    page.keyboard.press("F2")
    expect(page.locator("#message")).to_have_text(
        "The amount is more than can be paid now: at most 120.000\u00a0₫ "
        "(less payments still in progress)."
    )
    page.fill("#tender-amount", "120000")
    page.fill("#tender-given", "200000")
    page.keyboard.press("F2")
    expect(page.locator("#change")).to_have_text("Change: 80.000\u00a0₫")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    paid = page.locator("#payment-list li").first
    expect(paid).to_contain_text("Cash 120.000\u00a0₫ · succeeded")
    expect(page.locator(".foot")).to_contain_text("Shortcuts: F6 find · F2 cash")
    shot(page, "desk-english")
    assert_accessible(page, "desk-english")

    page.click("#lang")  # and back: the lists built from the answers follow
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(paid).to_contain_text("Tiền mặt 120.000\u00a0₫ · thành công")
    expect(page.locator("#session-line")).to_contain_text("Quầy Q01 · mở lúc")


def test_what_the_cashier_types_stays_in_its_field_when_the_payments_list_arrives_late(
    live_app: Any, open_page: Callable[..., Page]
) -> None:
    """The cause of a flake of the shift test (402 on F2): choosing an invoice fetches its
    payments, and the desk used to move the focus to the amount once they arrived; a
    cashier already typing the note handed over had it typed on the end of the amount
    ("120000200000"). The payments list is held back here until the note is typed."""
    desk_staff(["Q01"], cashiers=["thu.ngan"], supervisors=[])
    invoice_of("BN-FOCUS", 120_000)
    page = open_page(**DESK)
    open_desk(page, live_app("/desk/"), "thu.ngan", "Q01", {500_000: 1})
    find(page, "BN-FOCUS")
    held: list[Any] = []
    page.route("**/api/v1/invoices/*/payments", lambda route: held.append(route))
    page.click("#invoice-list button[data-invoice]")
    expect(page.locator("#tender-amount")).to_have_value("120000")
    page.click("#tender-given")
    page.keyboard.type("200")  # the cashier is typing the note when the list arrives
    assert len(held) == 1
    with page.expect_response("**/api/v1/invoices/*/payments"):
        held[0].continue_()
    page.unroute("**/api/v1/invoices/*/payments")
    page.keyboard.type("000")
    expect(page.locator("#tender-given")).to_have_value("200000")
    page.keyboard.press("F2")
    expect(page.locator("#change")).to_have_text("Tiền thối lại: 80.000\u00a0₫")
    expect(page.locator("#tender-amount")).to_have_value("120000")
