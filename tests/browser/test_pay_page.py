"""The pay page in a real browser (Chromium on a phone-sized screen) against the real app on
PostgreSQL with a real Celery worker."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from billing.api.invoices import invoice_body
from billing.models import EInvoice
from billing.services.einvoices import einvoice_codes_poll, einvoices_send
from billing.services.invoices import invoice_void
from notifications.models import Receipt
from notifications.services.receipts import receipt_issue_for_payment
from payments.models import PayLink, PayLinkRevokeReason, Payment
from payments.providers.bank_feeds import casso_signature_header
from payments.services.paylinks import pay_links_revoke
from tests.browser.axe import assert_accessible
from tests.browser.conftest import ARTIFACTS, LiveApp
from tests.browser.weight import transferred
from tests.fakes.stripe_server import FakeStripeServer
from tests.fakes.viettel_sinvoice import FakeSInvoiceServer
from tests.notifications.builders import paid
from tests.payments.builders.payments import STRIPE_KEY
from tests.payments.builders.webhooks import CASSO_KEY, HOSPITAL_ACCOUNT, casso_record
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


def casso_transfer(live_app: LiveApp, *, amount: int, memo: str) -> int:
    """The bank feed reports the patient's transfer: Casso's signed webhook, over HTTP."""
    body = {"error": 0, "data": casso_record(amount=amount, description=f"CK {memo} thanh toan")}
    header = casso_signature_header(body=body, key=CASSO_KEY, timestamp_ms=int(time.time() * 1000))
    response = requests.post(
        live_app("/webhooks/bank/casso"),
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "X-Casso-Signature": header},
        timeout=30,
    )
    return response.status_code


def test_paying_by_vietqr_turns_the_page_to_paid_with_the_receipt_and_its_pdf(
    live_app: LiveApp, phone: Page, shot: Shot, settings: Any
):
    settings.CASSO_CHECKSUM_KEY = CASSO_KEY
    settings.VIETQR_ACCOUNT = HOSPITAL_ACCOUNT
    invoice = clinic_bill()
    phone.goto(live_app(pay_path(invoice)))

    phone.get_by_role("button", name="Thanh toán bằng chuyển khoản (VietQR)").click()

    qr = phone.locator("#qr-image")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] >= 240  # large enough to scan from another phone
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.method, payment.amount, payment.channel) == ("vietqr", 360_000, "phone")
    memo = payment.memo_code
    assert memo is not None
    expect(phone.locator("#qr-memo")).to_have_text(memo)
    expect(phone.locator("#qr-amount")).to_have_text("360.000 ₫")
    expect(phone.locator("#qr-account")).to_have_text(HOSPITAL_ACCOUNT)
    expect(phone.locator("#memo-warning")).to_contain_text(memo)
    phone.get_by_role("button", name="Chép nội dung chuyển khoản").click()
    assert phone.evaluate("navigator.clipboard.readText()") == memo
    expect(phone.get_by_role("button", name="Chép nội dung chuyển khoản")).to_have_text("Đã chép")
    phone.get_by_role("button", name="Chép số tiền").click()
    assert phone.evaluate("navigator.clipboard.readText()") == "360000"
    with phone.expect_download() as download:
        phone.get_by_role("link", name="Lưu ảnh mã QR").click()
    assert download.value.suggested_filename == f"VietQR-{memo}.png"
    assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG")
    shot(phone, "pay-02-vietqr")
    assert_accessible(phone, "pay-02-vietqr")

    assert casso_transfer(live_app, amount=360_000, memo=memo) == 200

    expect(phone.locator("#status-paid")).to_have_text("Đã thanh toán. Xin cảm ơn!", timeout=20_000)
    receipt_link = phone.get_by_role("link", name="Biên lai (PDF, khổ A4)")
    expect(receipt_link).to_be_visible(timeout=30_000)  # issued by the Celery worker
    receipt = Receipt.objects.get(payment=payment)
    expect(phone.locator(".receipt h3")).to_have_text(f"Biên lai {receipt.display_number}")
    expect(phone.locator(".receipt")).to_contain_text("Ba trăm sáu mươi nghìn đồng")
    expect(phone.locator("#amount-due")).to_have_text("360.000 ₫")  # the page kept its bill
    shot(phone, "pay-03-paid")
    assert_accessible(phone, "pay-03-paid")

    pdf = phone.request.get(live_app(str(receipt_link.get_attribute("href"))))
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.body())).pages)
    assert receipt.verification_code in text
    assert "360.000" in text


@pytest.fixture
def stripe_for_pages(settings: Any, fake_stripe: FakeStripeServer) -> FakeStripeServer:
    """The app and the page pointed at the fake Stripe server, which also serves the
    stand-in for Stripe.js."""
    settings.STRIPE_SECRET_KEY = STRIPE_KEY
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_vienphi"
    settings.STRIPE_API_BASE = fake_stripe.url
    settings.STRIPE_WEBHOOK_SECRETS = list(fake_stripe.webhook_secrets)
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_JS_URL = f"{fake_stripe.url}/v3/"
    settings.STRIPE_JS_ORIGINS = settings.STRIPE_API_ORIGINS = [fake_stripe.url]
    settings.STRIPE_FRAME_ORIGINS = [fake_stripe.url]
    return fake_stripe


def pay_with_card(phone: Page, number: str) -> None:
    phone.get_by_label("Số thẻ").fill(number)
    phone.get_by_label("Ngày hết hạn (MM/YY)").fill("12/34")
    phone.get_by_label("Mã bảo mật (CVC)").fill("123")
    phone.get_by_role("button", name="Thanh toán 360.000 ₫").click()


def another_card_pays(
    phone: Page, live_app: LiveApp, stripe: FakeStripeServer, *, button: str
) -> None:
    """A new attempt (``button``) with Visa's test card, Stripe's webhooks, the page paid."""
    with phone.expect_navigation():
        phone.get_by_role("button", name=button).click()
    pay_with_card(phone, "4242 4242 4242 4242")
    expect(phone.locator("#card-processing")).to_be_visible()
    assert all(status == 200 for status in stripe.deliver_all(live_app("/webhooks/stripe")))
    expect(phone.locator("#status-paid")).to_be_visible(timeout=20_000)


def test_paying_by_card_a_decline_says_why_in_plain_words_then_another_card_pays(
    live_app: LiveApp, phone: Page, shot: Shot, stripe_for_pages: FakeStripeServer
):
    invoice = clinic_bill()
    first = phone.goto(live_app(pay_path(invoice)))
    assert first is not None
    assert stripe_for_pages.url not in first.headers["content-security-policy"]

    with phone.expect_navigation():
        phone.get_by_role("button", name="Thanh toán bằng thẻ").click()
    expect(phone.get_by_label("Số thẻ")).to_be_visible()
    shot(phone, "pay-04-card")
    assert_accessible(phone, "pay-04-card")
    pay_with_card(phone, "4000 0000 0000 9995")

    expect(phone.locator("#card-error")).to_have_text("Thẻ không đủ số dư cho số tiền này.")
    shot(phone, "pay-05-card-declined")
    assert_accessible(phone, "pay-05-card-declined")
    another_card_pays(phone, live_app, stripe_for_pages, button="Thử thẻ khác")
    expect(phone.get_by_role("link", name="Biên lai (PDF, khổ A4)")).to_be_visible(timeout=30_000)
    payments = {p.status: p for p in Payment.objects.filter(invoice=invoice)}
    assert set(payments) == {"canceled", "succeeded"}  # the declined attempt was left
    assert payments["succeeded"].amount == 360_000
    [intent] = [i for i in stripe_for_pages.objects("payment_intent") if i["status"] == "succeeded"]
    assert intent["id"] == payments["succeeded"].provider_reference


THREE_DS_CARD = "4000 0027 6000 3184"  # Stripe's test card: 3-D Secure on every payment


def to_the_banks_check(phone: Page, live_app: LiveApp, invoice: Any) -> str:
    """Open the SMS link's page, the card form, and pay with the 3-D Secure card: the
    browser goes to the bank's page (the fake Stripe's). Returns the page's path."""
    path = pay_path(invoice)
    phone.goto(live_app(path))
    with phone.expect_navigation():
        phone.get_by_role("button", name="Thanh toán bằng thẻ").click()
    with phone.expect_navigation(url="**/3ds/authenticate/**"):
        pay_with_card(phone, THREE_DS_CARD)
    expect(phone.get_by_role("heading", level=1)).to_have_text("3D Secure test page")
    return path


