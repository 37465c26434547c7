"""Refunds: full or partial, by the payment's own rail, never more than was captured.

* Requesting takes the payment row lock and counts every refund not rejected or failed,
  so concurrent partial refunds can never add up to more than the payment (and the
  ``payment_refunds_within_amount`` CHECK constraint backs it up). A request repeated with
  the same requester and key (after a lost provider answer) resumes the refund it made.
* A refund that brings the payment's refunds in total above ``REFUND_APPROVAL_THRESHOLD``
  (or the requester's refunds of the day without approval above
  ``REFUND_CASHIER_DAILY_LIMIT``) waits for a supervisor other than the requester.
* A card refund is sent to Stripe with the refund's own idempotency key, outside any
  transaction; a bank-transfer or cash refund waits for the desk to pay it out.
* An advance is refunded only while it is still held for the encounter (checked under the
  encounter's lock on request, approval and desk payout): once discharge has applied it to
  the invoices, it is not given back twice.
* Completion posts the reversing entry (the receivable of the invoice, or the advance held
  for the encounter, against the rail's clearing account) and moves the payment to
  ``partially_refunded`` or ``refunded``.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billing import ledger_memos as memos
from billing.chart import AccountRole, account_for
from billing.models import Encounter, Invoice, VoucherType
from billing.money import Money, positive_amount
from billing.public_ids import mint_public_id
from billing.selectors.invoices import deposit_balance
from billing.services.invoices import invoice_refresh_status
from billing.services.ledger import Posting, ledger_post
from config.audit.models import AuditCategory, AuditOutcome
from config.errors import DomainError
from config.identity.models import Role
from config.identity.selectors import staff_roles
from payments.errors import (
    IdempotencyKeyReused,
    InvalidRefund,
    ProviderError,
    ProviderRefused,
    RefundCancelNotAllowed,
    RefundExceedsCaptured,
    RefundNotAllowed,
    RefundStateConflict,
    SelfApproval,
)
from payments.models import (
    CashierSession,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    PayoutMethod,
    Provider,
    Refund,
    RefundReason,
    RefundStatus,
)
from payments.outbox import outbox_emit
from payments.providers import stripe as stripe_provider
from payments.selectors.refunds import (
    REFUNDABLE_STATUSES,
    payment_refundable_amount,
    refund_held_amount,
    refunds_stuck_approved,
    refunds_unapproved_today,
)
from payments.services.audit import audit_refund
from payments.services.transitions import clearing_account, payment_transition

logger = logging.getLogger(__name__)


POSITIVE_REFUND = "The amount must be a positive whole number."


_ADVANCE_APPLIED = "The advance has already been applied to invoices."


def _advance_applied(payment: Payment, amount: int) -> bool:
    """Whether ``amount`` is more than is still held for the advance's encounter."""
    if payment.purpose != PaymentPurpose.DEPOSIT:
        return False
    assert payment.encounter is not None
    return amount > deposit_balance(encounter=payment.encounter)


def _check_advance_held(payment: Payment, amount: int) -> None:
    """For an advance, refuse a refund larger than what is still held for the encounter
    (discharge applies advances to the invoices). Locks the encounter, as discharge does."""
    if payment.purpose != PaymentPurpose.DEPOSIT:
        return
    assert payment.encounter_id is not None
    Encounter.objects.select_for_update().filter(pk=payment.encounter_id).first()
    if _advance_applied(payment, amount):
        raise RefundExceedsCaptured(_ADVANCE_APPLIED, param="amount")


def _resume(refund: Refund, amount: int | None, reason: str) -> Refund:
    if (amount is not None and amount != refund.amount) or reason != refund.reason:
        raise IdempotencyKeyReused(param="Idempotency-Key")
    return refund


