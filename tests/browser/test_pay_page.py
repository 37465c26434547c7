"""The pay page in a real browser (Chromium on a phone-sized screen) against the real app on
PostgreSQL with a real Celery worker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from billing.api.invoices import invoice_body
from tests.browser.axe import assert_accessible
from tests.browser.conftest import ARTIFACTS, LiveApp
from tests.browser.weight import transferred
from tests.phone.builders import clinic_bill, pay_path

pytestmark = pytest.mark.django_db(transaction=True)

Shot = Callable[[Page, str], Path]
PAGE_BUDGET = 150 * 1024


def test_the_sms_link_opens_the_bill_in_vietnamese_with_the_apis_figures(
    live_app: LiveApp, phone: Page, shot: Shot
):
    invoice = clinic_bill()
    bill = invoice_body([invoice])[0]

    weight = transferred(phone, live_app(pay_path(invoice)))

    expect(phone.locator("html")).to_have_attribute("lang", "vi")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Hóa đơn viện phí của bạn")
    expect(phone.locator("#amount-due")).to_have_text("360.000 ₫")
    assert bill["amount_due"] == 360_000
    expect(phone.get_by_text("N. T. Bình")).to_be_visible()
    expect(phone.get_by_text(invoice.display_number).first).to_be_visible()
    rows = phone.locator("table.lines tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("Xét nghiệm công thức máu")
    expect(rows.nth(1)).to_contain_text("SL 2")
    expect(rows.nth(1)).to_contain_text("250.000 ₫")  # amount
    expect(rows.nth(1)).to_contain_text("200.000 ₫")  # the fund's 80 %
    expect(rows.nth(1).locator("td.num")).to_have_text("50.000 ₫")
    expect(
        phone.get_by_role("button", name="Thanh toán bằng chuyển khoản (VietQR)")
    ).to_be_visible()
    shot(phone, "pay-01-bill")
    assert_accessible(phone, "pay-01-bill")
    report = ARTIFACTS / "page-weight.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(f"first load of the pay page (no card form)\n{weight.report()}\n")
    print(f"\npay page first load: {weight.total:,} bytes\n{weight.report()}")
    assert weight.total <= PAGE_BUDGET, weight.report()
