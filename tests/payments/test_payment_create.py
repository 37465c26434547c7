"""Starting a payment: the server decides amounts , each channel takes its own
methods, a VietQR payment carries a QR that decodes to our account, the amount and its memo
code, a payment is shown only to whoever may see it, and success posts exactly one ledger
entry so that the invoice says what its balance says."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from billing.chart import PATIENT_RECEIVABLE, VIETQR_CLEARING
from billing.models import EncounterStatus, Invoice, InvoiceStatus, JournalEntry
from billing.models.invoices import new_invoice_id
from billing.services.invoices import invoice_void
from config.identity.models import DeviceKind, Role
from payments.models import Payment, PaymentStatus
from payments.paylinks import pay_link_token
from payments.providers.vietqr import decode_payload
from payments.services.transitions import payment_transition
from tests.assertions import assert_error, assert_invoice_agrees_with_books, balance
from tests.billing.builders import encounter_new, payment_post
from tests.payments.builders.desk import at_desk
from tests.payments.builders.payments import (
    kiosk_looked_up,
    new_key,
    pay,
    pay_link_client,
    payable_invoice,
    stripe_at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cashier(staff_client: Any) -> APIClient:
    """A cashier at the desk: desk payments belong to an open session."""
    client, _ = at_desk(staff_client)
    return client


def kiosk_with_reader(device_client: Any, reader_id: str = "tmr_kiosk_reader") -> APIClient:
    client, device = device_client(DeviceKind.KIOSK)
    device.card_reader_id = reader_id
    device.save(update_fields=["card_reader_id"])
    return client


# --- the server decides amounts ---------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [-100_000, -1, 0, 1.5, 100_000.0, "100", "100000", True, [100], 2**63],
    ids=repr,
)
def test_an_amount_that_is_not_a_positive_integer_is_refused_and_creates_nothing(kiosk, amount):
    client, _ = kiosk
    invoice = payable_invoice(300_000)
    kiosk_looked_up(client, invoice)
    response = client.post(
        "/api/v1/payments",
        {"invoice_id": invoice.public_id, "amount": amount, "method": "vietqr"},
        format="json",
        headers={"Idempotency-Key": new_key()},
    )
    assert_error(response, 400, "invalid_amount", param="amount")
    assert not Payment.objects.exists()


def test_an_amount_above_what_is_due_is_refused_with_what_can_be_paid(kiosk):
    client, _ = kiosk
    invoice = payable_invoice(300_000)
    error = assert_error(
        pay(client, invoice=invoice, amount=300_001), 402, "amount_exceeds_due", param="amount"
    )
    assert error["detail"] == {"payable": 300_000}
    assert pay(client, invoice=invoice, amount=300_000).status_code == 201


def test_what_is_payable_leaves_out_what_payments_in_flight_have_reserved(kiosk, cashier):
    client, _ = kiosk
    invoice = payable_invoice(1_000_000)
    assert pay(client, invoice=invoice, amount=600_000).status_code == 201
    error = assert_error(
        pay(cashier, invoice=invoice, amount=400_001), 402, "amount_exceeds_due", param="amount"
    )
    assert error["detail"] == {"payable": 400_000}
    assert pay(cashier, invoice=invoice, amount=400_000).status_code == 201


def test_a_canceled_payment_reserves_nothing(kiosk):
    client, _ = kiosk
    invoice = payable_invoice(500_000)
    payment_id = pay(client, invoice=invoice, amount=500_000).json()["id"]
    canceled = client.post(
        f"/api/v1/payments/{payment_id}/cancel", headers={"Idempotency-Key": new_key()}
    )
    assert canceled.status_code == 200, canceled.content
    assert (canceled.json()["status"], canceled.json()["next_action"]) == ("canceled", None)

    assert pay(client, invoice=invoice, amount=500_000).status_code == 201
    again = client.post(
        f"/api/v1/payments/{payment_id}/cancel", headers={"Idempotency-Key": new_key()}
    )
    assert_error(again, 409, "payment_state_conflict")


@pytest.mark.parametrize("currency", ["USD", "vnd", "XXX"])
def test_an_amount_in_another_currency_than_the_invoice_is_refused(kiosk, currency):
    client, _ = kiosk
    invoice = payable_invoice(300_000)
    error = assert_error(
        pay(client, invoice=invoice, amount=100_000, currency=currency),
        400,
        "currency_mismatch",
        param="currency",
    )
    assert error["detail"] == {"invoice_currency": "VND"}
    assert not Payment.objects.exists()


def test_a_paid_invoice_is_not_payable(kiosk):
    client, _ = kiosk
    invoice = payment_post(payable_invoice(300_000), 300_000)
    assert invoice.status == InvoiceStatus.PAID
    error = assert_error(pay(client, invoice=invoice, amount=1), 409, "invoice_not_payable")
    assert error["detail"] == {"status": "paid"}


def test_a_void_invoice_is_not_payable(kiosk):
    client, _ = kiosk
    invoice = invoice_void(invoice=payable_invoice(300_000), voided_by=None, reason="test")
    error = assert_error(pay(client, invoice=invoice, amount=1), 409, "invoice_not_payable")
    assert error["detail"] == {"status": "void"}


def test_one_card_payment_is_at_most_99_999_999_vnd_while_a_transfer_may_be_larger(
    device_client, kiosk
):
    invoice = payable_invoice(150_000_000)
    reader_kiosk = kiosk_with_reader(device_client)
    error = assert_error(
        pay(reader_kiosk, invoice=invoice, amount=100_000_000, method="card_present"),
        400,
        "invalid_amount",
        param="amount",
    )
    assert "99,999,999" in error["message"]
    phone = pay_link_client(invoice)
    assert_error(
        pay(phone, invoice=invoice, amount=100_000_000, method="card"),
        400,
        "invalid_amount",
        param="amount",
    )
    assert not Payment.objects.exists()  # refused before anything reached Stripe

    client, _ = kiosk
    transfer = pay(client, invoice=invoice, amount=150_000_000)
    assert transfer.status_code == 201, transfer.content
    assert decode_payload(transfer.json()["next_action"]["payload"]).amount == 150_000_000


def test_an_unknown_invoice_or_encounter_is_not_found(kiosk):
    client, _ = kiosk
    assert_error(
        pay(client, invoice_id=new_invoice_id(), amount=1), 404, "not_found", param="invoice_id"
    )
    assert_error(
        pay(client, encounter_id=999_999, amount=1), 404, "not_found", param="encounter_id"
    )


def test_a_payment_pays_exactly_one_thing(kiosk):
    client, _ = kiosk
    invoice = payable_invoice()
    both = pay(client, invoice=invoice, encounter_id=invoice.encounter_id, amount=1)
    assert_error(both, 400, "parameter_missing", param="invoice_id")
    assert_error(pay(client, amount=1), 400, "parameter_missing", param="invoice_id")


# --- deposits ---------------------------------------------------------------------------------


def test_an_advance_is_taken_for_an_open_encounter(kiosk):
    client, _ = kiosk
    encounter = encounter_new()
    response = pay(client, encounter_id=encounter.pk, amount=2_000_000)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["purpose"], body["encounter_id"], body["invoice_id"]) == (
        "deposit",
        encounter.pk,
        None,
    )


def test_an_advance_for_a_closed_encounter_is_refused(kiosk):
    client, _ = kiosk
    encounter = encounter_new()
    encounter.status = EncounterStatus.CLOSED
    encounter.save(update_fields=["status"])
    response = pay(client, encounter_id=encounter.pk, amount=2_000_000)
    assert_error(response, 409, "encounter_closed")
    assert not Payment.objects.exists()


def test_an_advance_in_another_currency_is_refused(kiosk):
    client, _ = kiosk
    response = pay(client, encounter_id=encounter_new().pk, amount=100, currency="USD")
    assert_error(response, 400, "currency_mismatch", param="currency")


# --- channels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payer", "method", "status", "code"),
    [
        ("kiosk", "vietqr", 201, None),
        ("kiosk", "card_present", 201, None),
        ("kiosk", "card", 400, "method_not_allowed_here"),
        ("kiosk", "cash", 400, "method_not_allowed_here"),
        ("phone", "vietqr", 201, None),
        ("phone", "card", 201, None),
        ("phone", "card_present", 400, "method_not_allowed_here"),
        ("phone", "cash", 400, "method_not_allowed_here"),
        ("desk", "vietqr", 201, None),
        ("desk", "card", 400, "method_not_allowed_here"),
        ("desk", "cash", 201, None),
    ],
)
def test_each_channel_takes_its_own_methods(
    device_client, cashier, fake_stripe, payer, method, status, code
):
    invoice = payable_invoice()
    client = {
        "kiosk": kiosk_with_reader(device_client, fake_stripe.add_reader()),
        "phone": pay_link_client(invoice),
        "desk": cashier,
    }[payer]

    tendered: dict[str, Any] = {"tendered": 100_000} if (payer, method) == ("desk", "cash") else {}
    with stripe_at(fake_stripe):
        response = pay(client, invoice=invoice, amount=100_000, method=method, **tendered)

    if code is None:
        assert response.status_code == status, response.content
        assert response.json()["channel"] == payer
    else:
        assert_error(response, status, code, param="method")
        assert not Payment.objects.exists()


def test_card_present_at_the_desk_needs_a_card_reader(cashier):
    response = pay(cashier, invoice=payable_invoice(), amount=100_000, method="card_present")
    assert_error(response, 400, "no_card_reader", param="method")


def test_a_supervisor_takes_payments_at_the_desk(staff_client):
    supervisor, _ = at_desk(staff_client, Role.SUPERVISOR)
    response = pay(supervisor, invoice=payable_invoice(), amount=100_000)
    assert response.status_code == 201, response.content
    assert response.json()["channel"] == "desk"


def test_finance_staff_and_the_his_may_not_take_payments(staff_client, device_client):
    invoice = payable_invoice()
    his, _ = device_client(DeviceKind.HIS)
    for client in (staff_client(Role.FINANCE), his):
        assert_error(pay(client, invoice=invoice, amount=100_000), 403, "permission_denied")
    assert_error(pay(APIClient(), invoice=invoice, amount=1), 401, "authentication_required")
    assert not Payment.objects.exists()


# --- VietQR -----------------------------------------------------------------------------------


def test_a_vietqr_payment_carries_a_qr_for_our_account_the_amount_and_its_memo_code(kiosk):
    client, device = kiosk
    invoice = payable_invoice(480_000)
    response = pay(client, invoice=invoice, amount=480_000)
    assert response.status_code == 201, response.content
    body = response.json()
    action = body["next_action"]
    payment = Payment.objects.get()

    decoded = decode_payload(action["payload"])
    assert (decoded.bank_bin, decoded.account) == (
        settings.VIETQR_BANK_BIN,
        settings.VIETQR_ACCOUNT,
    )
    assert (decoded.amount, decoded.currency, decoded.country) == (480_000, "704", "VN")
    assert decoded.point_of_initiation == "12"  # one bill, with its amount
    assert decoded.purpose == action["memo_code"] == payment.memo_code
    assert (action["bank_bin"], action["account"]) == (
        settings.VIETQR_BANK_BIN,
        settings.VIETQR_ACCOUNT,
    )
    assert body["status"] == "pending"
    assert body["channel"] == "kiosk"
    assert payment.created_by_device == device
    assert payment.idempotency_key
    # Both expiry times are rendered alike (the hospital's local time).
    assert action["expires_at"] == body["expires_at"]
    assert body["expires_at"].endswith("+07:00")
    assert payment.expires_at is not None
    minutes = (payment.expires_at - payment.created_at).total_seconds() / 60
    assert minutes == pytest.approx(settings.VIETQR_TTL_MINUTES, abs=0.1)


def test_every_vietqr_payment_gets_its_own_memo_code(kiosk):
    client, _ = kiosk
    invoice = payable_invoice()
    codes = {pay(client, invoice=invoice, amount=1_000).json()["next_action"]["memo_code"]}
    codes |= {pay(client, invoice=invoice, amount=1_000).json()["next_action"]["memo_code"]}
    assert len(codes) == 2


def test_the_qr_image_is_served_as_png_and_svg(kiosk):
    client, _ = kiosk
    body = pay(client, invoice=payable_invoice(), amount=120_000).json()
    png = client.get(body["next_action"]["image_png_url"])
    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = client.get(body["next_action"]["image_svg_url"])
    assert svg.status_code == 200
    assert svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content


def test_a_payment_without_a_qr_has_no_image(kiosk):
    client, _ = kiosk
    body = pay(client, invoice=payable_invoice(), amount=120_000).json()
    client.post(f"/api/v1/payments/{body['id']}/cancel", headers={"Idempotency-Key": new_key()})
    response = client.get(f"/api/v1/payments/{body['id']}/qr.png")
    assert_error(response, 404, "not_found", param="id")


# --- who may see a payment --------------------------------------------------------------------


def test_a_payment_is_shown_to_its_kiosk_to_cashiers_and_to_its_invoices_pay_link(
    device_client, staff_client, kiosk
):
    client, _ = kiosk
    invoice = payable_invoice()
    created = pay(client, invoice=invoice, amount=120_000).json()
    url = f"/api/v1/payments/{created['id']}"
    other_kiosk, _ = device_client(DeviceKind.KIOSK)
    his, _ = device_client(DeviceKind.HIS)

    for viewer in (client, staff_client(Role.CASHIER), pay_link_client(invoice)):
        shown = viewer.get(url)
        assert shown.status_code == 200, shown.content
        assert shown.json() == created
        assert viewer.get(f"{url}/qr.svg").status_code == 200

    for stranger in (other_kiosk, pay_link_client(payable_invoice())):
        assert_error(stranger.get(url), 404, "not_found", param="id")
        assert_error(stranger.get(f"{url}/qr.png"), 404, "not_found", param="id")
        cancel = stranger.post(f"{url}/cancel", headers={"Idempotency-Key": new_key()})
        assert_error(cancel, 404, "not_found", param="id")
    assert_error(staff_client(Role.FINANCE).get(url), 403, "permission_denied")
    assert_error(his.get(url), 403, "permission_denied")
    assert_error(APIClient().get(url), 401, "authentication_required")
    assert_error(client.get("/api/v1/payments/pay_nonexistent"), 404, "not_found", param="id")
    assert Payment.objects.get().status == PaymentStatus.PENDING


# --- success: one ledger entry, the invoice agrees with its balance ------------------------


def succeed(payment_id: str) -> Payment:
    payment, applied = payment_transition(
        payment=Payment.objects.get(public_id=payment_id), to=PaymentStatus.SUCCEEDED
    )
    assert applied
    return payment


def payment_entries(payment_id: str) -> int:
    return JournalEntry.objects.filter(source_type="payment", source_id=payment_id).count()


def test_a_succeeded_transfer_posts_one_entry_and_the_invoice_agrees_with_its_receivable(
    kiosk, cashier
):
    client, _ = kiosk
    invoice = payable_invoice(700_000)
    first = pay(client, invoice=invoice, amount=300_000).json()

    succeed(first["id"])
    payment_transition(payment=Payment.objects.get(public_id=first["id"]), to="succeeded")

    [entry] = JournalEntry.objects.filter(source_type="payment", source_id=first["id"])
    lines = {(line.account.code, line.debit, line.credit) for line in entry.lines.all()}
    assert lines == {
        (VIETQR_CLEARING, 300_000, 0),
        (PATIENT_RECEIVABLE, 0, 300_000),
    }  # transfer clearing
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert balance(PATIENT_RECEIVABLE, invoice.ledger_reference) == 400_000
    assert_invoice_agrees_with_books(invoice, staff=cashier)
    shown = client.get(f"/api/v1/payments/{first['id']}").json()
    assert shown["status"] == "succeeded"
    assert shown["succeeded_at"] is not None
    assert shown["next_action"] is None
    bill = APIClient().get(f"/api/v1/pay/{pay_link_token(invoice=invoice)}").json()
    assert (bill["amount_due"], bill["amount_paid"]) == (400_000, 300_000)

    assert_error(pay(client, invoice=invoice, amount=400_001), 402, "amount_exceeds_due", "amount")
    rest = pay(client, invoice=invoice, amount=400_000).json()
    succeed(rest["id"])

    assert payment_entries(rest["id"]) == 1
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice.status == InvoiceStatus.PAID
    assert balance(PATIENT_RECEIVABLE, invoice.ledger_reference) == 0
    assert_invoice_agrees_with_books(invoice, staff=cashier)
    assert_error(pay(client, invoice=invoice, amount=1), 409, "invoice_not_payable")


def test_a_succeeded_advance_is_held_as_a_deposit_of_the_encounter(kiosk):
    client, _ = kiosk
    encounter = encounter_new()
    created = pay(client, encounter_id=encounter.pk, amount=2_000_000).json()
    succeed(created["id"])
    assert encounter.deposits.get().amount == 2_000_000
    assert JournalEntry.objects.filter(source_type="deposit").count() == 1


def test_an_invoice_with_a_payment_in_flight_cannot_be_voided_until_it_is_canceled(
    kiosk, staff_client
):
    client, _ = kiosk
    supervisor = staff_client(Role.SUPERVISOR)
    invoice = payable_invoice(500_000)
    payment_id = pay(client, invoice=invoice, amount=200_000).json()["id"]

    refused = supervisor.post(
        f"/api/v1/invoices/{invoice.public_id}/void", {"reason": "wrong patient"}, format="json"
    )
    client.post(f"/api/v1/payments/{payment_id}/cancel", headers={"Idempotency-Key": new_key()})
    voided = supervisor.post(
        f"/api/v1/invoices/{invoice.public_id}/void", {"reason": "wrong patient"}, format="json"
    )

    error = assert_error(refused, 409, "invoice_has_payments_in_flight")
    assert error["detail"] == {"payments": [payment_id]}
    assert voided.status_code == 200, voided.content
    assert_error(pay(client, invoice=invoice, amount=100_000), 409, "invoice_not_payable")
