"""The kiosk screen in a real browser (Debian's Chromium through Playwright) against the
real app on PostgreSQL with a real Celery worker, a fake Stripe account with a card reader
and signed bank-feed webhooks: a morning at the kiosk with three patients."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.core.cache import cache
from playwright.sync_api import Page, Request, Route, expect
from pypdf import PdfReader

from billing.models import Invoice, InvoiceStatus
from config.identity.models import Device, DeviceKind
from config.identity.services import device_create
from notifications.models import Message, MessageStatus
from payments.models import Payment, PaymentMethod, PaymentStatus
from payments.providers.bank_feeds import casso_signature_header
from tests.billing.builders import (
    charges_post,
    citizen_id_new,
    encounter_new,
    patient_with_coverage,
    price_item,
)
from tests.browser.axe import assert_accessible
from tests.celery_worker import wait_until
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.payments import STRIPE_KEY
from tests.payments.builders.webhooks import CASSO_KEY, HOSPITAL_ACCOUNT, bank_memo, casso_record

pytestmark = pytest.mark.django_db(transaction=True)

KIOSK = {
    "viewport": {"width": 1080, "height": 1350},
    "has_touch": True,
    "locale": "vi-VN",
    "timezone_id": "Asia/Ho_Chi_Minh",
}
THERMAL_WIDTH_POINTS = 80 / 25.4 * 72  # 80 mm
WORKER_TIMEOUT_MS = 60_000  # what the Celery worker does, on a machine shared by many


def invoice_for(*prices: int, **patient: Any) -> Invoice:
    """An issued invoice of one visit (no insurance cover: the patient owes every line)."""
    from billing.services.invoices import invoice_issue

    encounter = encounter_new(patient=patient_with_coverage(benefit_level=None, **patient))
    items = [(price_item(price=price, insurance_price=None), 1) for price in prices]
    charges_post(encounter, *items)
    return invoice_issue(encounter=encounter, issued_by="his")


@pytest.fixture
def kiosk_device(fake_stripe: FakeStripeServer, settings: Any) -> tuple[Device, str, str]:
    """A kiosk with a card reader at the fake Stripe; the app pointed at the fake and at the
    bank feed's key."""
    settings.STRIPE_SECRET_KEY = STRIPE_KEY
    settings.STRIPE_API_BASE = fake_stripe.url
    settings.STRIPE_WEBHOOK_SECRETS = list(fake_stripe.webhook_secrets)
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.VIETQR_ACCOUNT = HOSPITAL_ACCOUNT
    settings.CASSO_CHECKSUM_KEY = CASSO_KEY
    reader = fake_stripe.add_reader(label="Ki-ốt sảnh A")
    device, key = device_create(kind=DeviceKind.KIOSK, name="kiosk-sanh-a", card_reader_id=reader)
    return device, key, reader


def kiosk_opened(open_page: Callable[..., Page], url: str, key: str) -> Page:
    """The kiosk as the technician leaves it: the device key typed once into the set-up."""
    page = open_page(**KIOSK)
    page.goto(url)
    expect(page.locator("#screen-setup")).to_be_visible()
    page.fill("#setup-key", key)
    page.click("#setup-form button[type=submit]")
    expect(page.locator("#screen-start")).to_be_visible()
    return page


def bank_transfer(url: str, *, amount: int, memo_code: str) -> None:
    """The bank feed (Casso v2, signed) reports the patient's transfer to the live app."""
    body = {"error": 0, "data": casso_record(amount=amount, description=bank_memo(memo_code))}
    header = casso_signature_header(body=body, key=CASSO_KEY, timestamp_ms=int(time.time() * 1000))
    response = requests.post(
        url + "/webhooks/bank/casso",
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "X-Casso-Signature": header},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def reader_finishes(fake: FakeStripeServer, reader: str, url: str, *, succeed: bool) -> None:
    """The cardholder taps; Stripe tells the app by webhook how the reader's action ended."""
    fake.complete_reader_action(reader, succeed=succeed, decline_code="insufficient_funds")
    kind = "terminal.reader.action_succeeded" if succeed else "terminal.reader.action_failed"
    assert fake.deliver(fake.events_of_type(kind)[-1], url=url + "/webhooks/stripe") == 200


def personal_data_gone(page: Page, *traces: str) -> None:
    """Nothing of the patient left on the page, hidden or shown, nor a file URL of theirs."""
    html = page.content()
    for trace in traces:
        assert trace not in html, trace
    assert "blob:" not in html
    assert page.input_value("#identifier") == ""
    assert page.locator("#invoices > li").count() == 0


