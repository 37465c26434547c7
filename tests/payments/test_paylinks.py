"""Phone pay links: a random, expiring, revocable token for one invoice. It shows that bill
without any other login (and without the patient's id), pays that invoice only, cancels
only the payments made with a pay link, and an expired, tampered or foreign token is
refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Invoice
from config.identity.models import DeviceKind, Role
from payments.models import IdempotencyRecord, PayLink, Payment
from payments.paylinks import pay_link_token, pay_link_token_hash
from tests.assertions import assert_error
from tests.billing.builders import encounter_new
from tests.payments.builders.payments import (
    kiosk_looked_up,
    new_key,
    pay,
    pay_link_client,
    payable_invoice,
)

pytestmark = pytest.mark.django_db


def expired(token: str, *, hours_ago: float) -> str:
    """The link of ``token`` made so that it expired ``hours_ago``."""
    PayLink.objects.filter(pk=PayLink.objects.latest("pk").pk).update(
        expires_at=timezone.now() - timedelta(hours=hours_ago)
    )
    return token


def phone_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"PayLink {token}")
    return client


def tampered(token: str) -> list[str]:
    """The token with a character changed, cut short, lengthened, without its prefix, and
    made up."""
    flipped = "A" if token[-1] != "A" else "B"
    return [
        f"{token[:-1]}{flipped}",
        token[:-1],
        f"{token}A",
        token.removeprefix("plk_"),
        "plk_" + "A" * 43,
        "not-a-token",
    ]


# --- making a link ------------------------------------------------------------------------------


@pytest.mark.parametrize("maker", ["cashier", "kiosk"])
def test_a_cashier_or_a_kiosk_makes_a_pay_link_for_an_invoice(staff_client, device_client, maker):
    client = staff_client(Role.CASHIER) if maker == "cashier" else device_client("kiosk")[0]
    invoice = payable_invoice(350_000)
    if maker == "kiosk":
        kiosk_looked_up(client, invoice)  # a kiosk acts only on what its lookup returned

    response = client.post(f"/api/v1/invoices/{invoice.public_id}/pay-link")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"].endswith(f"/p/{body['token']}")
    assert body["expires_in_hours"] == 72
    # 256 random bits: no invoice id, nothing personal; stored only as a hash.
    assert body["token"].startswith("plk_")
    assert len(body["token"]) == 47
    link = PayLink.objects.get(public_id=body["id"])
    assert link.invoice_id == invoice.pk
    assert body["token"] not in link.token_hash
    assert APIClient().get(f"/api/v1/pay/{body['token']}").json()["id"] == invoice.public_id


def test_no_pay_link_is_made_for_a_paid_or_void_invoice(staff_client):
    cashier = staff_client(Role.CASHIER)
    invoice = payable_invoice(350_000)
    Invoice.objects.filter(pk=invoice.pk).update(status="paid")

    response = cashier.post(f"/api/v1/invoices/{invoice.public_id}/pay-link")

    assert_error(response, 409, "invoice_not_payable")


def test_only_kiosks_and_cashiers_make_pay_links(staff_client, device_client):
    invoice = payable_invoice()
    url = f"/api/v1/invoices/{invoice.public_id}/pay-link"
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


def test_the_link_shows_the_bill_without_a_login_and_without_the_his_ids():
    invoice = payable_invoice(350_000)

    response = APIClient().get(f"/api/v1/pay/{pay_link_token(invoice=invoice)}")

    assert response.status_code == 200, response.content
    bill = response.json()
    assert "patient_id" not in bill
    assert "encounter_id" not in bill
    assert (bill["id"], bill["number"], bill["currency"]) == (
        invoice.public_id,
        invoice.display_number,
        "VND",
    )
    assert (bill["patient_share"], bill["amount_due"], bill["amount_paid"]) == (350_000, 350_000, 0)
    assert [line["amount"] for line in bill["lines"]] == [350_000]


def test_an_expired_link_is_refused_everywhere():
    invoice = payable_invoice()
    recent = pay_link_token(invoice=invoice)
    assert APIClient().get(f"/api/v1/pay/{recent}").status_code == 200
    old = expired(pay_link_token(invoice=invoice), hours_ago=1)

    refused = assert_error(APIClient().get(f"/api/v1/pay/{old}"), 404, "pay_link_invalid")
    assert refused["detail"] == {"reason": "expired"}
    assert_error(pay(phone_with(old), invoice=invoice, amount=1), 401, "authentication_failed")
    with override_settings(PAY_LINK_TTL_HOURS=1):  # the TTL is fixed when the link is made
        short = pay_link_token(invoice=invoice)
    assert PayLink.objects.get(
        token_hash=pay_link_token_hash(short)
    ).expires_at < timezone.now() + timedelta(hours=1, minutes=1)
    assert not Payment.objects.exists()


def test_a_tampered_or_foreign_token_is_refused_everywhere():
    invoice, other = payable_invoice(), payable_invoice()
    pay_link_token(invoice=other)  # a genuine link of the other invoice exists too
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
    assert (body["channel"], body["invoice_id"], body["amount"]) == (
        "phone",
        invoice.public_id,
        350_000,
    )
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


def test_a_pay_link_cancels_only_the_phone_payments_of_its_invoice(device_client):
    invoice, other = payable_invoice(), payable_invoice()
    kiosk, _ = device_client(DeviceKind.KIOSK)
    phone = pay_link_client(invoice)
    own = pay(phone, invoice=invoice, amount=1_000).json()
    at_kiosk = pay(kiosk, invoice=invoice, amount=1_000).json()
    foreign = pay(kiosk, invoice=other, amount=1_000).json()

    canceled = phone.post(f"/api/v1/payments/{own['id']}/cancel", headers=key_header())
    kiosks = phone.post(f"/api/v1/payments/{at_kiosk['id']}/cancel", headers=key_header())
    refused = phone.post(f"/api/v1/payments/{foreign['id']}/cancel", headers=key_header())

    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert_error(kiosks, 403, "payment_cancel_not_allowed")
    assert_error(refused, 404, "not_found", param="id")
    assert Payment.objects.get(public_id=at_kiosk["id"]).status == "pending"
    assert Payment.objects.get(public_id=foreign["id"]).status == "pending"


def key_header() -> dict[str, str]:
    return {"Idempotency-Key": new_key()}
