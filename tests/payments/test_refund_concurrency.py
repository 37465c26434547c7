"""Partial refunds never add up to more than was captured, with real concurrency: many cashiers
refund parts of one payment at the same
moment, against PostgreSQL, each thread with its own client and its own connection. The
refunds that are not rejected never add up to more than was captured — on the bank-transfer
rail (desk payouts) and on the card rail (the fake Stripe server)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from billing.chart import BANK, PATIENT_RECEIVABLE, STRIPE_CLEARING
from billing.models import Invoice, InvoiceStatus, JournalEntry
from billing.selectors.invoices import invoice_balance
from config.identity.models import Role
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from tests.assertions import assert_error, assert_trial_balance_balanced, balance
from tests.billing.builders import visit_invoice
from tests.concurrency import run_at_once
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.builders.payments import paid_by_card, paid_by_transfer
from tests.payments.builders.refunds import pay_out, request_refund, stripe_refunds

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("approval_threshold"),
]

THREADS = 10
CAPTURED = 1_000_000
SHARE = 300_000  # 30 %: only three fit


@pytest.fixture
def refund_threshold() -> int:
    """Keep the 30 % refunds, together too, under the approval threshold."""
    return CAPTURED


@pytest.fixture
def fake(stripe_configured: FakeStripeServer) -> FakeStripeServer:
    """The app's Stripe client pointed at the fake."""
    return stripe_configured


@pytest.fixture
def cashiers(staff_client: Callable[..., APIClient]) -> list[APIClient]:
    return [staff_client(Role.CASHIER) for _ in range(THREADS)]


def refund_at_once(cashiers: list[APIClient], payment: Payment) -> list[Refund]:
    """Every cashier asks for 30 % at the same moment: three succeed, the others get 402."""
    outcomes = run_at_once(
        THREADS, lambda index: request_refund(cashiers[index], payment, amount=SHARE)
    )

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert Counter(o.status_code for o in outcomes) == {201: 3, 402: THREADS - 3}
    for refused in (o for o in outcomes if o.status_code == 402):
        assert_error(refused, 402, "refund_exceeds_captured", "amount")
    kept = Refund.objects.filter(payment=payment).exclude(status=RefundStatus.REJECTED)
    assert sorted(r.public_id for r in kept) == sorted(
        o.json()["id"] for o in outcomes if o.status_code == 201
    )
    assert sum(r.amount for r in kept) == 3 * SHARE <= CAPTURED
    return list(kept)


def assert_refunded_three_shares(payment: Payment, invoice: Invoice) -> None:
    payment = Payment.objects.get(pk=payment.pk)
    assert (payment.status, payment.amount_refunded) == (
        PaymentStatus.PARTIALLY_REFUNDED,
        3 * SHARE,
    )
    assert JournalEntry.objects.filter(source_type="refund").count() == 3
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice_balance(invoice).amount_due == balance(
        PATIENT_RECEIVABLE, invoice.ledger_reference
    )
    assert invoice_balance(invoice).amount_due == 3 * SHARE
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert_trial_balance_balanced()


def test_concurrent_partial_refunds_of_a_bank_transfer_never_exceed_what_was_paid(cashiers):
    invoice = visit_invoice(CAPTURED, benefit_level=None)
    payment = paid_by_transfer(amount=CAPTURED, invoice=invoice)

    refunds = refund_at_once(cashiers, payment)

    assert {r.status for r in refunds} == {RefundStatus.PENDING_PAYOUT}
    # Each refund paid out by two cashiers at once: each is paid, and posted, exactly once.
    outcomes = run_at_once(
        2 * len(refunds),
        lambda index: pay_out(cashiers[index], refunds[index // 2].public_id, "bank_transfer"),
    )
    assert Counter(o.status_code for o in outcomes) == {200: 3, 409: 3}, outcomes
    assert all(
        r.status == RefundStatus.SUCCEEDED
        for r in Refund.objects.filter(payment=payment)
        if r.status != RefundStatus.REJECTED
    )
    assert -balance(BANK) == 3 * SHARE
    assert_refunded_three_shares(payment, invoice)


def test_concurrent_partial_refunds_of_a_card_payment_never_exceed_what_was_captured(
    fake, cashiers
):
    invoice = visit_invoice(CAPTURED, benefit_level=None)
    payment = paid_by_card(fake, amount=CAPTURED, invoice=invoice)
    clearing_before = balance(STRIPE_CLEARING)

    refunds = refund_at_once(cashiers, payment)

    assert {r.status for r in refunds} == {RefundStatus.SUCCEEDED}
    at_stripe = stripe_refunds(fake, payment)
    assert sorted(r["id"] for r in at_stripe) == sorted(r.provider_reference for r in refunds)
    assert sum(r["amount"] for r in at_stripe) == 3 * SHARE
    assert all(fake.executions(f"vienphi:{r.public_id}") == 1 for r in refunds)
    assert clearing_before - balance(STRIPE_CLEARING) == 3 * SHARE
    assert_refunded_three_shares(payment, invoice)
