"""Phone pay links: a signed, expiring token for one invoice. It shows that bill without any
other login (and without the patient's id), pays that invoice only, and an expired, tampered
or foreign token is refused."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from django.core import signing
from django.test import override_settings
from rest_framework.test import APIClient

from billing.models import Invoice
from config.identity.models import DeviceKind, Role
from payments.models import IdempotencyRecord, Payment
from payments.paylinks import pay_link_token
from tests.assertions import assert_error
from tests.billing.builders import encounter_new
from tests.payments.builders.payments import new_key, pay, pay_link_client, payable_invoice

pytestmark = pytest.mark.django_db


def token_signed_hours_ago(invoice_id: int, hours: float) -> str:
    signed_at = time.time() - hours * 3600
    with mock.patch("django.core.signing.time.time", return_value=signed_at):
        return pay_link_token(invoice=Invoice.objects.get(pk=invoice_id))


def phone_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"PayLink {token}")
    return client


def tampered(token: str) -> list[str]:
    """The token with its invoice id changed, its signature changed, and its timestamp changed."""
    value, stamp, signature = token.split(":")
    flipped = "A" if signature[-1] != "A" else "B"
    return [
        f"{int(value) + 1}:{stamp}:{signature}",
        f"{value}:{stamp}:{signature[:-1]}{flipped}",
        f"{value}:{stamp}0:{signature}",
        signing.TimestampSigner(salt="another.purpose").sign(value),
        "not-a-token",
    ]


# --- making a link ------------------------------------------------------------------------------


@pytest.mark.parametrize("maker", ["cashier", "kiosk"])
def test_a_cashier_or_a_kiosk_makes_a_pay_link_for_an_invoice(staff_client, device_client, maker):
    client = staff_client(Role.CASHIER) if maker == "cashier" else device_client("kiosk")[0]
    invoice = payable_invoice(350_000)

    response = client.post(f"/api/v1/invoices/{invoice.pk}/pay-link")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"].endswith(f"/p/{body['token']}")
    assert body["expires_in_hours"] == 72
    assert str(invoice.pk) == body["token"].split(":")[0]  # the invoice id, nothing personal
    assert APIClient().get(f"/api/v1/pay/{body['token']}").json()["id"] == invoice.pk


def test_no_pay_link_is_made_for_a_paid_or_void_invoice(staff_client):
    cashier = staff_client(Role.CASHIER)
    invoice = payable_invoice(350_000)
    Invoice.objects.filter(pk=invoice.pk).update(status="paid")

    response = cashier.post(f"/api/v1/invoices/{invoice.pk}/pay-link")

    assert_error(response, 409, "invoice_not_payable")


def test_only_kiosks_and_cashiers_make_pay_links(staff_client, device_client):
    invoice = payable_invoice()
    url = f"/api/v1/invoices/{invoice.pk}/pay-link"
    assert_error(staff_client(Role.FINANCE).post(url), 403, "permission_denied")
    assert_error(device_client(DeviceKind.HIS)[0].post(url), 403, "permission_denied")
    assert_error(APIClient().post(url), 401, "authentication_required")
    # A pay link is no login for making other links.
    assert_error(pay_link_client(invoice).post(url), 401, "authentication_required")
    assert_error(
        staff_client(Role.CASHIER).post("/api/v1/invoices/999999/pay-link"),
        404,
        "not_found",
        param="id",
    )


# --- showing the bill ---------------------------------------------------------------------------


def test_the_link_shows_the_bill_without_a_login_and_without_the_patient_id():
    invoice = payable_invoice(350_000)

    response = APIClient().get(f"/api/v1/pay/{pay_link_token(invoice=invoice)}")

    assert response.status_code == 200, response.content
    bill = response.json()
    assert "patient_id" not in bill
    assert (bill["id"], bill["number"], bill["currency"]) == (
        invoice.pk,
        invoice.display_number,
        "VND",
    )
    assert (bill["patient_share"], bill["amount_due"], bill["amount_paid"]) == (350_000, 350_000, 0)
    assert [line["amount"] for line in bill["lines"]] == [350_000]


def test_an_expired_link_is_refused_everywhere():
    invoice = payable_invoice()
    old = token_signed_hours_ago(invoice.pk, 73)  # the TTL is 72 h
    assert_error(APIClient().get(f"/api/v1/pay/{old}"), 404, "pay_link_invalid")
    assert_error(pay(phone_with(old), invoice=invoice, amount=1), 401, "authentication_failed")

    recent = token_signed_hours_ago(invoice.pk, 2)
    assert APIClient().get(f"/api/v1/pay/{recent}").status_code == 200
    with override_settings(PAY_LINK_TTL_HOURS=1):
        assert_error(APIClient().get(f"/api/v1/pay/{recent}"), 404, "pay_link_invalid")
        assert_error(
            pay(phone_with(recent), invoice=invoice, amount=1), 401, "authentication_failed"
        )
    assert not Payment.objects.exists()


def test_a_tampered_or_foreign_token_is_refused_everywhere():
    invoice, other = payable_invoice(), payable_invoice()
    assert other.pk == invoice.pk + 1  # so that the altered id names a real invoice
    for token in tampered(pay_link_token(invoice=invoice)):
        assert_error(APIClient().get(f"/api/v1/pay/{token}"), 404, "pay_link_invalid")
        response = pay(phone_with(token), invoice=other, amount=1)
        assert_error(response, 401, "authentication_failed")
    assert not Payment.objects.exists()


# --- paying with the link -----------------------------------------------------------------------


def test_a_pay_link_pays_its_invoice_from_the_phone_channel():
    invoice = payable_invoice(350_000)
    phone = pay_link_client(invoice)

    response = pay(phone, invoice=invoice, amount=350_000)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["channel"], body["invoice_id"], body["amount"]) == ("phone", invoice.pk, 350_000)
    payment = Payment.objects.get()
    assert payment.created_by_user is None
    assert payment.created_by_device is None
    assert IdempotencyRecord.objects.get().scope == f"paylink:{invoice.pk}"
    assert phone.get(f"/api/v1/payments/{body['id']}").json() == body


def test_a_pay_link_cannot_pay_another_invoice_or_an_advance():
    invoice, other = payable_invoice(), payable_invoice()
    phone = pay_link_client(invoice)
    assert_error(pay(phone, invoice=other, amount=1_000), 404, "not_found", param="invoice_id")
    encounter = encounter_new()
    assert_error(
        pay(phone, encounter_id=encounter.pk, amount=1_000), 404, "not_found", param="encounter_id"
    )
    assert_error(
        pay(phone, encounter_id=invoice.encounter_id, amount=1_000),
        404,
        "not_found",
        param="encounter_id",
    )
    assert not Payment.objects.exists()


def test_a_pay_link_cancels_only_the_payments_of_its_invoice(device_client):
    invoice, other = payable_invoice(), payable_invoice()
    kiosk, _ = device_client(DeviceKind.KIOSK)
    own = pay(kiosk, invoice=invoice, amount=1_000).json()
    foreign = pay(kiosk, invoice=other, amount=1_000).json()
    phone = pay_link_client(invoice)

    canceled = phone.post(f"/api/v1/payments/{own['id']}/cancel", headers=key_header())
    refused = phone.post(f"/api/v1/payments/{foreign['id']}/cancel", headers=key_header())

    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert_error(refused, 404, "not_found", param="id")
    assert Payment.objects.get(public_id=foreign["id"]).status == "pending"


def key_header() -> dict[str, str]:
    return {"Idempotency-Key": new_key()}
