"""The receipts API: staff and the kiosk that took the payment read a receipt, find the
receipt of a payment and send its link again; anyone with the code verifies it publicly
without seeing anything personal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from config.identity.models import Device, DeviceKind, Role
from notifications.models import Message, MessageChannel
from payments.models import PaymentChannel
from tests.assertions import assert_error
from tests.notifications.builders import (
    PATIENT_NAME,
    PHONE,
    issued,
    paid,
    pdf_text,
    receipt_invoice,
    refund_receipt,
)
from tests.payments.builders.payments import pay_link_client, vietqr_payment

pytestmark = pytest.mark.django_db


def _resend(client: APIClient, receipt_id: str, key: str | None, **body: Any) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(
        f"/api/v1/receipts/{receipt_id}/resend", body, format="json", headers=headers
    )


def test_staff_read_a_receipt_with_its_content_and_masked_messages(
    staff_client: Callable[..., APIClient],
) -> None:
    receipt = issued()

    body = staff_client(Role.FINANCE).get(f"/api/v1/receipts/{receipt.public_id}").json()

    assert body["number"] == receipt.display_number
    assert (body["form"], body["symbol"], body["serial"]) == ("5", receipt.symbol, 1)
    assert body["amount"] == 120_000
    assert body["content"]["buyer"]["name"] == PATIENT_NAME
    assert body["pdf_url"].endswith(f"/api/v1/receipts/{receipt.public_id}.pdf")
    assert body["reverses_id"] is None
    assert {m["channel"]: m["recipient"] for m in body["messages"]} == {
        "sms": "091****678",
        "email": "h***@example.vn",
    }
    assert PHONE not in str(body["messages"])


def test_the_receipt_of_a_payment_is_found_by_the_payments_id(
    device_client: Callable[..., tuple[APIClient, Device]],
) -> None:
    kiosk, device = device_client(DeviceKind.KIOSK)
    other, _ = device_client(DeviceKind.KIOSK)
    receipt = issued(channel=PaymentChannel.KIOSK, device=device)
    url = f"/api/v1/payments/{receipt.payment.public_id}/receipt"

    assert kiosk.get(url).json()["id"] == receipt.public_id
    assert_error(other.get(url), 404, "not_found", "id")


def test_a_payment_without_a_receipt_yet_says_so(staff_client: Callable[..., APIClient]) -> None:
    pending = vietqr_payment()

    response = staff_client(Role.CASHIER).get(f"/api/v1/payments/{pending.public_id}/receipt")

    assert_error(response, 404, "receipt_not_issued_yet")


def test_a_refund_receipt_points_to_the_receipt_it_reverses(
    staff_client: Callable[..., APIClient],
) -> None:
    payment = paid(invoice=receipt_invoice())
    refund = refund_receipt(payment, 20_000)

    body = staff_client(Role.SUPERVISOR).get(f"/api/v1/receipts/{refund.public_id}").json()

    assert body["kind"] == "refund"
    assert body["reverses_id"] == payment.receipts.get(kind="payment").public_id
    assert body["refund_id"] == refund.refund.public_id  # type: ignore[union-attr]


def test_resend_needs_an_idempotency_key_and_a_retry_sends_once(
    staff_client: Callable[..., APIClient],
) -> None:
    cashier = staff_client(Role.CASHIER)
    receipt = issued()
    before = Message.objects.filter(receipt=receipt).count()

    missing = _resend(cashier, receipt.public_id, None, channel="sms")
    first = _resend(cashier, receipt.public_id, "resend-1", channel="sms")
    again = _resend(cashier, receipt.public_id, "resend-1", channel="sms")

    assert_error(missing, 400, "idempotency_key_missing", "Idempotency-Key")
    assert first.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Message.objects.filter(receipt=receipt).count() == before + 1
    resent = Message.objects.get(public_id=first.json()["id"])
    assert (resent.channel, resent.recipient) == (MessageChannel.SMS, PHONE)


def test_resend_to_a_channel_without_a_contact_is_a_409(
    staff_client: Callable[..., APIClient],
) -> None:
    receipt = issued(invoice=receipt_invoice(email=""))

    response = _resend(staff_client(Role.CASHIER), receipt.public_id, "resend-2", channel="email")

    assert_error(response, 409, "recipient_missing", "channel")


def test_resend_refuses_an_unknown_channel(staff_client: Callable[..., APIClient]) -> None:
    receipt = issued()

    response = _resend(staff_client(Role.CASHIER), receipt.public_id, "resend-3", channel="fax")

    assert_error(response, 400, "parameter_invalid", "channel")


def test_the_public_verification_shows_the_document_and_nothing_personal() -> None:
    receipt = issued()
    anonymous = APIClient()

    body = anonymous.get(f"/api/v1/receipts/verify/{receipt.verification_code}").json()
    page = anonymous.get(f"/r/{receipt.verification_code}")

    assert body["valid"] is True
    assert (body["form"], body["symbol"], body["number"]) == ("5", receipt.symbol, "00000001")
    assert body["amount"] == 120_000
    assert body["amount_in_words"] == "Một trăm hai mươi nghìn đồng"
    assert PATIENT_NAME not in str(body)
    assert receipt.content["buyer"]["citizen_id_masked"] not in str(body)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Một trăm hai mươi nghìn đồng" in html
    assert PATIENT_NAME not in html
    assert "Paracetamol" not in html


def test_an_unknown_verification_code_is_404_everywhere() -> None:
    anonymous = APIClient()

    assert_error(anonymous.get("/api/v1/receipts/verify/NOSUCHCODE23"), 404, "not_found", "code")
    assert anonymous.get("/r/NOSUCHCODE23").status_code == 404
    assert anonymous.get("/r/NOSUCHCODE23.pdf").status_code == 404


def test_the_receipt_operations_are_in_the_openapi_document(anon_client: APIClient) -> None:
    paths = anon_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()[
        "paths"
    ]

    assert {
        "/api/v1/receipts/{public_id}",
        "/api/v1/receipts/{public_id}.pdf",
        "/api/v1/receipts/{public_id}/resend",
        "/api/v1/receipts/verify/{code}",
        "/api/v1/payments/{public_id}/receipt",
    } <= set(paths)
    assert paths["/api/v1/receipts/verify/{code}"]["get"].get("security") in (None, [{}], [])


def test_a_phone_with_the_pay_link_reads_the_receipt_of_that_invoice_only() -> None:
    invoice = receipt_invoice()
    receipt = issued(invoice=invoice, channel=PaymentChannel.PHONE)
    other = issued()
    phone = pay_link_client(invoice)

    found = phone.get(f"/api/v1/payments/{receipt.payment.public_id}/receipt")
    pdf = phone.get(f"/api/v1/receipts/{receipt.public_id}.pdf")

    assert found.json()["id"] == receipt.public_id
    assert pdf.status_code == 200
    assert PATIENT_NAME in pdf_text(pdf.content)  # A4, the phone channel's layout
    assert_error(phone.get(f"/api/v1/receipts/{other.public_id}"), 404, "not_found", "id")
    assert_error(
        phone.get(f"/api/v1/payments/{other.payment.public_id}/receipt"), 404, "not_found", "id"
    )
    assert_error(
        phone.post(
            f"/api/v1/receipts/{receipt.public_id}/resend",
            {"channel": "sms"},
            format="json",
            headers={"Idempotency-Key": "phone-resend"},
        ),
        401,
        "authentication_required",  # a pay link is not a credential for sending
    )
