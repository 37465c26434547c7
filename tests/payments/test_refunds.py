"""Refunds through the API: full and partial, by the payment's own rail (a Stripe refund for
cards, a desk payout for transfers and cash), the reversing ledger entry, a supervisor's
approval above the threshold, the errors, and advances."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.utils import timezone
from rest_framework.test import APIClient

from billing.chart import (
    BANK,
    DEPOSIT_LIABILITY,
    MAIN_CASH,
    PATIENT_RECEIVABLE,
    STRIPE_CLEARING,
    VIETQR_CLEARING,
)
from billing.models import (
    Encounter,
    EncounterKind,
    Invoice,
    InvoiceStatus,
    JournalEntry,
    VoucherType,
)
from billing.selectors.invoices import deposit_balance, invoice_balance
from billing.services.deposits import encounter_discharge
from config.identity.models import Role
from payments.models import CashierSession, Payment, PaymentStatus, Refund, RefundStatus
from payments.services.transitions import payment_transition
from payments.tasks import resend_approved_refunds
from tests.assertions import (
    assert_error,
    assert_invoice_agrees_with_books,
    assert_trial_balance_balanced,
    balance,
)
from tests.billing.builders import (
    charges_post,
    encounter_new,
    patient_with_coverage,
    price_item,
    visit_invoice,
)
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.desk import at_desk, drawer, paid_in_cash
from tests.payments.builders.payments import (
    STRIPE_KEY,
    new_key,
    paid_by_card,
    paid_by_transfer,
    vietqr_payment,
)
from tests.payments.builders.refunds import (
    THRESHOLD,
    pay_out,
    refund_calls,
    request_refund,
    stripe_refunds,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("approval_threshold")]


@pytest.fixture
def fake(stripe_configured: FakeStripeServer) -> FakeStripeServer:
    """The app's Stripe client pointed at the fake."""
    return stripe_configured


@pytest.fixture
def desk(staff_client: Callable[..., APIClient]) -> tuple[APIClient, CashierSession]:
    """A cashier at the desk whose drawer opened with a 1,000,000 float."""
    return at_desk(staff_client, count={"500000": 2})


@pytest.fixture
def cashier(desk: tuple[APIClient, CashierSession]) -> APIClient:
    return desk[0]


@pytest.fixture
def supervisor(staff_client: Callable[..., APIClient]) -> APIClient:
    return staff_client(Role.SUPERVISOR)


def bill(amount: int = 1_000_000) -> Invoice:
    """An invoice whose patient (no insurance cover) owes all of ``amount``."""
    invoice = visit_invoice(amount, benefit_level=None)
    assert invoice.patient_share == amount
    return invoice


def fresh(payment: Payment) -> Payment:
    return Payment.objects.get(pk=payment.pk)


def refund_entries() -> int:
    return JournalEntry.objects.filter(source_type="refund").count()


def assert_invoice_owes(invoice: Invoice, due: int, status: str) -> None:
    """The invoice's amount due equals its receivable in the ledger, and its status follows."""
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice_balance(invoice).amount_due == due
    assert balance(PATIENT_RECEIVABLE, invoice.ledger_reference) == due
    assert invoice.status == status
    assert_invoice_agrees_with_books(invoice)


# ---- cards: a Stripe refund with our key ----------------------------------------------------


def test_full_card_refund_is_sent_to_stripe_with_the_refunds_own_key(fake, cashier):
    invoice = bill(400_000)
    payment = paid_by_card(fake, amount=400_000, invoice=invoice)
    assert_invoice_owes(invoice, 0, InvoiceStatus.PAID)
    clearing_before = balance(STRIPE_CLEARING)

    response = request_refund(cashier, payment, reason="service_not_performed")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["status"], body["payment_id"]) == (
        400_000,
        "succeeded",
        payment.public_id,
    )
    [at_stripe] = stripe_refunds(fake, payment)
    assert at_stripe["amount"] == 400_000
    assert fake.executions(f"vienphi:{body['id']}") == 1
    refund = Refund.objects.get(public_id=body["id"])
    assert refund.provider_reference == at_stripe["id"]
    payment = fresh(payment)
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.REFUNDED, 400_000)
    assert clearing_before - balance(STRIPE_CLEARING) == 400_000
    assert_invoice_owes(invoice, 400_000, InvoiceStatus.ISSUED)
    assert_trial_balance_balanced()


