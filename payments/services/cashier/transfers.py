"""Cash moved between drawers, or between a drawer and the main safe, two-sided like a
handover: nobody can move cash out of their drawer without someone counting it in.

* Sending posts the cash out of the giving side into cash in transit (role ``CASH_TRANSFER``, on the
  transfer's own reference): it counts in neither drawer's expected cash.
* The receiver confirms the amount counted: the receiving drawer's cashier, or for the safe a
  supervisor who neither sent it nor gave it. The counted amount goes into the receiving
  side; a difference from what was sent goes back to the giving side, so the giver's count
  at the close shows it as their variance instead of a colleague's.
* While pending, the giver (or a supervisor) may cancel it: the cash is back in the giving
  drawer.
* A session with a transfer pending, out or in, cannot be closed or handed over (the close
  service refuses it).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billing import ledger_memos as memos
from billing.chart import AccountRole, account_for
from billing.models import VoucherType
from billing.money import Money, positive_amount
from billing.services.ledger import Posting
from config.audit.models import AuditCategory
from config.identity.models import Role
from config.identity.selectors import staff_roles
from payments.errors import (
    CashTransferStateConflict,
    InsufficientDrawerCash,
    InvalidTransfer,
    NotTransferReceiver,
    NotYourSession,
)
from payments.models import CashierSession, CashTransfer, CashTransferStatus
from payments.selectors.cashier_figures import session_expected_cash
from payments.services.audit import audit_transfer
from payments.services.cashier.sessions import session_lock_open
from payments.services.cashier.vouchers import cash_voucher_post


def _side(session: CashierSession | None) -> tuple[str, str]:
    if session is None:
        return account_for(AccountRole.MAIN_SAFE), ""
    return session.terminal.cash_account.code, session.ledger_reference


def _in_transit(transfer: CashTransfer) -> tuple[str, str]:
    return account_for(AccountRole.CASH_TRANSFER), f"cash_transfer:{transfer.pk}"


def _is_supervisor(user: User) -> bool:
    return Role.SUPERVISOR in staff_roles(user)


def _lock_sessions(*sessions: CashierSession | None) -> dict[int, CashierSession]:
    """Lock the open sessions named (in id order, so two transfers cannot deadlock)."""
    present = sorted((s for s in sessions if s is not None), key=lambda s: s.pk)
    return {s.pk: session_lock_open(session=s) for s in present}


def _post(transfer: CashTransfer, suffix: str, lines: list[Posting], memo: str, **v: Any) -> None:
    """One entry of the transfer, numbered by it: cash leaving a drawer or the safe is a
    phiếu chi, cash counted in a phiếu thu (``v["voucher_type"]``)."""
    key, source = f"cash_transfer:{transfer.pk}:{suffix}", ("cash_transfer", transfer.public_id)
    cash_voucher_post(key, source, lines, memo, **v)


def cash_transfer_create(
    *,
    from_session: CashierSession | None,
    to_session: CashierSession | None,
    amount: int,
    by: User,
    note: str = "",
) -> CashTransfer:
    """Send ``amount`` from one drawer (or the safe, ``None``) to another drawer (or the
    safe); it stays ``pending`` (in transit) until the receiver confirms the count.
    Both sessions are locked (in id order) and must be open; the giving drawer may not go
    below zero (``insufficient_drawer_cash``, 402). A cashier moves cash only out of their
    own drawer (or from the safe into it); a supervisor any."""
    positive_amount(
        amount, error=InvalidTransfer, message="The amount is a positive whole number of VND."
    )
    if from_session is None and to_session is None:
        raise InvalidTransfer("Name a drawer to move cash from or to.", param="to_session")
    if from_session is not None and to_session is not None and from_session.pk == to_session.pk:
        raise InvalidTransfer("A drawer cannot transfer to itself.", param="to_session")
    # Cash leaves a drawer only by its own cashier (or a supervisor): nobody empties
    # another cashier's drawer; cash from the safe goes into one's own drawer.
    giving = from_session if from_session is not None else to_session
    assert giving is not None
    if not _is_supervisor(by) and giving.cashier_id != by.pk:
        raise NotYourSession()
    with transaction.atomic():
        locked = _lock_sessions(from_session, to_session)
        source = locked[from_session.pk] if from_session is not None else None
        target = locked[to_session.pk] if to_session is not None else None
        if source is not None:
            available = session_expected_cash(session=source)
            if amount > available:
                raise InsufficientDrawerCash(param="amount", detail={"available": available})
        transfer = CashTransfer.objects.create(
            from_session=source, to_session=target, amount=amount, note=note[:300], created_by=by
        )
        money = Money(amount, transfer.currency)
        transit, transit_ref = _in_transit(transfer)
        giver_account, giver_ref = _side(source)
        _post(
            transfer,
            "sent",
            [Posting.dr(transit, money, transit_ref), Posting.cr(giver_account, money, giver_ref)],
            memos.cash_transfer_sent(transfer.public_id, giver_account),
            voucher_type=VoucherType.CASH_PAYMENT,
            by=by,
        )
        audit_transfer("cash_transfer.create", transfer)
    return transfer


def _lock_pending(transfer: CashTransfer) -> CashTransfer:
    locked = (
        CashTransfer.objects.select_for_update(of=("self",))
        .select_related("from_session", "to_session")
        .get(pk=transfer.pk)
    )
    if locked.status != CashTransferStatus.PENDING:
        raise CashTransferStateConflict(detail={"status": locked.status})
    return locked


def _check_receiver(transfer: CashTransfer, by: User) -> None:
    """The receiving drawer's cashier counts it in; for the safe, a supervisor who neither
    sent the cash nor gave it from their drawer."""
    if transfer.to_session is not None:
        if transfer.to_session.cashier_id != by.pk:
            raise NotTransferReceiver()
        return
    giver = transfer.from_session.cashier_id if transfer.from_session is not None else None
    if not _is_supervisor(by) or by.pk in (transfer.created_by_id, giver):
        raise NotTransferReceiver()


def cash_transfer_confirm(*, transfer: CashTransfer, counted: int, by: User) -> CashTransfer:
    """The receiver confirms the amount counted in. The counted cash enters the receiving
    side; a difference from what was sent goes back to the giving side (its close shows it).
    Locks the transfer, then both sessions (which must still be open). A second confirmation
    is ``cash_transfer_state_conflict`` (409)."""
    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        raise InvalidTransfer("The count is a whole number of VND, 0 or more.", param="counted")
    with transaction.atomic():
        transfer = _lock_pending(transfer)
        _check_receiver(transfer, by)
        locked = _lock_sessions(transfer.from_session, transfer.to_session)
        source = locked.get(transfer.from_session_id or 0)
        target = locked.get(transfer.to_session_id or 0)
        transit, transit_ref = _in_transit(transfer)
        (giver, giver_ref), (receiver, receiver_ref) = _side(source), _side(target)
        currency = transfer.currency
        lines = [Posting.cr(transit, Money(transfer.amount, currency), transit_ref)]
        if counted:
            lines.append(Posting.dr(receiver, Money(counted, currency), receiver_ref))
        difference = transfer.amount - counted
        if difference > 0:  # less arrived: the giver's books get it back, their count lacks it
            lines.append(Posting.dr(giver, Money(difference, currency), giver_ref))
        elif difference < 0:
            lines.append(Posting.cr(giver, Money(-difference, currency), giver_ref))
        _post(
            transfer,
            "received",
            lines,
            memos.cash_transfer_received(transfer.public_id, receiver, counted),
            voucher_type=VoucherType.CASH_RECEIPT,
            by=by,
        )
        transfer.status = CashTransferStatus.CONFIRMED
        transfer.counted_amount = counted
        transfer.decided_by = by
        transfer.decided_at = timezone.now()
        transfer.save(update_fields=["status", "counted_amount", "decided_by", "decided_at"])
        audit_transfer("cash_transfer.confirm", transfer, category=AuditCategory.APPROVAL)
    return transfer


def cash_transfer_cancel(*, transfer: CashTransfer, by: User) -> CashTransfer:
    """Cancel a pending transfer: the cash is back in the giving drawer (or the safe). By
    the giving drawer's cashier, whoever sent it, or a supervisor."""
    with transaction.atomic():
        transfer = _lock_pending(transfer)
        giver = transfer.from_session.cashier_id if transfer.from_session is not None else None
        if by.pk not in (giver, transfer.created_by_id) and not _is_supervisor(by):
            raise NotYourSession()
        locked = _lock_sessions(transfer.from_session)
        source = locked.get(transfer.from_session_id or 0)
        money = Money(transfer.amount, transfer.currency)
        transit, transit_ref = _in_transit(transfer)
        giver_account, giver_ref = _side(source)
        _post(
            transfer,
            "canceled",
            [Posting.dr(giver_account, money, giver_ref), Posting.cr(transit, money, transit_ref)],
            memos.cash_transfer_canceled(transfer.public_id, giver_account),
            voucher_type=VoucherType.CASH_RECEIPT,
            by=by,
        )
        transfer.status = CashTransferStatus.CANCELED
        transfer.decided_by = by
        transfer.decided_at = timezone.now()
        transfer.save(update_fields=["status", "decided_by", "decided_at"])
        audit_transfer("cash_transfer.cancel", transfer)
    return transfer
