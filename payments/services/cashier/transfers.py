"""Cash moved between drawers, or between a drawer and the main safe (1111)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from billing.chart import MAIN_CASH
from billing.money import Money, positive_amount
from billing.services.ledger import Posting, ledger_post
from config.identity.models import Role
from config.identity.selectors import staff_roles
from payments.errors import InsufficientDrawerCash, InvalidTransfer, NotYourSession
from payments.models import CashierSession, CashTransfer
from payments.selectors.cashier_figures import session_expected_cash
from payments.services.cashier.sessions import session_lock_open


def _side(session: CashierSession | None) -> tuple[str, str]:
    if session is None:
        return MAIN_CASH, ""
    return session.terminal.cash_account.code, session.ledger_reference


def cash_transfer_create(
    *,
    from_session: CashierSession | None,
    to_session: CashierSession | None,
    amount: int,
    by: User,
    note: str = "",
) -> CashTransfer:
    """Move ``amount`` from one drawer (or the safe, ``None``) to another drawer (or the
    safe). Both sessions are locked (in id order, so two opposite transfers cannot
    deadlock) and must be open; the giving drawer may not go below zero
    (``insufficient_drawer_cash``, 402). A cashier moves cash only out of their own drawer
    (or from the safe into it); a supervisor any. One journal entry; both sessions'
    expected cash follow."""
    positive_amount(
        amount, error=InvalidTransfer, message="The amount is a positive whole number of VND."
    )
    if from_session is None and to_session is None:
        raise InvalidTransfer("Name a drawer to move cash from or to.", param="to_session")
    if from_session is not None and to_session is not None and from_session.pk == to_session.pk:
        raise InvalidTransfer("A drawer cannot transfer to itself.", param="to_session")
    sessions = [s for s in (from_session, to_session) if s is not None]
    # Cash leaves a drawer only by its own cashier (or a supervisor): nobody empties
    # another cashier's drawer; cash from the safe goes into one's own drawer.
    giving = from_session if from_session is not None else to_session
    assert giving is not None
    if Role.SUPERVISOR not in staff_roles(by) and giving.cashier_id != by.pk:
        raise NotYourSession()
    with transaction.atomic():
        locked = {s.pk: session_lock_open(session=s) for s in sorted(sessions, key=lambda s: s.pk)}
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
        (credit_account, credit_ref), (debit_account, debit_ref) = _side(source), _side(target)
        ledger_post(
            posting_key=f"cash_transfer:{transfer.pk}",
            lines=[
                Posting.dr(debit_account, money, debit_ref),
                Posting.cr(credit_account, money, credit_ref),
            ],
            source_type="cash_transfer",
            source_id=transfer.public_id,
            memo=f"Cash transfer {transfer.public_id} {credit_account} -> {debit_account}",
        )
    return transfer