def test_a_card_refund_stripe_refuses_for_good_fails_and_stops_holding_its_amount(fake, cashier):
    invoice = bill(400_000)
    payment = paid_by_card(fake, amount=400_000, invoice=invoice)
    dashboard = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": fake.url})
    dashboard.v1.refunds.create(params={"payment_intent": payment.provider_reference})

    response = request_refund(cashier, payment, reason="service_not_performed")

    assert_error(response, 502, "provider_error")
    refund = Refund.objects.get(payment=payment)
    assert refund.status == RefundStatus.FAILED
    assert "charge_already_refunded" in refund.note
    assert refund_entries() == 0
    assert fresh(payment).status == PaymentStatus.SUCCEEDED
    assert_invoice_owes(invoice, 0, InvoiceStatus.PAID)  # finance reconciles the dashboard
    # The failed refund holds nothing: a new one is not refused as too much (402), it goes
    # to Stripe again (which refuses it for the same reason).
    again = request_refund(cashier, payment, amount=400_000, reason="other")
    assert_error(again, 502, "provider_error")


def test_partial_card_refunds_leave_the_payment_partially_refunded_until_all_is_back(
    fake, cashier, settings
):
    settings.REFUND_APPROVAL_THRESHOLD = 1_000_000  # all three go through without approval
    invoice = bill(1_000_000)
    payment = paid_by_card(fake, amount=1_000_000, invoice=invoice)
    clearing_before = balance(STRIPE_CLEARING)

    for amount, refunded, status, due, invoice_status in [
        (300_000, 300_000, PaymentStatus.PARTIALLY_REFUNDED, 300_000, InvoiceStatus.PARTIALLY_PAID),
        (300_000, 600_000, PaymentStatus.PARTIALLY_REFUNDED, 600_000, InvoiceStatus.PARTIALLY_PAID),
        (400_000, 1_000_000, PaymentStatus.REFUNDED, 1_000_000, InvoiceStatus.ISSUED),
    ]:
        response = request_refund(cashier, payment, amount=amount)
        assert response.status_code == 201, response.content
        assert response.json()["status"] == "succeeded"
        payment = fresh(payment)
        assert (payment.status, payment.amount_refunded) == (status, refunded)
        assert clearing_before - balance(STRIPE_CLEARING) == refunded
        assert_invoice_owes(invoice, due, invoice_status)
        assert_trial_balance_balanced()

    assert sorted(r["amount"] for r in stripe_refunds(fake, payment)) == [300_000, 300_000, 400_000]
    assert refund_entries() == 3
    assert_error(request_refund(cashier, payment, amount=1), 409, "payment_not_refundable")


def test_retried_refund_request_replays_the_answer_without_a_second_stripe_refund(fake, cashier):
    payment = paid_by_card(fake, amount=300_000, invoice=bill(300_000))
    key = new_key()

    first = request_refund(cashier, payment, amount=100_000, key=key)
    again = request_refund(cashier, payment, amount=100_000, key=key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(refund_calls(fake)) == 1
    assert len(stripe_refunds(fake, payment)) == 1
    assert Refund.objects.filter(payment=payment).count() == 1
    assert fresh(payment).amount_refunded == 100_000
    assert refund_entries() == 1


def test_retry_after_a_lost_stripe_response_finishes_the_same_refund(fake, cashier, settings):
    # Stripe refunded, but its answer never reached us: the client's retry (same key) must
    # finish that refund, never send a second one under a new key.
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    payment = paid_by_card(fake, amount=300_000, invoice=bill(300_000))
    fake.crash_after_executing("/v1/refunds")
    key = new_key()

    lost = request_refund(cashier, payment, amount=100_000, key=key)
    assert_error(lost, 502, "provider_error")
    retried = request_refund(cashier, payment, amount=100_000, key=key)

    assert retried.status_code == 201, retried.content
    assert retried.json()["status"] == "succeeded"
    assert [r["amount"] for r in stripe_refunds(fake, payment)] == [100_000]
    assert fake.executions(f"vienphi:{retried.json()['id']}") == 1
    assert Refund.objects.filter(payment=payment).count() == 1
    payment = fresh(payment)
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 100_000)
    assert refund_entries() == 1