def test_a_kiosk_morning_three_patients(
    live_app: Any,
    open_page: Callable[..., Page],
    shot: Callable[[Page, str], Any],
    kiosk_device: tuple[Device, str, str],
    fake_stripe: FakeStripeServer,
    settings: Any,
) -> None:
    _device, key, reader = kiosk_device
    citizen_id = citizen_id_new()
    first = invoice_for(
        96_800,
        128_000,
        full_name="Nguyễn Thị Hồng Nhung",
        citizen_id=citizen_id,
        phone="0912345678",
    )
    second = invoice_for(536_000, full_name="Trần Văn Bình", code="BN0424")
    third = invoice_for(65_400, full_name="Lê Hoàng Yến", insurance_number="0123456789")

    page = kiosk_opened(open_page, live_app("/kiosk/"), key)
    shot(page, "kiosk-start")
    assert_accessible(page, "kiosk-start")
    assert key not in page.url
    assert key not in page.content()

    # --- Patient 1: citizen ID from the card reader (digits + Enter), VietQR -------------
    page.click("#start-title")  # the focus is anywhere: the reader types all the same
    page.keyboard.type(citizen_id)
    page.keyboard.press("Enter")
    expect(page.locator("#screen-patient")).to_be_visible()
    expect(page.locator("#patient-name")).to_have_text("N. T. H. Nhung")
    expect(page.locator("#invoices > li")).to_have_count(1)
    expect(page.locator("#invoices")).to_contain_text("224.800")
    page.click("#invoices summary")
    expect(page.locator("#invoices table tbody tr")).to_have_count(2)
    shot(page, "kiosk-patient")
    assert_accessible(page, "kiosk-patient")

    # The first answer to the payment is lost on the way back: the screen sends the same
    # intent again with the same key, and the server answers it once.
    keys: list[str] = []
    lost = {"done": False}

    def lose_first_answer(route: Route, request: Request) -> None:
        keys.append(request.headers["idempotency-key"])
        response = route.fetch()
        if not lost["done"]:
            lost["done"] = True
            route.abort("connectionreset")
            return
        route.fulfill(response=response)

    page.route("**/api/v1/payments", lose_first_answer)
    page.click(".pay-invoice")
    expect(page.locator("#method-amount")).to_have_text("224.800\u00a0₫")
    page.locator("#pay-vietqr").dblclick()  # a double tap
    expect(page.locator("#screen-qr")).to_be_visible()
    expect(page.locator("#qr-image")).to_have_attribute("src", re.compile(r"^blob:"))
    page.unroute("**/api/v1/payments")
    assert len(keys) == 2  # the double tap made one request, the lost answer one retry
    assert keys[0] == keys[1]
    payment = Payment.objects.get(invoice=first)  # one payment for the double tap and retry
    assert payment.method == PaymentMethod.VIETQR
    expect(page.locator("#qr-memo")).to_have_text(payment.memo_code or "")
    assert page.locator("#qr-image").evaluate("img => img.naturalWidth") > 100
    shot(page, "kiosk-vietqr")
    assert_accessible(page, "kiosk-vietqr")

    bank_transfer(live_app.url, amount=224_800, memo_code=payment.memo_code or "")
    expect(page.locator("#screen-receipt")).to_be_visible()
    # The receipt is issued by the Celery worker: the screen polls until it is there.
    expect(page.locator("#receipt-number")).to_have_text(
        re.compile(r"^\d[CK]\d\dT[A-Z]{2}-\d{8}$"), timeout=WORKER_TIMEOUT_MS
    )
    expect(page.locator("#receipt-amount")).to_have_text("224.800\u00a0₫")
    expect(page.locator("#receipt-words")).to_contain_text("Hai trăm hai mươi tư nghìn")
    first.refresh_from_db()
    assert first.status == InvoiceStatus.PAID

    with page.expect_response(
        re.compile(r"/api/v1/receipts/rcp_[0-9a-f]{20}\.pdf\?layout=thermal")
    ) as pdf:
        page.click("#receipt-print")
    expect(page.locator("#print-frame")).to_have_attribute("src", re.compile(r"^blob:"))
    assert pdf.value.headers["content-type"] == "application/pdf"
    # The same file again, as the kiosk asked for it (the browser keeps no copy of its body).
    thermal = requests.get(pdf.value.url, headers={"Authorization": f"Device {key}"}, timeout=10)
    roll = PdfReader(io.BytesIO(thermal.content)).pages[0]
    assert abs(float(roll.mediabox.width) - THERMAL_WIDTH_POINTS) < 1

    page.click("#receipt-send")
    expect(page.locator("#receipt-send-status")).to_contain_text(re.compile(r"\*{3,}678"))
    expect(page.locator("#receipt-send")).to_be_disabled()  # sent: a second tap sends nothing
    # The receipt's own message when it was issued, and the one asked for at the kiosk.
    assert wait_until(
        lambda: (
            Message.objects.filter(
                receipt__payment=payment, channel="sms", status=MessageStatus.SENT
            ).count()
            == 2
        )
    )
    shot(page, "kiosk-receipt")
    assert_accessible(page, "kiosk-receipt")
    page.click("#receipt-done")
    expect(page.locator("#screen-start")).to_be_visible()
    personal_data_gone(page, "N. T. H. Nhung", "224.800", payment.memo_code or "")

    # --- Patient 2: patient code on the screen's keys, the card declined then paid -------
    page.click("[data-kind=patient_code]")
    for key_label in ["B", "N", "0", "4", "2", "4"]:
        page.click(f"#screen-start button[data-key='{key_label}']")
    page.click("#lookup-submit")
    expect(page.locator("#patient-name")).to_have_text("T. V. Bình")
    page.click("button:text('English')")
    expect(page.locator("#patient-title")).to_contain_text("Hello")
    page.click(".pay-invoice")
    page.click("#pay-card")
    expect(page.locator("#screen-card")).to_be_visible()
    expect(page.locator("#card-instruction")).to_contain_text("insert or tap your card")
    declined = Payment.objects.get(invoice=second)
    assert declined.method == PaymentMethod.CARD_PRESENT

    reader_finishes(fake_stripe, reader, live_app.url, succeed=False)
    expect(page.locator("#card-error")).to_contain_text("The card was declined")
    shot(page, "kiosk-card-declined")
    assert_accessible(page, "kiosk-card-declined")

    page.click("#card-again")  # another card: a new attempt, so a new intent and key
    expect(page.locator("#card-error")).to_have_text("")
    assert wait_until(lambda: Payment.objects.filter(invoice=second).count() == 2)
    reader_finishes(fake_stripe, reader, live_app.url, succeed=True)
    expect(page.locator("#screen-receipt")).to_be_visible()
    expect(page.locator("#receipt-method")).to_have_text("Bank card", timeout=WORKER_TIMEOUT_MS)
    attempts = list(Payment.objects.filter(invoice=second).order_by("id"))
    assert [p.status for p in attempts] == [PaymentStatus.FAILED, PaymentStatus.SUCCEEDED]
    assert attempts[0].idempotency_key != attempts[1].idempotency_key
    second.refresh_from_db()
    assert second.status == InvoiceStatus.PAID
    page.click("#receipt-done")
    expect(page.locator("#screen-start")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "vi")  # the next patient: Vietnamese
    personal_data_gone(page, "T. V. Bình", "536.000")

    # --- Patient 3: insurance number, walks away while choosing how to pay --------------
    # A short timeout for this patient (read when the page loads; the key stays on the
    # device across the reload).
    settings.KIOSK_IDLE_SECONDS = 8
    settings.KIOSK_IDLE_WARNING_SECONDS = 5
    page.reload()
    expect(page.locator("#screen-start")).to_be_visible()
    page.click("[data-kind=insurance_number]")
    page.keyboard.type("0123456789")
    page.keyboard.press("Enter")
    expect(page.locator("#patient-name")).to_have_text("L. H. Yến")
    page.click(".pay-invoice")
    expect(page.locator("#screen-method")).to_be_visible()
    expect(page.locator("#idle")).to_be_visible(timeout=10_000)
    expect(page.locator("#idle-seconds")).to_have_text(re.compile(r"^[1-5]$"))
    shot(page, "kiosk-idle-countdown")
    assert_accessible(page, "kiosk-idle-countdown")
    expect(page.locator("#screen-start")).to_be_visible(timeout=10_000)
    expect(page.locator("#idle")).to_be_hidden()
    personal_data_gone(page, "L. H. Yến", "65.400")
    assert not Payment.objects.filter(invoice=third).exists()


def test_the_look_up_limit_shows_a_friendly_wait_with_its_countdown(
    live_app: Any,
    open_page: Callable[..., Page],
    kiosk_device: tuple[Device, str, str],
    settings: Any,
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth_token": "1000/min", "kiosk_lookup": "1/min"},
    }
    device, key, _reader = kiosk_device
    # The limit counts per device in Redis for a minute: an earlier test's look-ups by a
    # device that had this id (ids restart after a transactional test) must not count here.
    cache.delete(f"throttle_kiosk_lookup_{device.pk}")
    page = kiosk_opened(open_page, live_app("/kiosk/"), key)

    page.click("[data-kind=patient_code]")
    page.fill("#identifier", "BN-NOBODY")
    page.press("#identifier", "Enter")
    expect(page.locator("#start-error")).to_contain_text("Không tìm thấy người bệnh")
    page.fill("#identifier", "BN-NOBODY")
    page.press("#identifier", "Enter")

    expect(page.locator("#start-error")).to_contain_text(re.compile(r"Vui lòng chờ \d+ giây"))
    expect(page.locator("#lookup-submit")).to_be_disabled()
    assert_accessible(page, "kiosk-rate-limited")
