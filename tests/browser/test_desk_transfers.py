"""Cash transfers at the cashier console, two-sided, in a real browser against the real app:
two cashiers and a supervisor signed in at once (three browser contexts). Cash sent from one
drawer is pending until the receiving cashier counts it in (a shortfall is the giver's);
cash sent to the safe is counted in by a supervisor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from payments.models import CashierSession, CashTransfer, CashTransferStatus
from tests.browser.axe import assert_accessible
from tests.browser.test_desk import DESK, count, desk_staff, sign_in
from tests.payments.builders.desk import drawer

pytestmark = pytest.mark.django_db(transaction=True)

INBOX_TIMEOUT_MS = 20_000  # the desk reads what waits for its user every few seconds


def open_desk(page: Page, url: str, username: str, terminal: str, notes: dict[int, int]) -> None:
    page.goto(url)
    sign_in(page, username)
    expect(page.locator("#view-open")).to_be_visible()
    page.fill("#terminal", terminal)
    count(page, "open-count", notes)
    page.click("#open-form button[type=submit]")
    expect(page.locator("#view-desk")).to_be_visible()


def send(page: Page, to: str, notes: dict[int, int]) -> None:
    details = page.locator("#transfer-details")
    if details.get_attribute("open") is None:
        page.click("#transfer-details summary")
    page.select_option("#transfer-to", label=to)
    count(page, "transfer-count", notes)
    page.click("#transfer-form button[type=submit]")


def test_cash_sent_to_another_drawer_and_to_the_safe_is_counted_in_by_the_receiver(
    live_app: Any, open_page: Callable[..., Page], shot: Callable[[Page, str], Any]
) -> None:
    desk_staff(["Q01", "Q02"], cashiers=["thu.ngan.a", "thu.ngan.b"], supervisors=["giam.sat"])
    giver, receiver, supervisor = (open_page(**DESK) for _ in range(3))
    open_desk(giver, live_app("/desk/"), "thu.ngan.a", "Q01", {500_000: 2})
    open_desk(receiver, live_app("/desk/"), "thu.ngan.b", "Q02", {})
    first = CashierSession.objects.get(cashier__username="thu.ngan.a")
    second = CashierSession.objects.get(cashier__username="thu.ngan.b")

    # The giver sends 300,000 to desk Q02: pending, in neither drawer.
    send(giver, "Quầy Q02 (thu.ngan.b)", {200_000: 1, 100_000: 1})
    expect(giver.locator("#message")).to_contain_text("Đã gửi 300.000\u00a0₫ đến Quầy Q02")
    to_drawer = CashTransfer.objects.get(to_session=second)
    assert (to_drawer.amount, to_drawer.status) == (300_000, CashTransferStatus.PENDING)
    row = giver.locator(f"#transfer-list li[data-transfer='{to_drawer.public_id}']")
    expect(row).to_contain_text("đang chờ")
    expect(row.locator("button[data-cancel-transfer]")).to_be_visible()
    assert (drawer(first), drawer(second)) == (700_000, 0)

    # The receiver sees it arrive without reloading, and counts in 250,000 (50,000 short).
    incoming = receiver.locator(f"li[data-incoming='{to_drawer.public_id}']")
    expect(incoming).to_contain_text(
        "300.000\u00a0₫ từ Quầy Q01 (thu.ngan.a)", timeout=INBOX_TIMEOUT_MS
    )
    count(receiver, f"confirm-{to_drawer.public_id}", {200_000: 1, 50_000: 1})
    shot(receiver, "desk-transfer-incoming")
    assert_accessible(receiver, "desk-transfer-incoming")
    incoming.locator("button[type=submit]").click()
    expect(receiver.locator("#message")).to_contain_text("Đã nhận 250.000\u00a0₫")
    expect(incoming).to_have_count(0)
    # The shortfall is back on the giver's books: their count at the close will lack it.
    assert (drawer(first), drawer(second)) == (750_000, 250_000)
    giver_row = giver.locator(f"#transfer-list li[data-transfer='{to_drawer.public_id}']")
    expect(giver_row).to_contain_text("đếm được 250.000\u00a0₫", timeout=INBOX_TIMEOUT_MS)

    # 500,000 to the safe: neither cashier may count it in; a supervisor does, from their
    # desk's queue, without a session of their own.
    send(giver, "Két chính", {500_000: 1})
    expect(giver.locator("#message")).to_contain_text("Đã gửi 500.000\u00a0₫ đến Két chính")
    to_safe = CashTransfer.objects.get(to_session__isnull=True)
    supervisor.goto(live_app("/desk/"))
    sign_in(supervisor, "giam.sat")
    expect(supervisor.locator("#view-open")).to_be_visible()
    safe_row = supervisor.locator(f"li[data-incoming='{to_safe.public_id}']")
    expect(safe_row).to_contain_text("500.000\u00a0₫ từ Quầy Q01 (thu.ngan.a) đến Két chính")
    expect(receiver.locator(f"li[data-incoming='{to_safe.public_id}']")).to_have_count(0)
    expect(giver.locator("#incoming")).to_be_hidden()
    count(supervisor, f"confirm-{to_safe.public_id}", {500_000: 1})
    shot(supervisor, "desk-transfer-to-safe")
    assert_accessible(supervisor, "desk-transfer-to-safe")
    safe_row.locator("button[type=submit]").click()
    expect(supervisor.locator("#message")).to_contain_text("Đã nhận 500.000\u00a0₫")
    safe_sent = giver.locator(f"#transfer-list li[data-transfer='{to_safe.public_id}']")
    expect(safe_sent).to_contain_text("đã nhận", timeout=INBOX_TIMEOUT_MS)

    to_safe.refresh_from_db()
    assert (to_safe.status, to_safe.counted_amount) == (CashTransferStatus.CONFIRMED, 500_000)
    assert CashTransfer.objects.filter(pk=to_safe.pk, decided_by__username="giam.sat").exists()
    assert drawer(first) == 250_000
    shot(giver, "desk-transfers-of-the-session")