# ---- bank transfers and cash: paid out by the desk -------------------------------------------


def test_bank_transfer_refund_waits_for_payout_and_posts_only_when_paid_out(cashier):
    invoice = bill(1_000_000)
    payment = paid_by_transfer(amount=1_000_000, invoice=invoice)
    assert balance(VIETQR_CLEARING) == 1_000_000

    response = request_refund(cashier, payment, amount=250_000, reason="overpayment")

    assert response.status_code == 201, response.content
    refund_id = response.json()["id"]
    assert response.json()["status"] == "pending_payout"
    assert refund_entries() == 0
    assert fresh(payment).status == PaymentStatus.SUCCEEDED
    assert_invoice_owes(invoice, 0, InvoiceStatus.PAID)

    paid = pay_out(cashier, refund_id, "bank_transfer")

    assert paid.status_code == 200, paid.content
    assert paid.json()["status"] == "succeeded"
    assert paid.json()["completed_at"]
    assert -balance(BANK) == 250_000
    assert balance(VIETQR_CLEARING) == 1_000_000
    payment = fresh(payment)
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 250_000)
    assert_invoice_owes(invoice, 250_000, InvoiceStatus.PARTIALLY_PAID)
    assert_trial_balance_balanced()


def test_cash_refund_is_paid_out_from_the_cashiers_drawer(desk):
    cashier, session = desk
    invoice = bill(200_000)
    payment = paid_in_cash(amount=200_000, invoice=invoice)
    safe_before = balance(MAIN_CASH)

    response = request_refund(cashier, payment)  # no amount: all that is refundable
    assert response.status_code == 201, response.content
    assert (response.json()["amount"], response.json()["status"]) == (200_000, "pending_payout")
    paid = pay_out(cashier, response.json()["id"], "cash")

    assert paid.status_code == 200, paid.content
    assert (paid.json()["payout_method"], paid.json()["cashier_session"]) == (
        "cash",
        session.public_id,
    )
    assert drawer(session) == 1_000_000 - 200_000
    assert balance(MAIN_CASH) == safe_before
    payment = fresh(payment)
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.REFUNDED, 200_000)
    assert_invoice_owes(invoice, 200_000, InvoiceStatus.ISSUED)
    assert_trial_balance_balanced()


def test_a_bank_transfer_paid_out_at_the_desk_keeps_the_banks_reference_and_the_drawer(desk):
    cashier, session = desk
    payment = paid_in_cash(amount=300_000, invoice=bill(300_000))
    refund_id = request_refund(cashier, payment, amount=120_000).json()["id"]
    with_cash = pay_out(cashier, refund_id, "cash", bank_reference="FT24339ABC")
    assert_error(with_cash, 400, "parameter_invalid", "bank_reference")
    assert refund_entries() == 0

    paid = pay_out(cashier, refund_id, "bank_transfer", bank_reference="FT24339ABC")

    assert paid.status_code == 200, paid.content
    body = paid.json()
    assert (body["payout_method"], body["provider_reference"], body["cashier_session"]) == (
        "bank_transfer",
        "FT24339ABC",
        session.public_id,
    )
    assert drawer(session) == 1_000_000  # the money left the bank, not the drawer
    assert -balance(BANK) == 120_000
    # A bank debit voucher (giấy báo Nợ), though recorded at a desk with a session open.
    entry = JournalEntry.objects.get(source_type="refund", source_id=refund_id)
    assert entry.voucher_type == VoucherType.BANK_DEBIT
    assert_trial_balance_balanced()