def test_paying_by_card_with_3d_secure_goes_to_the_banks_page_and_back_to_paid(
    live_app: LiveApp, phone: Page, shot: Shot, stripe_for_pages: FakeStripeServer
):
    invoice = clinic_bill()
    path = to_the_banks_check(phone, live_app, invoice)
    [intent] = stripe_for_pages.objects("payment_intent")
    assert intent["status"] == "requires_action"
    assert intent["next_action"]["redirect_to_url"]["return_url"] == live_app(path)
    shot(phone, "pay-08-3ds-bank-page")

    with phone.expect_navigation(url=f"**{path}?redirect_status=succeeded*"):
        phone.get_by_role("button", name="Complete authentication").click()

    # Back on the pay page; Stripe's query (with the client secret) is not left in the address.
    assert "secret" not in phone.url
    assert "payment_intent" not in phone.url
    expect(phone.locator("#card-processing")).to_have_text(
        "Đang xác nhận thanh toán thẻ… trang sẽ tự cập nhật."
    )
    assert_accessible(phone, "pay-09-3ds-returned")
    assert stripe_for_pages.get(intent["id"])["status"] == "succeeded"
    assert all(
        status == 200 for status in stripe_for_pages.deliver_all(live_app("/webhooks/stripe"))
    )

    expect(phone.locator("#status-paid")).to_be_visible(timeout=20_000)
    receipt_link = phone.get_by_role("link", name="Biên lai (PDF, khổ A4)")
    expect(receipt_link).to_be_visible(timeout=30_000)  # issued by the Celery worker
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.status, payment.amount) == ("succeeded", 360_000)
    assert payment.provider_reference == intent["id"]
    receipt = Receipt.objects.get(payment=payment)
    expect(phone.locator(".receipt h3")).to_have_text(f"Biên lai {receipt.display_number}")
    expect(phone.locator(".receipt")).to_contain_text("Ba trăm sáu mươi nghìn đồng")
    shot(phone, "pay-10-3ds-paid")
    assert_accessible(phone, "pay-10-3ds-paid")


