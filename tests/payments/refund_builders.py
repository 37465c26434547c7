"""Builders and checks for the refund tests: succeeded payments on each rail (cards through
the fake Stripe server, as the app meets Stripe), and the books read straight from the
journal lines, not through the code under test."""

from __future__ import annotations

import itertools
from typing import Any

import stripe
from rest_framework.test import APIClient

from billing.models import Encounter, Invoice
from billing.selectors.ledger import trial_balance
from payments.models import (
    CashierSession,
    Payment,
    PaymentChannel,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
)
from payments.services.payments import PaymentRequest, payment_create
from payments.services.transitions import payment_transition
from tests.fakes.stripe_server import FakeStripeServer
from tests.payments.cashier_builders import balance as balance  # one reader of the books
from tests.payments.cashier_builders import cash_take, session_new

STRIPE_KEY = "sk_test_vienphi_refunds"
CARD_CLEARING = "1131"
TRANSFER_CLEARING = "1132"
MAIN_SAFE = "1111"
BANK = "1121"
PATIENT_RECEIVABLE = "1311"
DEPOSIT_LIABILITY = "33881"

_keys = itertools.count(1)


def new_key(prefix: str = "refund") -> str:
    return f"{prefix}-{next(_keys)}"


def _create(
    *, method: str, amount: int, invoice: Invoice | None, encounter: Encounter | None
) -> Payment:
    return payment_create(
        request=PaymentRequest(
            purpose=PaymentPurpose.INVOICE if invoice is not None else PaymentPurpose.DEPOSIT,
            amount=amount,
            currency="VND",
            method=method,
            channel=PaymentChannel.PHONE if method == PaymentMethod.CARD else PaymentChannel.DESK,
            idempotency_key=new_key("payment"),
            invoice=invoice,
            encounter=encounter,
        )
    )


def card_payment(
    fake: FakeStripeServer,
    *,
    amount: int,
    invoice: Invoice | None = None,
    encounter: Encounter | None = None,
) -> Payment:
    """A phone card payment: intent created by the app, paid with a test card at the fake
    Stripe, then recorded as succeeded (what the webhook would do)."""
    payment = _create(
        method=PaymentMethod.CARD, amount=amount, invoice=invoice, encounter=encounter
    )
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": fake.url})
    intent = client.v1.payment_intents.confirm(
        payment.provider_reference, params={"payment_method": "pm_card_visa"}
    )
    assert intent.status == "succeeded"
    payment, _ = payment_transition(payment=payment, to=PaymentStatus.SUCCEEDED)
    return payment


def transfer_payment(
    *, amount: int, invoice: Invoice | None = None, encounter: Encounter | None = None
) -> Payment:
    """A VietQR bank transfer that the bank feed confirmed."""
    payment = _create(
        method=PaymentMethod.VIETQR, amount=amount, invoice=invoice, encounter=encounter
    )
    payment, _ = payment_transition(
        payment=payment, to=PaymentStatus.SUCCEEDED, debit_account=TRANSFER_CLEARING
    )
    return payment


def cash_payment(
    *,
    amount: int,
    invoice: Invoice | None = None,
    encounter: Encounter | None = None,
    session: CashierSession | None = None,
) -> Payment:
    """Cash taken at the desk, in ``session`` (by default a new cashier's new session)."""
    return cash_take(session or session_new(), amount=amount, invoice=invoice, encounter=encounter)


def pending_transfer(*, amount: int, invoice: Invoice) -> Payment:
    return _create(method=PaymentMethod.VIETQR, amount=amount, invoice=invoice, encounter=None)


def request_refund(
    client: APIClient,
    payment: Payment,
    *,
    amount: int | None = None,
    reason: str = "requested_by_patient",
    key: str | None = None,
    **extra: Any,
) -> Any:
    body: dict[str, Any] = {"reason": reason, **extra}
    if amount is not None:
        body["amount"] = amount
    return client.post(
        f"/api/v1/payments/{payment.public_id}/refunds",
        body,
        format="json",
        headers={"Idempotency-Key": key or new_key()},
    )


def pay_out(client: APIClient, refund_id: str, paid_by: str, key: str | None = None) -> Any:
    return client.post(
        f"/api/v1/refunds/{refund_id}/payout",
        {"paid_by": paid_by},
        format="json",
        headers={"Idempotency-Key": key or new_key()},
    )


def assert_trial_balance_balanced() -> None:
    rows = trial_balance()
    assert sum(row.debit_total for row in rows) == sum(row.credit_total for row in rows)


def stripe_refunds(fake: FakeStripeServer, payment: Payment) -> list[dict[str, Any]]:
    return [r for r in fake.objects("refund") if r["payment_intent"] == payment.provider_reference]


def refund_calls(fake: FakeStripeServer) -> list[Any]:
    """Requests that reached the fake's refund endpoint (replays included)."""
    return [r for r in fake.request_log if r.method == "POST" and r.path == "/v1/refunds"]
