"""Creating and cancelling payments, and asking the provider for the truth.

A payment is created in three steps, never holding a transaction across the network:

1. in one short transaction, under a lock on the invoice (or encounter), the server checks
   the amount against what is still payable (in-flight payments included) and commits a
   ``pending`` payment: concurrent payments can never together exceed what is due;
2. outside any transaction, the provider is called with an idempotency key derived from the
   payment, which is bound to the client's key (so a retry, or recovery after a crash, finds
   the same provider object);
3. in a new transaction, the provider's answer is recorded through the state machine.

A request whose executor died after step 1 is resumed, not repeated: when the idempotency
layer hands a stale key to a new executor, ``payment_create`` finds the payment the first one
committed and finishes it. A provider that refuses or cannot be reached in step 2 fails the
payment, so it reserves nothing and the client may retry with the same key.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.errors import CurrencyMismatch, EncounterClosed, InvalidAmount
from billing.models import Encounter, EncounterStatus, Invoice
from billing.money import positive_amount
from config.errors import DomainError
from payments.errors import IllegalTransition, MethodNotAllowed, NoCardReader, ProviderError
from payments.models import Payment, PaymentMethod, PaymentPurpose, PaymentStatus, Provider
from payments.providers import stripe as stripe_provider
from payments.providers.bank_feeds import new_memo_code
from payments.selectors.payments import payment_started_earlier, payments_qr_overdue
from payments.services.amounts import check_invoice_amount
from payments.services.audit import audit_payment
from payments.services.cashier.sessions import session_lock_open
from payments.services.transitions import payment_transition

PROVIDER_FOR_METHOD = {
    PaymentMethod.CARD: Provider.STRIPE,
    PaymentMethod.CARD_PRESENT: Provider.STRIPE,
    PaymentMethod.VIETQR: Provider.BANK_TRANSFER,
    PaymentMethod.CASH: Provider.CASH,
}
# Stripe's amount field has at most 8 digits (one card charge is at most 99,999,999 ₫).
STRIPE_MAX_AMOUNT = 99_999_999


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    purpose: str
    amount: int
    currency: str
    method: str
    channel: str
    idempotency_key: str
    invoice: Invoice | None = None
    encounter: Encounter | None = None
    card_reader_id: str = ""
    created_by_user: Any = None
    created_by_device: Any = None
    # Desk payments: the cashier's open session; cash: the notes handed over.
    cashier_session: Any = None
    tendered: int | None = None

    def recorded(self) -> dict[str, Any]:
        """What the payment records of its request; the same fields tell a repeat of it."""
        return {
            "purpose": self.purpose,
            "invoice": self.invoice,
            "encounter": self.encounter,
            "amount": self.amount,
            "currency": self.currency,
            "method": self.method,
            "channel": self.channel,
            "idempotency_key": self.idempotency_key,
            "created_by_user": self.created_by_user,
            "created_by_device": self.created_by_device,
        }


def payment_reserve(*, request: PaymentRequest) -> Payment:
    """Commit a ``pending`` payment after checking its amount under the invoice's (or the
    encounter's) row lock — and, for a desk payment, under its session's lock taken first,
    so a session closed meanwhile refuses it (``cashier_session_closed``)."""
    positive_amount(request.amount)
    if request.method in (PaymentMethod.CARD, PaymentMethod.CARD_PRESENT):
        if request.amount > STRIPE_MAX_AMOUNT:
            raise InvalidAmount(
                f"One card payment is at most {STRIPE_MAX_AMOUNT:,} VND; split the bill.",
                param="amount",
            )
        if request.method == PaymentMethod.CARD_PRESENT and not request.card_reader_id:
            raise NoCardReader(param="method")
    # A VietQR memo code is unique; should a new one collide (astronomically rare), the
    # whole reservation is tried again with another: no savepoint around the insert.
    for _ in range(5):
        try:
            return _reserve(request)
        except IntegrityError:
            if request.method != PaymentMethod.VIETQR:
                raise
    raise RuntimeError("could not allocate a unique memo code")  # pragma: no cover


@transaction.atomic
def _reserve(request: PaymentRequest) -> Payment:
    if request.cashier_session is not None:
        session_lock_open(session=request.cashier_session)
    if request.purpose == PaymentPurpose.INVOICE:
        assert request.invoice is not None
        invoice = Invoice.objects.select_for_update().get(pk=request.invoice.pk)
        check_invoice_amount(invoice=invoice, amount=request.amount, currency=request.currency)
    else:
        assert request.encounter is not None
        encounter = Encounter.objects.select_for_update().get(pk=request.encounter.pk)
        if encounter.status != EncounterStatus.OPEN:
            raise EncounterClosed("Advances are taken only for an open encounter.")
        if request.currency != settings.HOSPITAL_CURRENCY:
            raise CurrencyMismatch(
                f"Advances are taken in {settings.HOSPITAL_CURRENCY}.", param="currency"
            )
    payment = Payment(
        **request.recorded(),
        provider=PROVIDER_FOR_METHOD[PaymentMethod(request.method)],
        card_reader_id=request.card_reader_id,
        cashier_session=request.cashier_session,
    )
    if request.tendered is not None:
        payment.tendered = request.tendered
        payment.change_given = request.tendered - request.amount
    if request.method == PaymentMethod.VIETQR:
        payment.expires_at = timezone.now() + timedelta(minutes=settings.VIETQR_TTL_MINUTES)
        payment.memo_code = new_memo_code()
    payment.save()
    if request.method != PaymentMethod.CASH:  # cash records it once it succeeded
        audit_payment("payment.create", payment)
    return payment


def _provider_key(payment: Payment) -> str:
    return f"vienphi:{payment.public_id}"


def _fail(payment: Payment, error: DomainError) -> None:
    """The provider refused or could not be reached: the payment reserves nothing any more."""
    payment_transition(
        payment=payment,
        to=PaymentStatus.FAILED,
        failure_code=error.code,
        failure_message=error.message,
    )


def _start_card(payment: Payment) -> Payment:
    # Public ids only: Stripe's dashboard and receipts are outside the hospital.
    invoice = payment.invoice
    reference = f"invoice {invoice.public_id}" if invoice else f"deposit {payment.encounter_id}"
    try:
        intent = stripe_provider.create_intent(
            amount=payment.amount,
            currency=payment.currency,
            card_present=payment.method == PaymentMethod.CARD_PRESENT,
            metadata={"payment_id": payment.public_id, "for": reference},
            description=f"vienphi {payment.public_id}",
            idempotency_key=_provider_key(payment),
        )
    except DomainError as error:
        # Not configured, unreachable or refused. Should Stripe have made an intent all the
        # same, nobody can pay it: its client secret never left this server.
        _fail(payment, error)
        raise
    # Recorded even if what follows fails: recovery asks Stripe about this intent.
    Payment.objects.filter(pk=payment.pk).update(
        provider_reference=intent.id, client_secret=intent.client_secret
    )
    payment.provider_reference, payment.client_secret = intent.id, intent.client_secret
    if payment.method == PaymentMethod.CARD_PRESENT:
        try:
            stripe_provider.process_on_reader(
                reader_id=payment.card_reader_id,
                intent_id=intent.id,
                idempotency_key=_provider_key(payment),
            )
        except DomainError as error:
            _abandon_intent(payment, error)
            raise
        payment, _ = payment_transition(payment=payment, to=PaymentStatus.PROCESSING)
    return payment


def _abandon_intent(payment: Payment, error: DomainError) -> None:
    """The reader could not be asked to collect. Fail the payment only once its intent is
    canceled, so no card can be charged for a payment we call failed; if Stripe cannot
    cancel it either, the payment stays pending and a retry with the same key resumes it."""
    try:
        stripe_provider.cancel_intent(
            intent_id=payment.provider_reference, idempotency_key=_provider_key(payment)
        )
    except DomainError:
        return
    _fail(payment, error)


def payment_create(*, request: PaymentRequest) -> Payment:
    """Create a payment and start it on its rail. See the module docstring for the steps.

    * VietQR: ``pending`` with a unique memo code and an expiry; the bank-feed webhook
      completes it.
    * card (phone): ``pending`` with a client secret for Stripe Elements; the
      ``payment_intent.succeeded`` webhook completes it.
    * card_present (kiosk/desk reader): ``processing`` once the reader is asked to collect;
      the ``terminal.reader.action_*`` webhooks complete it.

    Called again for a request whose first execution died (the idempotency key was taken
    over), it finishes that execution's payment instead of reserving a second one."""
    if request.method == PaymentMethod.CASH:
        # Cash succeeds at once, in one transaction: payments.services.cashier.cash.
        raise MethodNotAllowed("Cash is taken by cash_payment_take.", param="method")
    payment = payment_started_earlier(request=request) or payment_reserve(request=request)
    if payment.provider == Provider.STRIPE and payment.status == PaymentStatus.PENDING:
        return _start_card(payment)  # Stripe replays what it already did under our key
    return payment