def test_a_failed_3d_secure_check_says_so_in_plain_words_and_another_card_pays(
    live_app: LiveApp, phone: Page, shot: Shot, stripe_for_pages: FakeStripeServer
):
    invoice = clinic_bill()
    path = to_the_banks_check(phone, live_app, invoice)

    with phone.expect_navigation(url=f"**{path}?redirect_status=failed*"):
        phone.get_by_role("button", name="Fail authentication").click()

    failed = phone.locator("#card-3ds-failed")
    expect(failed).to_contain_text("Bước xác thực của ngân hàng (3-D Secure) chưa hoàn tất.")
    expect(failed).to_contain_text("Bạn chưa bị trừ tiền.")
    expect(phone.locator("#card-form")).to_have_count(0)  # no form on the failed attempt
    shot(phone, "pay-11-3ds-failed")
    assert_accessible(phone, "pay-11-3ds-failed")
    [intent] = stripe_for_pages.objects("payment_intent")
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["code"] == "payment_intent_authentication_failure"

    # Stripe's payment_failed arrives: the page (polling) keeps saying why, from our records.
    assert all(
        status == 200 for status in stripe_for_pages.deliver_all(live_app("/webhooks/stripe"))
    )
    ended = phone.locator("#ended")
    expect(ended).to_contain_text(
        "Bước xác thực của ngân hàng (3-D Secure) chưa hoàn tất.", timeout=20_000
    )
    assert Payment.objects.get(invoice=invoice).failure_code == (
        "payment_intent_authentication_failure"
    )
    assert_accessible(phone, "pay-12-3ds-failed-recorded")

    another_card_pays(phone, live_app, stripe_for_pages, button="Thanh toán bằng thẻ")
    statuses = sorted(Payment.objects.filter(invoice=invoice).values_list("status", flat=True))
    assert statuses == ["failed", "succeeded"]


def test_the_paid_page_says_where_to_look_the_einvoice_up(
    live_app: LiveApp, phone: Page, shot: Shot, fake_sinvoice: FakeSInvoiceServer, settings: Any
):
    invoice = clinic_bill()
    path = pay_path(invoice)
    receipt_issue_for_payment(payment_id=paid(invoice=invoice).pk)
    assert einvoices_send().issued == 1
    fake_sinvoice.assign_tax_codes()
    assert einvoice_codes_poll() == 1
    einvoice = EInvoice.objects.get(invoice=invoice)

    phone.goto(live_app(path))

    block = phone.locator("#einvoice")
    expect(block.get_by_role("heading", level=3)).to_have_text("Hóa đơn điện tử")
    expect(phone.locator("#einvoice-provider")).to_have_text("Viettel S-Invoice")
    expect(phone.locator("#einvoice-number")).to_have_text(
        f"2 / {einvoice.symbol} / {einvoice.number}"
    )
    expect(phone.locator("#einvoice-tax-code")).to_have_text(einvoice.tax_authority_code)
    phone.get_by_role("button", name="Chép mã tra cứu").click()
    assert phone.evaluate("navigator.clipboard.readText()") == einvoice.lookup_code
    lookup = phone.get_by_role("link", name="Tra cứu hóa đơn điện tử tại nhà cung cấp")
    expect(lookup).to_have_attribute("href", settings.EINVOICE_LOOKUP_URL)
    block.scroll_into_view_if_needed()
    shot(phone, "pay-13-einvoice")
    assert_accessible(phone, "pay-13-einvoice")