def test_a_transfers_refund_is_not_paid_out_in_cash_at_the_desk(desk):
    """The money goes back the way it came: the API offers a VietQR payment's refund only a
    bank-transfer payout, and the payout service refuses cash (not just the client)."""
    cashier, session = desk
    payment = paid_by_transfer(amount=400_000, invoice=bill(400_000))
    refund_id = request_refund(cashier, payment, amount=150_000).json()["id"]
    listed = cashier.get(f"/api/v1/payments/{payment.public_id}/refunds").json()
    assert [r["actions"] for r in listed] == [["pay_out_bank_transfer"]]

    in_cash = pay_out(cashier, refund_id, "cash")

    assert_error(in_cash, 409, "payout_method_not_allowed", "paid_by")
    assert in_cash.json()["error"]["detail"] == {"allowed": ["bank_transfer"]}
    assert Refund.objects.get(public_id=refund_id).status == RefundStatus.PENDING_PAYOUT
    assert drawer(session) == 1_000_000
    assert refund_entries() == 0
    assert pay_out(cashier, refund_id, "bank_transfer").status_code == 200
    assert -balance(BANK) == 150_000


def test_a_refund_is_paid_out_only_once(cashier):
    payment = paid_in_cash(amount=200_000, invoice=bill(200_000))
    refund_id = request_refund(cashier, payment, amount=50_000).json()["id"]

    first = pay_out(cashier, refund_id, "cash", key="payout-1")
    retried = pay_out(cashier, refund_id, "cash", key="payout-1")  # a lost answer, retried

    assert first.status_code == 200
    assert (retried.status_code, retried.headers["Idempotent-Replayed"]) == (200, "true")
    assert retried.json() == first.json()
    assert_error(pay_out(cashier, refund_id, "cash"), 409, "refund_already_paid_out")
    assert fresh(payment).amount_refunded == 50_000
    assert refund_entries() == 1


def test_a_payout_needs_an_idempotency_key(cashier):
    payment = paid_in_cash(amount=200_000, invoice=bill(200_000))
    refund_id = request_refund(cashier, payment, amount=50_000).json()["id"]

    response = cashier.post(
        f"/api/v1/refunds/{refund_id}/payout", {"paid_by": "cash"}, format="json"
    )

    assert_error(response, 400, "idempotency_key_missing", param="Idempotency-Key")
    assert refund_entries() == 0


def test_payout_of_a_card_refund_is_refused(fake, cashier):
    payment = paid_by_card(fake, amount=200_000, invoice=bill(200_000))
    refund_id = request_refund(cashier, payment, amount=50_000).json()["id"]

    assert_error(pay_out(cashier, refund_id, "cash"), 409, "refund_state_conflict")
    assert fresh(payment).amount_refunded == 50_000


def test_payout_with_an_unknown_source_is_refused(cashier):
    payment = paid_in_cash(amount=200_000, invoice=bill(200_000))
    refund_id = request_refund(cashier, payment, amount=50_000).json()["id"]

    assert_error(pay_out(cashier, refund_id, "cheque"), 400, "parameter_invalid", "paid_by")
    assert Refund.objects.get(public_id=refund_id).status == RefundStatus.PENDING_PAYOUT


# ---- approval above the threshold ------------------------------------------------------------