def payment_cancel(*, payment: Payment) -> Payment:
    """Cancel a payment that has not succeeded (the provider's intent too)."""
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
        raise IllegalTransition(
            f"A {payment.status} payment cannot be canceled.", detail={"status": payment.status}
        )
    if payment.provider == Provider.STRIPE and payment.provider_reference:
        if payment.method == PaymentMethod.CARD_PRESENT and payment.card_reader_id:
            # The reader first, so that it stops asking for a card; if it already took one,
            # canceling the intent below finds out.
            with contextlib.suppress(ProviderError):
                stripe_provider.cancel_reader_action(
                    reader_id=payment.card_reader_id, idempotency_key=_provider_key(payment)
                )
        try:
            intent = stripe_provider.cancel_intent(
                intent_id=payment.provider_reference, idempotency_key=_provider_key(payment)
            )
        except ProviderError:
            # Stripe refuses to cancel an intent that has succeeded: ask what it is now.
            intent = stripe_provider.retrieve_intent(intent_id=payment.provider_reference)
            if intent.status not in ("succeeded", "canceled"):
                raise
        if intent.status == "succeeded":  # it won the race: record the truth instead
            payment, _ = payment_transition(payment=payment, to=PaymentStatus.SUCCEEDED)
            raise IllegalTransition("The payment succeeded before it could be canceled.")
    with transaction.atomic():
        payment, canceled = payment_transition(payment=payment, to=PaymentStatus.CANCELED)
        if canceled:
            audit_payment("payment.cancel", payment)
    return payment


STRIPE_STATUS = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "processing": PaymentStatus.PROCESSING,
    "canceled": PaymentStatus.CANCELED,
}


def payment_sync_from_provider(*, payment: Payment) -> Payment:
    """Ask the provider for the truth about a payment stuck in flight (recovery)."""
    if payment.provider != Provider.STRIPE or not payment.provider_reference:
        return payment
    intent = stripe_provider.retrieve_intent(intent_id=payment.provider_reference)
    target = STRIPE_STATUS.get(intent.status)
    if target is None:
        return payment
    payment, _ = payment_transition(payment=payment, to=target)
    return payment


def payment_expire_due(*, now: Any = None) -> int:
    """Expire unpaid VietQR payments whose QR ran out more than
    ``VIETQR_EXPIRY_GRACE_MINUTES`` ago (beat). The grace lets a transfer made in time but
    reported late by the bank feed still settle its payment instead of going to
    reconciliation."""
    expired = 0
    for payment in payments_qr_overdue(now=now or timezone.now()):
        _, applied = payment_transition(payment=payment, to=PaymentStatus.EXPIRED)
        expired += applied
    return expired
