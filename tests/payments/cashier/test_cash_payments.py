"""Cash at the desk (tendered, change computed by the server, inside the caller's open
session), desk card and QR in the session, split tender, and advances taken at the desk with
their print-ready receipt data."""

from __future__ import annotations

import pytest

from billing.chart import DEPOSIT_LIABILITY, PATIENT_RECEIVABLE
from billing.models import EncounterKind, InvoiceStatus, JournalEntry
from billing.selectors.invoices import deposit_balance
from config.identity.models import Role
from payments.models import OutboxEvent, Payment, PaymentStatus
from payments.services.transitions import payment_transition
from tests.assertions import assert_error, assert_invoice_agrees_with_books, balance
from tests.billing.builders import encounter_new, patient_with_coverage
from tests.payments.builders.desk import at_desk, drawer, pay_cash, terminal_new
from tests.payments.builders.payments import pay, payable_invoice, stripe_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(staff_client):
    return at_desk(staff_client, count={"50000": 2})  # a 100,000 float


def test_cash_with_change_succeeds_at_once_into_the_sessions_drawer(desk):
    cashier, session = desk
    invoice = payable_invoice(120_000)

    response = pay_cash(cashier, amount=120_000, tendered=200_000, invoice=invoice)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["method"], body["channel"]) == ("succeeded", "cash", "desk")
    assert (body["tendered"], body["change_given"]) == (200_000, 80_000)
    assert body["cashier_session"] == session.public_id
    assert drawer(session) == 100_000 + 120_000  # the change went back to the patient
    assert balance(PATIENT_RECEIVABLE, invoice.ledger_reference) == 0
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert_invoice_agrees_with_books(invoice)
    payment = Payment.objects.get(public_id=body["id"])
    assert OutboxEvent.objects.filter(
        topic="payment.succeeded", dedupe_key=f"payment:{payment.pk}:succeeded"
    ).exists()
    # Filed as a cash receipt (phiếu thu) with the patient as the receivable's customer.
    entry = JournalEntry.objects.get(posting_key=payment.captured_posting_key)
    assert (entry.voucher_type, entry.voucher_number) == ("PT", payment.public_id)
    receivable = entry.lines.get(account__code=PATIENT_RECEIVABLE)
    assert receivable.counterparty == invoice.patient.code


def test_a_cash_payment_retried_with_its_key_is_taken_once(desk):
    cashier, session = desk
    invoice = payable_invoice(120_000)
    body = {
        "invoice_id": invoice.public_id,
        "amount": 120_000,
        "tendered": 200_000,
        "method": "cash",
    }

    first = cashier.post("/api/v1/payments", body, format="json", headers={"Idempotency-Key": "c1"})
    again = cashier.post("/api/v1/payments", body, format="json", headers={"Idempotency-Key": "c1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    assert drawer(session) == 220_000


def test_tendered_below_the_amount_is_refused(desk):
    cashier, session = desk
    invoice = payable_invoice(120_000)

    response = pay_cash(cashier, amount=120_000, tendered=100_000, invoice=invoice)

    error = assert_error(response, 400, "tendered_below_amount")
    assert error["detail"] == {"amount": 120_000, "tendered": 100_000}
    assert not Payment.objects.exists()
    assert drawer(session) == 100_000


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"tendered": 0}, "invalid_amount", "tendered"),
        ({"tendered": "200000"}, "invalid_amount", "tendered"),
        ({"tendered": 200_000.0}, "invalid_amount", "tendered"),
    ],
)
def test_a_malformed_tendered_amount_is_refused(desk, body, code, param):
    cashier, _ = desk
    invoice = payable_invoice(120_000)
    response = cashier.post(
        "/api/v1/payments",
        {"invoice_id": invoice.public_id, "amount": 120_000, "method": "cash", **body},
        format="json",
        headers={"Idempotency-Key": f"bad-{param}-{body[param]!r}"},
    )

    assert_error(response, 400, code, param)
    assert not Payment.objects.exists()


def test_cash_needs_tendered_and_only_cash_is_tendered(desk):
    cashier, _ = desk
    invoice = payable_invoice(120_000)

    missing = pay(cashier, invoice=invoice, amount=120_000, method="cash")
    extra = pay(cashier, invoice=invoice, amount=120_000, method="vietqr", tendered=200_000)

    assert_error(missing, 400, "parameter_missing", "tendered")
    assert_error(extra, 400, "parameter_invalid", "tendered")
    assert not Payment.objects.exists()


