"""The pay page over HTTP (Django's test client): its headers, its CSRF-protected form, the
token kept out of the logs, and the public receipt page in the same look."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client

from payments.models import Payment, PaymentStatus
from tests.notifications.builders import issued
from tests.phone.builders import clinic_bill, pay_path

pytestmark = pytest.mark.django_db


def test_the_pay_page_is_private_html_with_a_strict_policy_and_no_referrer():
    response = Client().get(pay_path(clinic_bill()))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Language"] == "vi"
    policy = response["Content-Security-Policy"]
    assert "stripe" not in policy  # Stripe's origins only where the card form is
    assert "'unsafe-inline'" not in policy
    html = response.content.decode()
    assert "360.000 ₫" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from another origin


def test_starting_a_payment_needs_the_forms_csrf_token():
    invoice = clinic_bill()
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(pay_path(invoice)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    attempt = re.search(r'name="attempt" value="([0-9a-f]{32})"', page)
    assert token
    assert attempt
    form = {"method": "vietqr", "attempt": attempt.group(1)}

    refused = browser.post(f"{pay_path(invoice)}/pay", form, headers={"Origin": "null"})
    assert refused.status_code == 403
    assert not Payment.objects.filter(invoice=invoice).exists()

    sent = {**form, "csrfmiddlewaretoken": token.group(1)}
    # A no-referrer page's form posts carry "Origin: null"; the token is what counts.
    first = browser.post(f"{pay_path(invoice)}/pay", sent, headers={"Origin": "null"})
    again = browser.post(f"{pay_path(invoice)}/pay", sent, headers={"Origin": "null"})
    assert (first.status_code, again.status_code) == (303, 303)
    [payment] = Payment.objects.filter(invoice=invoice)  # the same form twice: one payment
    assert payment.status == PaymentStatus.PENDING
    foreign = browser.post(
        f"{pay_path(invoice)}/pay", sent, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403


def test_the_pay_link_token_never_reaches_the_logs(caplog: pytest.LogCaptureFixture):
    invoice = clinic_bill()
    path = pay_path(invoice)
    token = path.rsplit("/", 1)[1]
    client = Client()
    with caplog.at_level(logging.DEBUG):
        client.get(path)
        client.get(f"{path}/status")
        client.get(f"{path}/qr/pay_nosuchpayment.png")  # a 404 is logged by Django
        client.get("/p/plk_forged-token-that-is-not-stored")

    assert token not in caplog.text
    assert "plk_forged-token" not in caplog.text


def test_the_public_receipt_page_has_the_pay_pages_look_and_thousands_separators():
    receipt = issued()

    response = Client().get(f"/r/{receipt.verification_code}")

    html = response.content.decode()
    assert response.status_code == 200
    assert "pages/site.css" in html
    assert "Biên lai hợp lệ" in html
    amount = f"{receipt.amount:,}".replace(",", ".")
    assert f"{amount} ₫" in html
    english = Client()
    english.cookies["django_language"] = "en"
    assert "Valid receipt" in english.get(f"/r/{receipt.verification_code}").content.decode()