def test_refund_above_threshold_waits_for_a_supervisor_and_moves_nothing_until_approved(
    fake, cashier, supervisor
):
    invoice = bill(1_000_000)
    payment = paid_by_card(fake, amount=1_000_000, invoice=invoice)

    response = request_refund(cashier, payment, amount=THRESHOLD + 1)

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "requested"
    assert refund_calls(fake) == []
    assert refund_entries() == 0
    assert (fresh(payment).status, fresh(payment).amount_refunded) == (PaymentStatus.SUCCEEDED, 0)
    assert_invoice_owes(invoice, 0, InvoiceStatus.PAID)

    approved = supervisor.post(f"/api/v1/refunds/{response.json()['id']}/approve")

    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "succeeded"
    assert approved.json()["decided_by"].startswith("supervisor-")
    assert [r["amount"] for r in stripe_refunds(fake, payment)] == [THRESHOLD + 1]
    assert fresh(payment).amount_refunded == THRESHOLD + 1
    assert_invoice_owes(invoice, THRESHOLD + 1, InvoiceStatus.PARTIALLY_PAID)


def test_refund_at_the_threshold_needs_no_approval(cashier):
    payment = paid_by_transfer(amount=1_000_000, invoice=bill(1_000_000))

    response = request_refund(cashier, payment, amount=THRESHOLD)

    assert response.json()["status"] == "pending_payout"


def test_requester_cannot_approve_their_own_refund(cashier, supervisor, staff_client):
    payment = paid_by_transfer(amount=1_000_000, invoice=bill(1_000_000))
    refund_id = request_refund(supervisor, payment, amount=800_000).json()["id"]

    own = supervisor.post(f"/api/v1/refunds/{refund_id}/approve")

    assert_error(own, 403, "approval_by_requester")
    assert Refund.objects.get(public_id=refund_id).status == RefundStatus.REQUESTED
    other = staff_client(Role.SUPERVISOR).post(f"/api/v1/refunds/{refund_id}/approve")
    assert other.json()["status"] == "pending_payout"


def test_cashier_cannot_approve_a_refund(cashier, staff_client):
    payment = paid_by_transfer(amount=1_000_000, invoice=bill(1_000_000))
    refund_id = request_refund(cashier, payment, amount=800_000).json()["id"]

    for decision in ("approve", "reject"):
        response = staff_client(Role.CASHIER).post(f"/api/v1/refunds/{refund_id}/{decision}")
        assert_error(response, 403, "permission_denied")
    assert Refund.objects.get(public_id=refund_id).status == RefundStatus.REQUESTED


def test_rejected_refund_moves_nothing_and_frees_the_amount(fake, cashier, supervisor):
    invoice = bill(1_000_000)
    payment = paid_by_card(fake, amount=1_000_000, invoice=invoice)
    refund_id = request_refund(cashier, payment, amount=900_000).json()["id"]
    # While it waits, the requested amount is held.
    assert_error(
        request_refund(cashier, payment, amount=200_000), 402, "refund_exceeds_captured", "amount"
    )

    rejected = supervisor.post(f"/api/v1/refunds/{refund_id}/reject")

    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["status"] == "rejected"
    assert refund_calls(fake) == []
    assert refund_entries() == 0
    assert (fresh(payment).status, fresh(payment).amount_refunded) == (PaymentStatus.SUCCEEDED, 0)
    assert_invoice_owes(invoice, 0, InvoiceStatus.PAID)
    again = request_refund(cashier, payment)
    assert (again.json()["amount"], again.json()["status"]) == (1_000_000, "requested")


def test_a_decided_refund_cannot_be_decided_again(cashier, supervisor):
    payment = paid_by_transfer(amount=1_000_000, invoice=bill(1_000_000))
    refund_id = request_refund(cashier, payment, amount=800_000).json()["id"]
    assert supervisor.post(f"/api/v1/refunds/{refund_id}/reject").status_code == 200

    approve = supervisor.post(f"/api/v1/refunds/{refund_id}/approve")

    assert_error(approve, 409, "refund_state_conflict")
    assert Refund.objects.get(public_id=refund_id).status == RefundStatus.REJECTED