def refund_request(
    *,
    payment: Payment,
    amount: int | None,
    reason: str,
    note: str = "",
    requested_by: User,
    idempotency_key: str,
    cashier_session: CashierSession | None = None,
) -> Refund:
    """Record a refund request; process it at once when no approval is needed.

    ``cashier_session``: the requester's open desk session, if any (a card refund is
    counted in that session's report; a desk payout records the paying session instead).

    ``amount=None`` refunds all that is still refundable. Takes the payment row lock (and,
    for an advance, the encounter's). Idempotent per requester and key: a retry after the
    provider's answer was lost finishes the same refund (same provider key), never a second."""
    if amount is not None:
        positive_amount(amount, error=InvalidRefund, message=POSITIVE_REFUND)
    if reason not in RefundReason.values:
        raise InvalidRefund(
            f"reason must be one of {', '.join(RefundReason.values)}.", param="reason"
        )
    with transaction.atomic():
        payment = Payment.objects.select_for_update(no_key=True).get(pk=payment.pk)
        earlier = Refund.objects.filter(
            payment=payment, requested_by=requested_by, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            refund = _resume(earlier, amount, reason)
        else:
            refund = _refund_create(payment, amount, reason, note, requested_by, idempotency_key)
            if cashier_session is not None:
                refund.cashier_session = cashier_session
                refund.save(update_fields=["cashier_session"])
            audit_refund("refund.request", refund)
    if refund.status == RefundStatus.APPROVED:
        return refund_process(refund=refund)
    return refund


def _refund_create(
    payment: Payment,
    amount: int | None,
    reason: str,
    note: str,
    requested_by: User,
    idempotency_key: str,
) -> Refund:
    if payment.status not in REFUNDABLE_STATUSES:
        raise RefundNotAllowed(detail={"status": payment.status})
    if payment.purpose == PaymentPurpose.DEPOSIT:
        # What is still held for the encounter is read under its lock, as discharge takes it.
        assert payment.encounter_id is not None  # an advance is paid on an encounter
        Encounter.objects.select_for_update().filter(pk=payment.encounter_id).first()
    refundable = payment_refundable_amount(payment=payment)
    if amount is None:
        amount = refundable
    if amount > refundable or amount <= 0:
        raise RefundExceedsCaptured(
            _ADVANCE_APPLIED if _advance_applied(payment, amount) else None,
            param="amount",
            detail={"refundable": refundable},
        )
    needs_approval = _needs_approval(payment, amount, requested_by)
    return Refund.objects.create(
        public_id=mint_public_id(prefix="re_"),
        payment=payment,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        note=note[:300],
        status=RefundStatus.REQUESTED if needs_approval else RefundStatus.APPROVED,
        idempotency_key=idempotency_key,
        requested_by=requested_by,
    )


def _needs_approval(payment: Payment, amount: int, requested_by: User) -> bool:
    """Whether a refund of ``amount`` waits for a supervisor. Called under the payment's row
    lock, so two requests at once see each other: the threshold holds for all the payment's
    refunds together (requested ones included), not for each, so splitting never avoids it.
    The per-cashier daily limit counts what the requester refunded today without a
    supervisor; the requester's user row is locked (FOR NO KEY UPDATE) so their refunds of
    different payments at once are counted one after the other."""
    total = refund_held_amount(payment=payment) + amount
    if total > settings.REFUND_APPROVAL_THRESHOLD:
        return True
    limit = settings.REFUND_CASHIER_DAILY_LIMIT
    if limit <= 0:
        return False
    User.objects.select_for_update(no_key=True).filter(pk=requested_by.pk).first()
    return refunds_unapproved_today(requester=requested_by) + amount > limit


def refund_decide(*, refund: Refund, approve: bool, decided_by: User) -> Refund:
    """A supervisor approves (and so processes) or rejects a requested refund.

    Approving again a refund left ``approved`` (its provider call failed) sends it again,
    with the same provider key, so it is refunded at most once."""
    with transaction.atomic():
        refund = (
            Refund.objects.select_for_update(no_key=True, of=("self",))
            .select_related("payment")
            .get(pk=refund.pk)
        )
        # An approved refund whose provider call failed: approving again only resends it.
        resend = approve and refund.status == RefundStatus.APPROVED
        if refund.status != RefundStatus.REQUESTED and not resend:
            raise RefundStateConflict(detail={"status": refund.status})
        if refund.requested_by_id == decided_by.pk:
            raise SelfApproval()
        if not resend:
            if approve:
                _check_advance_held(refund.payment, refund.amount)
            refund.status = RefundStatus.APPROVED if approve else RefundStatus.REJECTED
            refund.decided_by = decided_by
            refund.decided_at = timezone.now()
            refund.save(update_fields=["status", "decided_by", "decided_at"])
            audit_refund(
                "refund.approve" if approve else "refund.reject",
                refund,
                category=AuditCategory.APPROVAL,
            )
    return refund_process(refund=refund) if approve else refund


def refund_process(*, refund: Refund) -> Refund:
    """Send an approved refund down its rail (no lock is held during the provider call)."""
    payment = refund.payment
    if refund.status != RefundStatus.APPROVED:
        return refund
    if payment.provider != Provider.STRIPE:
        Refund.objects.filter(pk=refund.pk, status=RefundStatus.APPROVED).update(
            status=RefundStatus.PENDING_PAYOUT
        )
        refund.refresh_from_db()
        return refund
    try:
        reference = stripe_provider.create_refund(
            intent_id=payment.provider_reference,
            amount=refund.amount,
            idempotency_key=f"vienphi:{refund.public_id}",
        )
    except ProviderRefused as exc:
        # Refused for good: the refund fails and stops holding its amount.
        with transaction.atomic():
            failed = Refund.objects.filter(pk=refund.pk, status=RefundStatus.APPROVED).update(
                status=RefundStatus.FAILED,
                note=f"Stripe refused: {(exc.detail or {}).get('code') or exc.message}"[:300],
                completed_at=timezone.now(),
            )
            if failed:
                refund.refresh_from_db()
                audit_refund("refund.complete", refund, outcome=AuditOutcome.FAILED)
        raise
    except ProviderError:
        # A transient failure: left approved, a retry sends it again with the same key.
        raise
    return refund_complete(refund=refund, provider_reference=reference)


def refund_complete(
    *,
    refund: Refund,
    provider_reference: str = "",
    paid_out_by: User | None = None,
    credit_account: str | None = None,
    credit_reference: str = "",
    cashier_session: CashierSession | None = None,
    payout_method: str = "",
    audit_action: str = "refund.complete",
) -> Refund:
    """Record that the money went back: post the reversing entry and update the payment.

    For a desk payout, ``credit_account`` is where the money left from (a drawer's cash
    account on ``credit_reference``, the session's sub-ledger, or the bank account for a
    transfer back); the refund records the session and the payout method. The audit row
    (``audit_action``) is the transaction's last write."""
    with transaction.atomic():
        # FOR NO KEY UPDATE (here and on the payment): exclusive among lockers, yet no wait
        # for a transaction committing a row that references these (a receipt's foreign
        # keys take KEY SHARE at commit) — FOR UPDATE there deadlocked with receipt issuing.
        refund = (
            Refund.objects.select_for_update(no_key=True, of=("self",))
            .select_related("payment")
            .get(pk=refund.pk)
        )
        if refund.status == RefundStatus.SUCCEEDED:
            return refund
        if refund.status not in (RefundStatus.APPROVED, RefundStatus.PENDING_PAYOUT):
            raise RefundStateConflict(detail={"status": refund.status})
        payment = Payment.objects.select_for_update(no_key=True).get(pk=refund.payment_id)
        if payment.provider != Provider.STRIPE:  # the desk has not given the money yet
            _check_advance_held(payment, refund.amount)
        money = Money(refund.amount, refund.currency)
        credit = credit_account or clearing_account(Provider(payment.provider))
        owner = payment.encounter if payment.purpose == PaymentPurpose.DEPOSIT else payment.invoice
        patient_code = owner.patient.code if owner is not None else ""
        if payment.purpose == PaymentPurpose.DEPOSIT:
            assert payment.encounter is not None
            debit = Posting.dr(
                account_for(AccountRole.PATIENT_ADVANCES),
                money,
                payment.encounter.ledger_reference,
                counterparty=patient_code,
            )
        else:
            assert payment.invoice_id is not None
            debit = Posting.dr(
                account_for(AccountRole.PATIENT_RECEIVABLE),
                money,
                f"invoice:{payment.invoice_id}",
                counterparty=patient_code,
            )
        ledger_post(
            posting_key=f"refund:{refund.public_id}",
            lines=[debit, Posting.cr(credit, money, credit_reference)],
            source_type="refund",
            source_id=refund.public_id,
            memo=memos.refund_paid(refund.public_id, payment.public_id, refund.reason),
            # Cash handed back at a desk is a cash payment voucher; anything else (a bank
            # transfer recorded at a desk too) leaves through the bank or the card provider
            # (giấy báo Nợ).
            voucher_type=VoucherType.CASH_PAYMENT
            if cashier_session is not None and payout_method == PayoutMethod.CASH
            else VoucherType.BANK_DEBIT,
            voucher_number=refund.public_id,
            recorded_by=paid_out_by.get_username() if paid_out_by is not None else "",
        )
        refund.status = RefundStatus.SUCCEEDED
        refund.provider_reference = provider_reference or refund.provider_reference
        refund.completed_at = timezone.now()
        refund.paid_out_by = paid_out_by
        refund.cashier_session = cashier_session or refund.cashier_session
        refund.payout_method = payout_method
        refund.save(
            update_fields=[
                "status",
                "provider_reference",
                "completed_at",
                "paid_out_by",
                "cashier_session",
                "payout_method",
            ]
        )
        payment.amount_refunded += refund.amount
        payment.save(update_fields=["amount_refunded"])
        fully = payment.amount_refunded == payment.amount
        payment_transition(
            payment=payment,
            to=PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED,
        )
        if payment.invoice_id is not None:
            invoice_refresh_status(invoice=Invoice.objects.get(pk=payment.invoice_id))
        outbox_emit(
            topic="refund.succeeded",
            payload={"refund_id": refund.pk, "payment_id": payment.pk},
            dedupe_key=f"refund:{refund.pk}:succeeded",
        )
        audit_refund(audit_action, refund)
    return refund


def refunds_resend_approved(*, older_than_minutes: int = 5, limit: int = 100) -> int:
    """Send again card refunds left ``approved`` because Stripe could not be reached (beat).
    The refund's own idempotency key makes a resend of one Stripe already made harmless.
    Returns how many completed."""
    completed = 0
    for refund in refunds_stuck_approved(older_than_minutes=older_than_minutes, limit=limit):
        try:
            refund = refund_process(refund=refund)
        except DomainError as exc:
            logger.warning("refund %s: not sent again (%s)", refund.pk, exc.code)
            continue
        completed += refund.status == RefundStatus.SUCCEEDED
    return completed


def refund_cancel(*, refund: Refund, by: User) -> Refund:
    """Cancel a refund still waiting for approval or for its desk payout: it moves no money
    and stops holding its amount. Only its requester or a supervisor may cancel it."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update(no_key=True).get(pk=refund.pk)
        if refund.status not in (RefundStatus.REQUESTED, RefundStatus.PENDING_PAYOUT):
            raise RefundStateConflict(detail={"status": refund.status})
        if refund.requested_by_id != by.pk and Role.SUPERVISOR not in staff_roles(by):
            raise RefundCancelNotAllowed()
        refund.status = RefundStatus.CANCELED
        refund.canceled_by = by
        refund.completed_at = timezone.now()
        refund.save(update_fields=["status", "canceled_by", "completed_at"])
        audit_refund("refund.cancel", refund)
    return refund
