"""The cashier console in a real browser against the real app on PostgreSQL with a real
Celery worker: one shift, from the opening count to the Z-report."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from billing.models import Invoice, InvoiceStatus
from billing.services.invoices import invoice_issue
from config.identity.models import Role
from config.identity.services import staff_create
from payments.models import CashierSession, Payment, PaymentMethod, Refund, RefundStatus
from payments.services.cashier.terminals import terminal_create
from tests.billing.builders import charges_post, encounter_new, patient_with_coverage, price_item
from tests.browser.axe import assert_accessible
from tests.browser.test_kiosk import bank_transfer
from tests.payments.builders.webhooks import CASSO_KEY, HOSPITAL_ACCOUNT

pytestmark = pytest.mark.django_db(transaction=True)

DESK = {
    "viewport": {"width": 1440, "height": 900},
    "locale": "vi-VN",
    "timezone_id": "Asia/Ho_Chi_Minh",
}
PASSWORD = "desk-test-password-1"


def invoice_of(code: str, price: int) -> Invoice:
    encounter = encounter_new(patient=patient_with_coverage(benefit_level=None, code=code))
    charges_post(encounter, (price_item(price=price, insurance_price=None), 1))
    return invoice_issue(encounter=encounter, issued_by="his")


def desk_staff(terminals: list[str], *, cashiers: list[str], supervisors: list[str]) -> None:
    """The desks (terminal codes) and the staff who sign in at them (password PASSWORD)."""
    for n, code in enumerate(terminals, start=1):
        terminal_create(code=code, name=f"Quầy thu ngân {n}")
    for role, usernames in [(Role.CASHIER, cashiers), (Role.SUPERVISOR, supervisors)]:
        for username in usernames:
            staff_create(username=username, role=role, password=PASSWORD)


def sign_in(page: Page, username: str) -> None:
    expect(page.locator("#view-signin")).to_be_visible()
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")


def count(page: Page, fieldset: str, notes: dict[int, int]) -> None:
    for value, n in notes.items():
        page.fill(f"#{fieldset}-{value}", str(n))


def find(page: Page, code: str) -> None:
    page.keyboard.press("F6")
    page.fill("#find-value", code)
    page.press("#find-value", "Enter")
    expect(page.locator("#patient-code")).to_have_text(code)


def test_a_cashier_shift_from_the_opening_count_to_the_z_report(
    live_app: Any,
    open_page: Callable[..., Page],
    shot: Callable[[Page, str], Any],
    settings: Any,
) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = 100_000
    settings.VIETQR_ACCOUNT = HOSPITAL_ACCOUNT
    settings.CASSO_CHECKSUM_KEY = CASSO_KEY
    desk_staff(["Q01"], cashiers=["thu.ngan", "thu.ngan.chieu"], supervisors=["giam.sat"])
    first = invoice_of("BN-DESK1", 120_000)
    second = invoice_of("BN-DESK2", 300_000)
    stay = encounter_new(
        patient=patient_with_coverage(benefit_level=None, code="BN-DESK3"), kind="inpatient"
    )

    page = open_page(**DESK)
    page.goto(live_app("/desk/"))
    assert_accessible(page, "desk-sign-in")
    sign_in(page, "thu.ngan")

    # Open the session with the opening count.
    expect(page.locator("#view-open")).to_be_visible()
    page.fill("#terminal", "Q01")
    count(page, "open-count", {500_000: 1})
    page.click("#open-form button[type=submit]")
    expect(page.locator("#view-desk")).to_be_visible()
    expect(page.locator("#session-line")).to_contain_text("500.000")

    # Cash with change: 120,000 paid with a 200,000 note.
    find(page, "BN-DESK1")
    page.click(f"button[data-invoice='{first.public_id}']")
    # The invoice is selected (its due filled in) before the cashier types the note.
    expect(page.locator("#tender-amount")).to_have_value("120000")
    page.fill("#tender-given", "200000")
    page.keyboard.press("F2")
    expect(page.locator("#change")).to_contain_text("80.000")
    shot(page, "desk-cash-change")
    assert_accessible(page, "desk-cash-change")
    first.refresh_from_db()
    assert first.status == InvoiceStatus.PAID

    # Split tender: 100,000 cash, the rest by VietQR.
    find(page, "BN-DESK2")
    page.click(f"button[data-invoice='{second.public_id}']")
    page.fill("#tender-amount", "100000")
    page.fill("#tender-given", "100000")
    page.keyboard.press("F2")
    expect(page.locator("#tender-due")).to_contain_text("200.000")
    page.fill("#tender-amount", "200000")
    page.keyboard.press("F4")
    expect(page.locator("#pending-qr")).to_have_attribute("src", re.compile(r"^blob:"))
    qr = Payment.objects.get(invoice=second, method=PaymentMethod.VIETQR)
    bank_transfer(live_app.url, amount=200_000, memo_code=qr.memo_code or "")
    expect(page.locator("#pending")).to_be_hidden(timeout=20_000)
    second.refresh_from_db()
    assert second.status == InvoiceStatus.PAID

    # An advance on an inpatient stay, then a refund a supervisor approves on this screen.
    find(page, "BN-DESK3")
    page.click(f"button[data-encounter='{stay.pk}']")
    page.fill("#tender-amount", "1000000")
    page.fill("#tender-given", "1000000")
    page.keyboard.press("F2")
    expect(page.locator("#payment-list li")).to_have_count(1)
    advance = Payment.objects.get(encounter=stay)
    page.fill(f"#refund-{advance.public_id}", "300000")
    page.click(f"button[data-refund='{advance.public_id}']")
    expect(page.locator("#approve-dialog")).to_be_visible()
    assert_accessible(page, "desk-supervisor-approval")
    page.fill("#sup-username", "giam.sat")
    page.fill("#sup-password", PASSWORD)
    page.click("#approve-form button[value=approve]")
    expect(page.locator("button[data-payout]")).to_be_visible()
    page.click("button[data-payout]")
    expect(page.locator("#message")).to_contain_text("thành công")
    refund = Refund.objects.get(payment=advance)
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.decided_by is not None
    assert refund.decided_by.username == "giam.sat"

    # Handover to the afternoon cashier with the giver's count (1,420,000 in the drawer).
    page.click("text=Bàn giao ca")
    page.fill("#handover-to", "thu.ngan.chieu")
    count(page, "handover-count", {500_000: 2, 200_000: 2, 20_000: 1})
    page.click("#handover-form button[type=submit]")
    sign_in(page, "thu.ngan.chieu")
    giver = CashierSession.objects.get(cashier__username="thu.ngan")
    expect(page.locator(f"#accept-{giver.public_id}")).to_be_visible()
    count(page, f"accept-{giver.public_id}", {500_000: 2, 200_000: 2, 20_000: 1})
    page.click("#handovers button[type=submit]")
    expect(page.locator("#view-desk")).to_be_visible()
    expect(page.locator("#session-line")).to_contain_text("1.420.000")

    # Blind close with a shortage of 20,000, then the Z-report on screen and as PDF.
    page.keyboard.press("F8")
    count(page, "close-count", {500_000: 2, 200_000: 2})
    page.click("#close-form button[type=submit]")
    expect(page.locator("#view-report")).to_be_visible()
    expect(page.locator("dd[data-row='report.expected']")).to_have_text("1.420.000\u00a0₫")
    expect(page.locator("dd[data-row='report.counted']")).to_have_text("1.400.000\u00a0₫")
    expect(page.locator("dd[data-row='report.variance']")).to_have_text("-20.000\u00a0₫")
    page.click("#report-pdf")
    # The PDF is rendered on request: on the loaded shared machine that took over the 5 s
    # an expect waits by default (three runs failed here, nothing else wrong).
    expect(page.locator("#report-frame")).to_have_attribute(
        "src", re.compile(r"^blob:"), timeout=30_000
    )
    shot(page, "desk-z-report")
    assert_accessible(page, "desk-z-report")
    receiver = CashierSession.objects.get(cashier__username="thu.ngan.chieu")
    assert receiver.variance == -20_000
