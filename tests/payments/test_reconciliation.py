"""Bank transfers that cannot complete a payment are kept, never dropped: each becomes a
reconciliation item with its reason, and its money is booked Dr VietQR clearing / Cr suspense so the
ledger agrees with the bank. Matching is by the memo code, never by amount."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.chart import BANK, PATIENT_RECEIVABLE, SUSPENSE, VIETQR_CLEARING
from billing.models import JournalEntry, JournalLine
from payments.models import (
    Payment,
    PaymentStatus,
    ReconciliationItem,
    ReconciliationReason,
    ReconciliationStatus,
    WebhookEvent,
)
from payments.services.transitions import payment_transition
from tests.assertions import balance
from tests.payments.builders.payments import vietqr_payment
from tests.payments.builders.webhooks import bank_memo, post_sepay, sepay_body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bank_feeds_configured")]

AMOUNT = 180_000
R = ReconciliationReason


def code_of(payment: Payment) -> str:
    assert payment.memo_code is not None
    return payment.memo_code


def transfer(
    amount: int, content: str, *, account: str | None = None, transaction_id: int | None = None
) -> int:
    """Deliver one incoming SePay transfer; returns its transaction id."""
    body = sepay_body(amount=amount, content=content, transaction_id=transaction_id)
    if account is not None:
        body["accountNumber"] = account
    assert post_sepay(Client(), body).status_code == 200
    return int(body["id"])


def assert_held_in_suspense(
    transaction_id: int,
    reason: str,
    amount: int,
    payment: Payment | None,
    *,
    reached: str = VIETQR_CLEARING,
) -> None:
    item = ReconciliationItem.objects.get(provider="sepay", transaction_id=str(transaction_id))
    assert (item.reason, item.amount, item.status) == (reason, amount, ReconciliationStatus.OPEN)
    assert item.payment_id == (payment.pk if payment else None)
    entry = JournalEntry.objects.get(posting_key=f"bank:sepay:{transaction_id}")
    lines = {(line.account.code, line.debit, line.credit) for line in entry.lines.all()}
    assert lines == {(reached, amount, 0), (SUSPENSE, 0, amount)}
    assert "KHOA" not in entry.memo  # the ledger memo never copies the bank memo
    event = WebhookEvent.objects.get(provider="sepay", event_id=str(transaction_id))
    assert event.outcome == f"reconciliation: {reason}"
    assert event.applied_at is not None


def nothing(payment: Payment) -> None:
    return None


def expire(payment: Payment) -> None:
    payment_transition(payment=payment, to=PaymentStatus.EXPIRED)


def qr_ran_out(payment: Payment) -> None:
    """The QR's time is up but the expiry job has not run yet: the payment is still pending."""
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(minutes=2))


def cancel(payment: Payment) -> None:
    payment_transition(payment=payment, to=PaymentStatus.CANCELED)


def memo(payment: Payment) -> str:
    return bank_memo(code_of(payment), payer="TRAN VAN KHOA")


# name: (how to set the payment up, the transfer's amount, its memo, the receiving account
# when not ours, whether the item names the payment)
CASES: dict[
    str, tuple[Callable[[Payment], None], int, Callable[[Payment], str], str | None, bool]
] = {
    "underpaid": (nothing, AMOUNT - 1_000, memo, None, True),
    "overpaid": (nothing, AMOUNT + 20_000, memo, None, True),
    "expired": (expire, AMOUNT, memo, None, True),
    "expired_not_yet_swept": (qr_ran_out, AMOUNT, memo, None, True),
    "not_pending": (cancel, AMOUNT, memo, None, True),
    "wrong_account": (nothing, AMOUNT, memo, "9704229999999", True),
    "no_code": (nothing, AMOUNT, lambda p: "chuyen tien vien phi TRAN VAN KHOA", None, False),
    "unknown_code": (nothing, AMOUNT, lambda p: bank_memo("VPZZZZZ"), None, False),
    "two_codes": (nothing, AMOUNT, lambda p: f"{code_of(p)} VPZZZZZ", None, False),
    "no_code_other_account": (nothing, AMOUNT, lambda p: "ung ho quy", "9704229999999", False),
}
REASONS = {
    "expired_not_yet_swept": R.EXPIRED,
    "two_codes": R.UNKNOWN_CODE,
    "no_code_other_account": R.NO_CODE,
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_transfer_that_cannot_complete_its_payment_is_held_in_suspense_with_its_reason(
    case: str,
):
    set_up, amount, memo_for, account, names_payment = CASES[case]
    payment = vietqr_payment(amount=AMOUNT)
    set_up(payment)
    status_before = Payment.objects.get(pk=payment.pk).status

    transaction_id = transfer(amount, memo_for(payment), account=account)

    reason = REASONS.get(case, case)
    # Money that reached another of the hospital's accounts is booked to that bank account,
    # not to the VietQR clearing account.
    reached = VIETQR_CLEARING if account is None else BANK
    assert_held_in_suspense(
        transaction_id, reason, amount, payment if names_payment else None, reached=reached
    )
    assert Payment.objects.get(pk=payment.pk).status == status_before
    assert not JournalEntry.objects.filter(source_id=payment.public_id).exists()


def test_a_second_transfer_for_a_qr_already_paid_is_held_as_not_pending():
    payment = vietqr_payment()
    transfer(AMOUNT, memo(payment))

    second = transfer(AMOUNT, memo(payment))

    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
    assert_held_in_suspense(second, R.NOT_PENDING, AMOUNT, payment)
    assert balance(VIETQR_CLEARING) == 2 * AMOUNT


def test_a_redelivered_unmatched_transfer_makes_one_item_and_one_suspense_entry():
    body = sepay_body(amount=75_000, content="ck khong co ma")
    client = Client()

    for _ in range(3):
        assert post_sepay(client, body).status_code == 200

    assert ReconciliationItem.objects.count() == 1
    assert JournalEntry.objects.filter(posting_key=f"bank:sepay:{body['id']}").count() == 1
    assert balance(SUSPENSE) == -75_000


def test_two_transfers_of_the_same_amount_pay_the_bills_their_codes_name():
    """Matched on the reference, not on the amount."""
    first, second = vietqr_payment(amount=AMOUNT), vietqr_payment(amount=AMOUNT)

    transfer(AMOUNT, bank_memo(code_of(second).lower()))

    assert Payment.objects.get(pk=first.pk).status == PaymentStatus.PENDING
    assert Payment.objects.get(pk=second.pk).status == PaymentStatus.SUCCEEDED

    transfer(AMOUNT, f"IBFT {code_of(first)} thanh toan")

    for payment in (first, second):
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.SUCCEEDED
        receivable = JournalLine.objects.get(
            entry__source_id=payment.public_id, account__code=PATIENT_RECEIVABLE
        )
        assert payment.invoice is not None
        assert receivable.reference == payment.invoice.ledger_reference
    assert not ReconciliationItem.objects.exists()


def test_the_bank_clearing_account_always_equals_the_money_that_came_in():
    paid, short = vietqr_payment(amount=300_000), vietqr_payment(amount=300_000)
    amounts = [300_000, 250_000, 99_000, 12_000]
    transfer(amounts[0], memo(paid))
    transfer(amounts[1], memo(short))  # underpaid
    transfer(amounts[2], "khong co ma")  # no code
    transfer(amounts[3], bank_memo("VPQQQQQ"))  # unknown code

    assert balance(VIETQR_CLEARING) == sum(amounts)
    held = sum(item.amount for item in ReconciliationItem.objects.all())
    assert held == sum(amounts[1:])
    assert balance(SUSPENSE) == -held