def test_approval_retried_after_a_stripe_outage_sends_the_refund_once(
    fake, cashier, supervisor, settings
):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    payment = paid_by_card(fake, amount=1_000_000, invoice=bill(1_000_000))
    refund_id = request_refund(cashier, payment, amount=800_000).json()["id"]
    fake.fail_next("/v1/refunds", status=503)

    assert_error(supervisor.post(f"/api/v1/refunds/{refund_id}/approve"), 502, "provider_error")
    assert Refund.objects.get(public_id=refund_id).status == RefundStatus.APPROVED
    retried = supervisor.post(f"/api/v1/refunds/{refund_id}/approve")

    assert retried.status_code == 200, retried.content
    assert retried.json()["status"] == "succeeded"
    assert [r["amount"] for r in stripe_refunds(fake, payment)] == [800_000]
    assert fresh(payment).amount_refunded == 800_000


def test_a_card_refund_stuck_by_a_stripe_outage_is_sent_again_by_beat_once(fake, cashier, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    payment = paid_by_card(fake, amount=400_000, invoice=bill(400_000))
    fake.fail_next("/v1/refunds", status=503)
    assert_error(request_refund(cashier, payment, amount=300_000), 502, "provider_error")
    refund = Refund.objects.get(payment=payment)
    assert refund.status == RefundStatus.APPROVED  # still holding its amount
    Refund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - timedelta(minutes=6))

    assert resend_approved_refunds.delay().get() == 1
    assert resend_approved_refunds.delay().get() == 0

    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.SUCCEEDED
    assert [r["amount"] for r in stripe_refunds(fake, payment)] == [300_000]
    assert fresh(payment).amount_refunded == 300_000
    assert refund_entries() == 1


# ---- refused requests --------------------------------------------------------------------------


def test_refund_of_a_pending_payment_is_refused(cashier):
    payment = vietqr_payment(amount=100_000, invoice=bill(100_000))

    error = assert_error(request_refund(cashier, payment), 409, "payment_not_refundable")

    assert error["detail"] == {"status": "pending"}
    assert not Refund.objects.exists()


def test_refund_of_a_failed_payment_is_refused(cashier):
    payment = vietqr_payment(amount=100_000, invoice=bill(100_000))
    payment_transition(payment=payment, to=PaymentStatus.FAILED)

    assert_error(request_refund(cashier, payment, amount=1), 409, "payment_not_refundable")
    assert not Refund.objects.exists()


def test_refund_cannot_exceed_captured_amount(cashier):
    payment = paid_by_transfer(amount=300_000, invoice=bill(1_000_000))

    over = request_refund(cashier, payment, amount=300_001)
    error = assert_error(over, 402, "refund_exceeds_captured", "amount")
    assert error["detail"] == {"refundable": 300_000}
    assert request_refund(cashier, payment, amount=200_000).status_code == 201
    error = assert_error(
        request_refund(cashier, payment, amount=100_001), 402, "refund_exceeds_captured", "amount"
    )
    assert error["detail"] == {"refundable": 100_000}
    assert Refund.objects.filter(payment=payment).count() == 1


INVALID_REQUESTS: list[tuple[dict[str, Any], str, str]] = [
    ({"amount": 0}, "invalid_refund", "amount"),
    ({"amount": -50_000}, "invalid_refund", "amount"),
    ({"amount": "a lot"}, "parameter_invalid", "amount"),
    ({"amount": 1.5}, "parameter_invalid", "amount"),
    ({"amount": None}, "parameter_missing", "amount"),
    ({"reason": "changed_my_mind"}, "parameter_invalid", "reason"),
    ({"reason": None}, "parameter_missing", "reason"),
]


def test_invalid_refund_requests_are_refused_and_write_nothing(cashier):
    payment = paid_by_transfer(amount=300_000, invoice=bill(300_000))
    url = f"/api/v1/payments/{payment.public_id}/refunds"

    for change, code, param in INVALID_REQUESTS:
        fields: dict[str, Any] = {"amount": 100_000, "reason": "overpayment", **change}
        if fields["reason"] is None:
            del fields["reason"]
        response = cashier.post(url, fields, format="json", headers={"Idempotency-Key": new_key()})
        assert_error(response, 400, code, param)
    missing_key = cashier.post(url, {"reason": "overpayment"}, format="json")
    assert_error(missing_key, 400, "idempotency_key_missing", "Idempotency-Key")

    assert not Refund.objects.exists()
    assert fresh(payment).status == PaymentStatus.SUCCEEDED