def test_every_edge_page_is_clear_translated_and_accessible(
    live_app: LiveApp,
    phone: Page,
    shot: Shot,
    settings: Any,
    stripe_for_pages: FakeStripeServer,
):
    expired, revoked, voided = clinic_bill(), clinic_bill(), clinic_bill()
    expired_path, revoked_path, voided_path = (pay_path(i) for i in (expired, revoked, voided))
    PayLink.objects.filter(invoice=expired).update(expires_at=timezone.now())
    pay_links_revoke(invoice=revoked, reason=PayLinkRevokeReason.BY_STAFF)
    invoice_void(invoice=voided, voided_by=None, reason="sai dịch vụ")
    pages = {
        "expired": (expired_path, 410, "Liên kết thanh toán đã hết hạn"),
        "revoked": (revoked_path, 410, "Liên kết thanh toán không còn hiệu lực"),
        "voided": (voided_path, 410, "Hóa đơn này đã bị hủy"),
        "invalid": ("/p/plk_no-such-link", 404, "Liên kết thanh toán không hợp lệ"),
    }
    for kind, (path, status, heading) in pages.items():
        response = phone.goto(live_app(path))
        assert response is not None
        assert response.status == status, kind
        assert response.headers["content-type"].startswith("text/html")
        expect(phone.get_by_role("heading", level=1)).to_have_text(heading)
        shot(phone, f"pay-edge-{kind}")
        assert_accessible(phone, f"pay-edge-{kind}")

    # The card provider fails: nothing charged, a page that says so and leads back.
    stripe_for_pages.fail_next("/v1/payment_intents", status=500)
    phone.goto(live_app(pay_path(clinic_bill())))
    phone.get_by_role("button", name="Thanh toán bằng thẻ").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Tạm thời chưa thể thanh toán")
    shot(phone, "pay-edge-provider-unavailable")
    assert_accessible(phone, "pay-edge-provider-unavailable")
    phone.get_by_role("link", name="Quay lại hóa đơn").click()
    expect(phone.get_by_role("button", name="Thanh toán bằng thẻ")).to_be_visible()

    # Too many requests.
    settings.PAGE_THROTTLE_RATES = {**settings.PAGE_THROTTLE_RATES, "pay_page": "1/min"}
    response = phone.goto(live_app(expired_path))
    assert response is not None
    assert response.status == 429
    assert int(response.headers["retry-after"]) > 0
    expect(phone.get_by_role("heading", level=1)).to_have_text("Quá nhiều yêu cầu")
    shot(phone, "pay-edge-throttled")
    assert_accessible(phone, "pay-edge-throttled")


def test_the_english_switch_and_a_200_percent_zoom(
    live_app: LiveApp, phone: Page, open_page: Callable[..., Page], shot: Shot
):
    invoice = clinic_bill()
    phone.goto(live_app(pay_path(invoice)))

    phone.get_by_role("button", name="English").click()

    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your hospital bill")
    expect(phone.locator("#amount-due")).to_have_text("360.000 ₫")  # the Vietnamese way
    phone.get_by_role("button", name="Pay by bank transfer (VietQR)").click()
    expect(phone.locator("#memo-warning")).to_contain_text("Keep the memo")
    shot(phone, "pay-06-english")
    assert_accessible(phone, "pay-06-english")
    phone.get_by_role("button", name="Tiếng Việt").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Hóa đơn viện phí của bạn")

    # 200 % zoom on the 360 px phone: the page lays out in 180 CSS pixels.
    zoomed = open_page(
        viewport={"width": 180, "height": 370}, device_scale_factor=4, is_mobile=True
    )
    zoomed.goto(live_app(pay_path(invoice)))
    expect(zoomed.locator("#qr-image")).to_be_visible()
    overflow = zoomed.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow} px of horizontal scrolling at 200 %"
    shot(zoomed, "pay-07-zoom-200")
