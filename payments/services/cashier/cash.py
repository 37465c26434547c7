"""Cash at the desk: taken with change, inside the cashier's open session, in one go."""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.db import transaction

from billing.money import positive_amount
from payments.errors import CashierSessionRequired, TenderedBelowAmount, TenderedTooLarge
from payments.models import Payment, PaymentMethod, PaymentStatus
from payments.selectors.payments import payment_started_earlier
from payments.services.audit import audit_payment
from payments.services.cashier.sessions import session_lock_open
from payments.services.payments import PaymentRequest, payment_reserve
from payments.services.transitions import payment_transition


def cash_payment_take(*, request: PaymentRequest) -> Payment:
    """Take a cash payment (an invoice or an advance) into the session's drawer.

    ``tendered`` is what the patient handed over (≥ amount); the server computes and stores
    the change. Under the session's row lock (then the invoice's or encounter's) the amount
    is checked, the payment is created and succeeds in the same transaction: it posts the
    drawer's cash against the invoice receivable or the advance liability once (posting key
    ``payment:<id>:captured`` / the deposit's) and writes the ``payment.succeeded`` outbox
    row, through the state machine like every rail. A request repeated after a crash finds
    the payment it made instead of taking the cash twice."""
    if request.method != PaymentMethod.CASH or request.cashier_session is None:
        raise CashierSessionRequired(param="method")
    tendered = positive_amount(
        request.tendered,
        param="tendered",
        message="tendered is the cash handed over, in whole VND.",
    )
    if type(request.amount) is int and tendered < request.amount:
        raise TenderedBelowAmount(detail={"amount": request.amount, "tendered": tendered})
    # Nobody hands over more than the amount plus a stack of the largest notes: anything
    # above is a typing error that would put absurd cash into the drawer's figures.
    if type(request.amount) is int:
        most = request.amount + settings.CASH_TENDERED_MAX_OVER_AMOUNT
        if tendered > most:
            raise TenderedTooLarge(
                param="tendered",
                detail={"amount": request.amount, "tendered": tendered, "max": most},
            )
    with transaction.atomic():
        session = session_lock_open(session=request.cashier_session)
        request = replace(request, cashier_session=session)
        payment = payment_started_earlier(request=request) or payment_reserve(request=request)
        if payment.status == PaymentStatus.PENDING:
            payment, _ = payment_transition(payment=payment, to=PaymentStatus.SUCCEEDED)
            audit_payment("payment.create", payment)
    return payment
