"""The blind close, the supervisor's approval of a large variance, and the handover.

The cashier sends only the count by denomination; the expected cash is computed afterwards,
under the session's row lock, and only then revealed. A count that differs from what is
expected is always accepted: the variance is posted to the cash shortage or overage account
and, above ``CASHIER_VARIANCE_APPROVAL_THRESHOLD``, waits for a supervisor other than the cashier.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billing import ledger_memos as memos
from billing.chart import AccountRole, account_for
from billing.models import VoucherType
from billing.money import Money
from billing.services.ledger import Posting
from config.audit.models import AuditCategory
from config.identity.models import Role
from config.identity.selectors import staff_roles
from payments.errors import (
    ApprovalByCashier,
    CashierHasOpenSession,
    HandoverReceiverInvalid,
    HandoverToSelf,
    NotHandoverReceiver,
    SessionAlreadyClosed,
    SessionHandoverPending,
    SessionNotHandedOver,
    SessionNotPendingApproval,
    SessionPaymentsInFlight,
    SessionTransfersPending,
)
from payments.models import CashierSession, CashierSessionStatus
from payments.selectors.cashier_figures import (
    CLOSING_SOURCE,
    session_expected_cash,
    transfer_ids_pending,
)
from payments.selectors.payments import payment_ids_in_flight
from payments.services.audit import audit_session
from payments.services.cashier.counts import count_normalize
from payments.services.cashier.sessions import session_check_owner, session_create
from payments.services.cashier.vouchers import cash_voucher_post

S = CashierSessionStatus


def _lock(session: CashierSession) -> CashierSession:
    return (
        CashierSession.objects.select_for_update(of=("self",))
        .select_related("terminal", "terminal__cash_account")
        .get(pk=session.pk)
    )


def _refuse_unless_open(session: CashierSession) -> None:
    if session.status in (S.CLOSED, S.PENDING_APPROVAL):
        raise SessionAlreadyClosed(detail={"status": session.status})
    if session.status == S.HANDOVER_PENDING:
        raise SessionHandoverPending()
    in_flight = payment_ids_in_flight(cashier_session=session)
    if in_flight:
        raise SessionPaymentsInFlight(detail={"payments": in_flight})
    # Cash in transit is in neither drawer: it is counted in (or canceled) first, or the
    # shortage of a transfer never counted could land on a colleague.
    pending = transfer_ids_pending(session=session)
    if pending:
        raise SessionTransfersPending(detail={"transfers": pending})


def _post(session: CashierSession, suffix: str, lines: list[Posting], memo: str, **v: Any) -> None:
    """One entry of the session, filed under ``v["voucher_type"]`` numbered by the session."""
    key, source = f"cashier_session:{session.pk}:{suffix}", (CLOSING_SOURCE, session.public_id)
    cash_voucher_post(key, source, lines, memo, **v)


def _record_count(
    session: CashierSession, count: dict[str, int], counted: int, counted_by: User
) -> CashierSession:
    """Compute the expected cash, store the count and the variance, post the variance to
    over/short, and close the session (or leave it pending approval)."""
    expected = session_expected_cash(session=session)
    variance = counted - expected
    drawer, reference = session.terminal.cash_account.code, session.ledger_reference
    if variance:
        money = Money(abs(variance), session.currency)
        over, short = account_for(AccountRole.CASH_OVERAGE), account_for(AccountRole.CASH_SHORTAGE)
        lines = (
            [Posting.dr(drawer, money, reference), Posting.cr(over, money, reference)]
            if variance > 0
            else [Posting.dr(short, money, reference), Posting.cr(drawer, money, reference)]
        )
        # Cash found over comes into the drawer (phiếu thu); cash short leaves it (phiếu chi).
        _post(
            session,
            "variance",
            lines,
            memos.close_variance(session.public_id, over=variance > 0),
            voucher_type=VoucherType.CASH_RECEIPT if variance > 0 else VoucherType.CASH_PAYMENT,
            by=counted_by,
        )
    now = timezone.now()
    needs_approval = abs(variance) > settings.CASHIER_VARIANCE_APPROVAL_THRESHOLD
    session.closing_count = count
    session.counted_cash = counted
    session.expected_cash = expected
    session.variance = variance
    session.counted_by = counted_by
    session.counted_at = now
    session.status = S.PENDING_APPROVAL if needs_approval else S.CLOSED
    session.closed_at = None if needs_approval else now
    session.save()
    return session


def session_close(*, session: CashierSession, count: Any, closed_by: User) -> CashierSession:
    """Blind close: record the counted cash, then compute expected and variance, post the
    variance (shortage or overage) and put the counted cash back in the main safe, leaving the
    session's drawer sub-ledger at 0. Under the session's row lock: a payment in flight
    either committed before (and is in the totals) or is refused after.

    Refused: a second close (``session_already_closed``), a session being handed over, a
    desk payment still in flight, a cash transfer out or in still pending, a bad count —
    each before anything is written."""
    count, counted = count_normalize(count=count)
    with transaction.atomic():
        session = _lock(session)
        session_check_owner(session=session, user=closed_by)
        _refuse_unless_open(session)
        session = _record_count(session, count, counted, closed_by)
        if counted:
            money = Money(counted, session.currency)
            drawer = session.terminal.cash_account.code
            _post(
                session,
                "to-safe",
                [
                    Posting.dr(account_for(AccountRole.MAIN_SAFE), money),
                    Posting.cr(drawer, money, session.ledger_reference),
                ],
                memos.close_to_safe(session.public_id),
                voucher_type=VoucherType.CASH_RECEIPT,  # received into the main safe
                by=closed_by,
            )
        audit_session("cashier_session.close", session)
    return session


def session_approve_close(*, session: CashierSession, approved_by: User) -> CashierSession:
    """A supervisor other than the session's cashier (and than whoever counted it) signs
    off a large variance."""
    with transaction.atomic():
        session = _lock(session)
        if session.status != S.PENDING_APPROVAL:
            raise SessionNotPendingApproval(detail={"status": session.status})
        if approved_by.pk in (session.cashier_id, session.counted_by_id):
            raise ApprovalByCashier()
        session.status = S.CLOSED
        session.approved_by = approved_by
        session.approved_at = session.closed_at = timezone.now()
        session.save(update_fields=["status", "approved_by", "approved_at", "closed_at"])
        audit_session("cashier_session.approve_close", session, category=AuditCategory.APPROVAL)
    return session


def session_handover(
    *, session: CashierSession, receiver: User, count: Any, by: User
) -> CashierSession:
    """The giving cashier counts the drawer for the next cashier (``receiver``); the session
    takes no more cash and waits for the receiver to verify the count."""
    count, counted = count_normalize(count=count)
    if receiver.pk == by.pk or receiver.pk == session.cashier_id:
        raise HandoverToSelf(param="to")
    if not receiver.is_active or Role.CASHIER not in staff_roles(receiver):
        raise HandoverReceiverInvalid(param="to")
    with transaction.atomic():
        session = _lock(session)
        session_check_owner(session=session, user=by)
        _refuse_unless_open(session)
        if CashierSession.objects.filter(
            cashier=receiver, status__in=(S.OPEN, S.HANDOVER_PENDING)
        ).exists():
            raise CashierHasOpenSession("The receiver already has an open session.", param="to")
        session.status = S.HANDOVER_PENDING
        session.handover_receiver = receiver
        session.handover_count = count
        session.handover_counted_cash = counted
        session.save(
            update_fields=[
                "status",
                "handover_receiver",
                "handover_count",
                "handover_counted_cash",
            ]
        )
        audit_session("cashier_session.handover", session)
    return session


def session_handover_accept(
    *, session: CashierSession, count: Any, receiver: User
) -> tuple[CashierSession, CashierSession]:
    """The receiver verifies the count. The giving session closes on the verified count (a
    difference from its expected cash is its variance, posted to shortage or overage); the
    receiver's session opens on the same terminal with the verified count as its float, moved from
    the giving session's drawer sub-ledger to the new one. Returns (giving, receiving)."""
    count, verified = count_normalize(count=count)
    with transaction.atomic():
        session = _lock(session)
        if session.status != S.HANDOVER_PENDING:
            raise SessionNotHandedOver(detail={"status": session.status})
        if session.handover_receiver_id != receiver.pk:
            raise NotHandoverReceiver()
        session = _record_count(session, count, verified, receiver)
        received = session_create(
            terminal=session.terminal,
            cashier=receiver,
            opening_count=count,
            opening_float=verified,
            handed_over_from=session,
        )
        if verified:
            money = Money(verified, session.currency)
            drawer = session.terminal.cash_account.code
            _post(
                session,
                "handover",
                [
                    Posting.dr(drawer, money, received.ledger_reference),
                    Posting.cr(drawer, money, session.ledger_reference),
                ],
                memos.drawer_handover(session.public_id, received.public_id),
                voucher_type=VoucherType.OTHER,  # the cash stays in the drawer's account
                by=receiver,
            )
        audit_session("cashier_session.handover_accept", session)
    return session, received