def test_refund_of_an_unknown_payment_is_not_found(cashier):
    response = request_refund(cashier, Payment(public_id="pay_nope"))

    assert_error(response, 404, "not_found", "id")


# ---- advances (tạm ứng) ------------------------------------------------------------------------


def inpatient() -> Encounter:
    patient = patient_with_coverage(benefit_level=None)
    return encounter_new(patient=patient, kind=EncounterKind.INPATIENT)


def advance_and_bill(advance: int, *, cash: bool = False) -> tuple[Encounter, Payment]:
    """An inpatient stay with an advance of ``advance`` and charges of the same amount."""
    encounter = inpatient()
    pay = paid_in_cash if cash else paid_by_transfer
    payment = pay(amount=advance, encounter=encounter)
    charges_post(encounter, (price_item(price=advance), 1))
    return encounter, payment


def test_refund_of_an_advance_reduces_the_deposit_balance(cashier):
    encounter = inpatient()
    payment = paid_by_transfer(amount=2_000_000, encounter=encounter)
    assert deposit_balance(encounter=encounter) == 2_000_000

    response = request_refund(cashier, payment, amount=300_000, reason="deposit_refund")
    assert response.json()["status"] == "pending_payout"
    assert deposit_balance(encounter=encounter) == 2_000_000  # not before it is paid out
    assert pay_out(cashier, response.json()["id"], "bank_transfer").status_code == 200

    assert deposit_balance(encounter=encounter) == 1_700_000
    assert -balance(DEPOSIT_LIABILITY, encounter.ledger_reference) == 1_700_000
    assert -balance(BANK) == 300_000
    payment = fresh(payment)
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 300_000)
    assert_trial_balance_balanced()


def test_refund_of_an_advance_applied_at_discharge_is_refused(cashier):
    encounter, payment = advance_and_bill(1_000_000)
    result = encounter_discharge(encounter=encounter, by="test")
    assert result.deposits_applied == 1_000_000
    assert deposit_balance(encounter=encounter) == 0

    response = request_refund(cashier, payment, amount=100_000, reason="deposit_refund")

    assert_error(response, 402, "refund_exceeds_captured", "amount")
    assert not Refund.objects.exists()
    assert fresh(payment).amount_refunded == 0


def test_advance_refund_approved_after_the_advance_was_applied_is_refused(cashier, supervisor):
    encounter, payment = advance_and_bill(2_000_000)
    response = request_refund(cashier, payment, amount=800_000, reason="deposit_refund")
    assert response.json()["status"] == "requested"
    encounter_discharge(encounter=encounter, by="test")

    approve = supervisor.post(f"/api/v1/refunds/{response.json()['id']}/approve")

    assert_error(approve, 402, "refund_exceeds_captured", "amount")
    assert Refund.objects.get(public_id=response.json()["id"]).status == RefundStatus.REQUESTED
    assert deposit_balance(encounter=encounter) == 0
    assert refund_entries() == 0


def test_advance_refund_paid_out_after_the_advance_was_applied_is_refused(cashier):
    encounter, payment = advance_and_bill(400_000, cash=True)
    response = request_refund(cashier, payment, amount=100_000, reason="deposit_refund")
    assert response.json()["status"] == "pending_payout"
    encounter_discharge(encounter=encounter, by="test")
    safe_before = balance(MAIN_CASH)

    paid = pay_out(cashier, response.json()["id"], "cash")

    assert_error(paid, 402, "refund_exceeds_captured", "amount")
    assert Refund.objects.get(public_id=response.json()["id"]).status == RefundStatus.PENDING_PAYOUT
    assert balance(MAIN_CASH) == safe_before
    assert deposit_balance(encounter=encounter) == 0
    assert fresh(payment).amount_refunded == 0
