"""Money given back at the desk: approved refunds of cash and bank-transfer payments, and
advances left over at discharge (role ``REFUNDS_OWED``). Cash comes out of the cashier's open
session's drawer and never more than it holds."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from billing import ledger_memos as memos
from billing.chart import AccountRole, account_for
from billing.models import Encounter, VoucherType
from billing.money import Money, positive_amount
from billing.selectors.invoices import refund_owed
from billing.services.ledger import Posting, ledger_post
from config.audit.services import audit_change
from payments.errors import (
    AmountExceedsRefundOwed,
    CashierSessionRequired,
    InsufficientDrawerCash,
    InvalidRefund,
    NothingOwed,
    PayoutMethodNotAllowed,
    RefundAlreadyPaidOut,
    RefundStateConflict,
)
from payments.models import CashierSession, PayoutMethod, Refund, RefundOwedPayout, RefundStatus
from payments.selectors.cashier_figures import session_expected_cash
from payments.selectors.refunds import refund_payout_methods
from payments.services.audit import terminal_of
from payments.services.cashier.sessions import session_lock_open
from payments.services.refunds import POSITIVE_REFUND, refund_complete


def _drawer_has(session: CashierSession, amount: int) -> None:
    available = session_expected_cash(session=session)
    if amount > available:
        raise InsufficientDrawerCash(detail={"available": available, "amount": amount})


def refund_pay_out(
    *,
    refund: Refund,
    method: str,
    session: CashierSession | None,
    by: User,
    bank_reference: str = "",
) -> Refund:
    """Pay out an approved cash or bank-transfer refund (``pending_payout``).

    Cash: under the session's row lock, at most what the drawer holds; the reversing entry
    credits the drawer's account on the session's sub-ledger. Bank transfer: credits the
    bank account (role ``BANK``), recorded on the session if the cashier has one open, with
    the bank's reference of the transfer the hospital made (``bank_reference``, kept as the
    refund's ``provider_reference``; a giấy báo Nợ). The refund's
    row lock and state make exactly one payout win: any other, at the same time or later,
    is ``refund_already_paid_out`` (409), never a second ``succeeded`` that a desk could
    hand out cash on. An advance already applied at discharge is refused as before (the
    encounter's lock). Only a method ``refund_payout_methods`` lists (cash for a cash
    payment): another is ``payout_method_not_allowed`` (409). Locks, in order: the session,
    the refund, the payment."""
    with transaction.atomic():
        if method == PayoutMethod.CASH:
            if session is None:
                raise CashierSessionRequired(param="paid_by")
            session = session_lock_open(session=session)
        refund = Refund.objects.select_for_update(no_key=True).get(pk=refund.pk)
        if refund.status == RefundStatus.SUCCEEDED and refund.payout_method:
            raise RefundAlreadyPaidOut(
                detail={
                    "status": refund.status,
                    "payout_method": refund.payout_method,
                    "paid_out_at": refund.completed_at.isoformat() if refund.completed_at else None,
                }
            )
        if refund.status != RefundStatus.PENDING_PAYOUT:
            raise RefundStateConflict(detail={"status": refund.status})
        allowed = refund_payout_methods(refund=refund)
        if method not in allowed:
            raise PayoutMethodNotAllowed(param="paid_by", detail={"allowed": allowed})
        if session is not None and method == PayoutMethod.CASH:
            _drawer_has(session, refund.amount)
            account, reference = session.terminal.cash_account.code, session.ledger_reference
        else:
            account, reference = account_for(AccountRole.BANK), ""
        return refund_complete(
            refund=refund,
            provider_reference=bank_reference[:100] if method == PayoutMethod.BANK_TRANSFER else "",
            paid_out_by=by,
            credit_account=account,
            credit_reference=reference,
            cashier_session=session,
            payout_method=method,
            audit_action="refund.payout",
        )


def refund_owed_pay_out(
    *,
    encounter: Encounter,
    amount: int | None,
    method: str,
    session: CashierSession | None,
    by: User,
    idempotency_key: str,
    bank_reference: str = "",
) -> RefundOwedPayout:
    """Pay back (all or part of) the advance left over at discharge: cash from the session's
    drawer, or a bank transfer made by the hospital. Under the session's lock (cash) and
    the encounter's lock, never more than is still owed (``amount_exceeds_refund_owed``,
    402); one entry debiting refunds owed for the encounter. Idempotent per cashier and key."""
    if amount is not None:
        positive_amount(amount, error=InvalidRefund, message=POSITIVE_REFUND)
    with transaction.atomic():
        earlier = RefundOwedPayout.objects.filter(paid_by=by, idempotency_key=idempotency_key)
        if earlier.exists():
            return earlier.get()
        if method == PayoutMethod.CASH:
            if session is None:
                raise CashierSessionRequired(param="paid_by")
            session = session_lock_open(session=session)
        else:
            session = None
        encounter = Encounter.objects.select_for_update().get(pk=encounter.pk)
        owed = refund_owed(encounter=encounter)
        if owed <= 0:
            raise NothingOwed()
        amount = owed if amount is None else amount
        if amount > owed:
            raise AmountExceedsRefundOwed(param="amount", detail={"owed": owed})
        if session is not None:
            _drawer_has(session, amount)
        payout = RefundOwedPayout.objects.create(
            encounter=encounter,
            amount=amount,
            method=method,
            cashier_session=session,
            bank_reference=bank_reference[:100],
            paid_by=by,
            idempotency_key=idempotency_key,
        )
        money = Money(amount, payout.currency)
        credit = (
            Posting.cr(session.terminal.cash_account.code, money, session.ledger_reference)
            if session is not None
            else Posting.cr(account_for(AccountRole.BANK), money)
        )
        patient_code = encounter.patient.code
        ledger_post(
            posting_key=f"refund_owed_payout:{payout.public_id}",
            lines=[
                Posting.dr(
                    account_for(AccountRole.REFUNDS_OWED),
                    money,
                    encounter.ledger_reference,
                    counterparty=patient_code,
                ),
                credit,
            ],
            source_type="refund_owed_payout",
            source_id=payout.public_id,
            memo=memos.advance_paid_back(encounter.his_reference),
            voucher_type=VoucherType.CASH_PAYMENT
            if session is not None
            else VoucherType.BANK_DEBIT,
            voucher_number=payout.public_id,
            recorded_by=by.get_username(),
        )
        audit_change(
            "refund_owed.payout",
            payout,
            ("amount", "currency", "method", "encounter_id"),
            terminal=terminal_of(session),
        )
    return payout