def test_paying_at_the_desk_without_an_open_session_is_refused(staff_client):
    cashier = staff_client(Role.CASHIER)
    invoice = payable_invoice(120_000)

    cash = pay(cashier, invoice=invoice, amount=120_000, method="cash", tendered=120_000)
    qr = pay(cashier, invoice=invoice, amount=120_000, method="vietqr")

    assert_error(cash, 400, "cashier_session_required")
    assert_error(qr, 400, "cashier_session_required")
    assert not Payment.objects.exists()


def test_cash_above_what_is_due_is_refused_and_leaves_the_drawer_alone(desk):
    cashier, session = desk
    invoice = payable_invoice(120_000)

    response = pay_cash(cashier, amount=150_000, tendered=200_000, invoice=invoice)

    assert_error(response, 402, "amount_exceeds_due", "amount")
    assert drawer(session) == 100_000


def test_split_tender_pays_one_invoice_by_cash_and_qr_in_one_session(desk):
    cashier, session = desk
    invoice = payable_invoice(500_000)

    cash = pay_cash(cashier, amount=300_000, tendered=500_000, invoice=invoice)
    qr = pay(cashier, invoice=invoice, amount=200_000, method="vietqr")

    assert (cash.status_code, qr.status_code) == (201, 201), (cash.content, qr.content)
    assert qr.json()["cashier_session"] == session.public_id
    assert qr.json()["next_action"]["type"] == "vietqr"
    # The bank feed confirms the transfer (the webhook does this; tested with the feeds).
    payment_transition(
        payment=Payment.objects.get(public_id=qr.json()["id"]), to=PaymentStatus.SUCCEEDED
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert drawer(session) == 100_000 + 300_000
    assert_invoice_agrees_with_books(invoice)


def test_card_at_the_desk_goes_to_the_terminals_reader(staff_client, fake_stripe):
    reader = fake_stripe.add_reader(label="Desk reader")
    cashier, session = at_desk(staff_client, terminal=terminal_new(card_reader_id=reader))
    invoice = payable_invoice(300_000)

    with stripe_at(fake_stripe):
        response = pay(cashier, invoice=invoice, amount=300_000, method="card_present")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["cashier_session"]) == ("processing", session.public_id)
    assert body["next_action"] == {
        "type": "card_reader",
        "reader_id": reader,
        "instruction": body["next_action"]["instruction"],
    }
    intent = fake_stripe.objects("payment_intent")[0]
    assert intent["payment_method_types"] == ["card_present"]


def test_an_advance_taken_in_cash_at_the_desk_has_print_ready_receipt_data(desk):
    cashier, session = desk
    patient = patient_with_coverage(benefit_level=None, full_name="Trần Thị Bích Ngọc")
    encounter = encounter_new(patient=patient, kind=EncounterKind.INPATIENT)

    response = pay_cash(cashier, amount=2_000_000, tendered=2_000_000, encounter_id=encounter.pk)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["purpose"], body["status"]) == ("deposit", "succeeded")
    receipt = body["advance_receipt"]
    assert receipt["patient_name"] == "T. T. B. Ngọc"
    assert "Trần" not in str(receipt)
    assert (receipt["encounter"], receipt["amount"], receipt["method"]) == (
        encounter.his_reference,
        2_000_000,
        "cash",
    )
    assert (receipt["session"], receipt["terminal"]) == (session.public_id, session.terminal.code)
    assert receipt["cashier"] == session.cashier.username
    assert receipt["hospital"]
    assert receipt["received_at"]
    assert deposit_balance(encounter=encounter) == 2_000_000
    assert -balance(DEPOSIT_LIABILITY, encounter.ledger_reference) == 2_000_000
    assert drawer(session) == 2_100_000


def test_an_advance_by_qr_at_the_desk_shows_its_receipt_once_paid(desk):
    cashier, session = desk
    encounter = encounter_new(kind=EncounterKind.INPATIENT)

    response = pay(cashier, amount=1_000_000, method="vietqr", encounter_id=encounter.pk)

    assert response.json()["advance_receipt"] is None  # not paid yet
    payment = Payment.objects.get(public_id=response.json()["id"])
    payment_transition(payment=payment, to=PaymentStatus.SUCCEEDED)
    shown = cashier.get(f"/api/v1/payments/{payment.public_id}").json()
    assert shown["advance_receipt"]["method"] == "vietqr"
    assert shown["advance_receipt"]["session"] == session.public_id
    assert drawer(session) == 100_000  # a transfer never touches the drawer
