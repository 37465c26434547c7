"""The payment state machine: the only place that changes ``Payment.status``.

    pending → processing → succeeded → partially_refunded → refunded
        ↘         ↘→ failed | canceled
         → expired | failed | canceled | succeeded
    failed → succeeded (a card retried on the same PaymentIntent after a decline)

Success posts to the ledger exactly once (posting key ``payment:<id>:captured``): the
provider's clearing account (for cash, the session's drawer account) against the patient
receivable of the invoice, or — for an advance — against the deposit liability of the
encounter. An event that would move a payment backwards (``processing`` after
``succeeded``) is ignored, never applied.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from billing import ledger_memos as memos
from billing.chart import AccountRole, account_for
from billing.models import Invoice, VoucherType
from billing.money import Money
from billing.services.deposits import deposit_receive
from billing.services.invoices import invoice_refresh_status
from billing.services.ledger import Posting, ledger_post
from payments.errors import IllegalTransition
from payments.models import (
    CashierSession,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    Provider,
)
from payments.outbox import outbox_emit

logger = logging.getLogger(__name__)

S = PaymentStatus
ALLOWED: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PROCESSING, S.SUCCEEDED, S.FAILED, S.CANCELED, S.EXPIRED}),
    S.PROCESSING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.SUCCEEDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    # A declined card attempt is not the end at Stripe: the PaymentIntent goes back to
    # requires_payment_method and the patient may retry it. If it then succeeds the money is
    # real and must be recorded (whatever order the two webhooks arrive in).
    S.FAILED: frozenset({S.SUCCEEDED}),
    S.CANCELED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REFUNDED: frozenset(),
}
# How far along a payment is: an event for an earlier stage arrives late and is ignored.
STAGE: dict[str, int] = {
    S.PENDING: 0,
    S.PROCESSING: 1,
    S.SUCCEEDED: 2,
    S.FAILED: 2,
    S.CANCELED: 2,
    S.EXPIRED: 2,
    S.PARTIALLY_REFUNDED: 3,
    S.REFUNDED: 4,
}


def clearing_account(provider: Provider) -> str:
    """The account a rail's money lands in until settlement: the provider's clearing
    account; cash without a session, the main safe (a session's cash: its drawer)."""
    if provider == Provider.CASH:
        return account_for(AccountRole.MAIN_SAFE)
    return account_for(AccountRole.CLEARING, provider=CLEARING_PROVIDER[provider])


# The chart's clearing dimension of each rail.
CLEARING_PROVIDER = {Provider.STRIPE: "stripe", Provider.BANK_TRANSFER: "vietqr"}


def _debit_side(payment: Payment, debit_account: str | None) -> tuple[str, str]:
    """Where the money landed: cash in its session's drawer (the line carries the session's
    reference), anything else in its rail's clearing account."""
    if payment.provider == Provider.CASH:
        assert payment.cashier_session_id is not None  # a CHECK constraint: cash has one
        session = CashierSession.objects.select_related("terminal__cash_account").get(
            pk=payment.cashier_session_id
        )
        return session.terminal.cash_account.code, session.ledger_reference
    return debit_account or clearing_account(Provider(payment.provider)), ""


def _voucher_type(payment: Payment) -> str:
    """Cash at a desk is a cash receipt (phiếu thu); money through a bank or a card
    provider reaches the hospital's bank, a bank credit note (giấy báo Có)."""
    if payment.provider == Provider.CASH:
        return VoucherType.CASH_RECEIPT
    return VoucherType.BANK_CREDIT


def _post_capture(payment: Payment, debit_account: str | None) -> None:
    money = Money(payment.amount, payment.currency)
    debit_account, debit_reference = _debit_side(payment, debit_account)
    if payment.purpose == PaymentPurpose.DEPOSIT:
        assert payment.encounter is not None
        deposit_receive(
            encounter=payment.encounter,
            amount=money,
            debit_account=debit_account,
            debit_reference=debit_reference,
            received_by=f"payment:{payment.public_id}",
            source_type="payment",
            source_id=payment.public_id,
            voucher_type=_voucher_type(payment),
        )
        return
    assert payment.invoice_id is not None
    invoice = (
        Invoice.objects.select_for_update().select_related("patient").get(pk=payment.invoice_id)
    )
    ledger_post(
        posting_key=payment.captured_posting_key,
        lines=[
            Posting.dr(debit_account, money, debit_reference),
            Posting.cr(
                account_for(AccountRole.PATIENT_RECEIVABLE),
                money,
                invoice.ledger_reference,
                counterparty=invoice.patient.code,
            ),
        ],
        source_type="payment",
        source_id=payment.public_id,
        memo=memos.payment_received(invoice.display_number, payment.method),
        voucher_type=_voucher_type(payment),
        voucher_number=payment.public_id,
    )
    invoice_refresh_status(invoice=invoice)


def payment_transition(
    *,
    payment: Payment,
    to: str,
    event_at: datetime | None = None,
    failure_code: str = "",
    failure_message: str = "",
    debit_account: str | None = None,
    locked: bool = False,
) -> tuple[Payment, bool]:
    """Move ``payment`` to ``to`` under a row lock. Returns (payment, applied).

    Repeating the current status is a no-op; a move to an earlier stage (a late or
    duplicate event) is ignored; any other move the machine does not allow raises
    :class:`IllegalTransition`.

    ``locked``: the caller read ``payment`` with ``SELECT … FOR UPDATE`` in its own
    transaction and lets any exception end it; the row is not read again and no savepoint
    is made."""
    with transaction.atomic(savepoint=not locked):
        if not locked:
            # NO KEY UPDATE: exclusive among lockers, and no wait for rows that merely
            # reference the payment (refunds, receipts) being committed by others.
            payment = Payment.objects.select_for_update(no_key=True).get(pk=payment.pk)
        current = payment.status
        if to == current and to != S.PARTIALLY_REFUNDED:
            return payment, False
        if to not in ALLOWED[current]:
            if STAGE[to] <= STAGE[current]:
                logger.info("payment %s: ignored %s -> %s (stale)", payment.pk, current, to)
                return payment, False
            raise IllegalTransition(
                f"A {current} payment cannot become {to}.",
                detail={"status": current, "requested": to},
            )
        payment.status = to
        fields = ["status", "updated_at"]
        if event_at is not None:
            payment.provider_event_at = max(filter(None, [payment.provider_event_at, event_at]))
            fields.append("provider_event_at")
        if to == S.SUCCEEDED:
            payment.succeeded_at = timezone.now()
            fields.append("succeeded_at")
            _post_capture(payment, debit_account)
            outbox_emit(
                topic="payment.succeeded",
                payload={"payment_id": payment.pk},
                dedupe_key=f"payment:{payment.pk}:succeeded",
            )
        if to in (S.FAILED, S.CANCELED, S.EXPIRED) and (failure_code or failure_message):
            payment.failure_code = failure_code[:64]
            payment.failure_message = failure_message[:300]
            fields += ["failure_code", "failure_message"]
        payment.save(update_fields=fields)
        return payment, True
